import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenomeApplier } from '../../../server/src/genomes/apply';
import { genomeMarket } from '../../../server/src/node/genomeMarket';
import { GenomeService } from '../../../server/src/genomes/service';
import { systemClock } from '../../../server/src/kernel/clock';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import type { PersonaService } from '../../../server/src/personas/service';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import { MemoryHub } from '../../support/memoryMeshPort';
import { useTempDir } from '../../support/tempDir';
import { memoryDb } from '../rooms/support';

describe('the genome market evolution uses', () => {
  const tmp = useTempDir('genome-market-');

  it('searches the mesh without excluded genomes, adopts by downloading and recording, removes again', async () => {
    const hub = new MemoryHub({ autoFlush: true });
    const make = async (name: string) => {
      const identity = generateIdentity().identity;
      const service = new GenomeService({ dataDir: join(tmp.path, name), store: { db: memoryDb() }, identity, transport: hub.attach(identity.nodeId), clock: systemClock, logger: silentLogger });
      await service.start();
      return service;
    };
    const peer = await make('peer');
    const local = await make('local');
    try {
      const wanted = await peer.publish({ name: 'Tester', description: 'writes tests', capabilities: ['testing'], prompt: 'Write the test first.' });
      const tried = await peer.publish({ name: 'Old tester', description: 'writes tests', capabilities: ['testing'], prompt: 'Skip tests.' });
      const file = join(tmp.path, 'dev.persona.md');
      writeFileSync(file, '---\nid: dev\nbrain: librarian\n---\nYou write code.\n');
      const persona: PersonaDefinition = { id: 'dev', name: 'Dev', brain: { provider: 'librarian' }, capabilities: [], triggers: [], rooms: {}, participation: defaultParticipation, genomes: [], knowledge: [], systemPrompt: 'You write code.', file };
      let reloads = 0;
      const personas = { registry: { get: (id: string) => (id === 'dev' ? { persona } : undefined), reload: () => Promise.resolve(void reloads++) } } as unknown as PersonaService;
      const market = genomeMarket(local, new GenomeApplier(local, silentLogger), () => personas);

      const offers = await market.search({ required: ['testing'], preferred: [], exclude: [tried.id], maxResults: 5, timeoutMs: 5000 });
      assert.deepEqual(offers, [{ id: wanted.id, name: 'Tester', capabilities: ['testing'] }]);
      await market.adopt('dev', wanted.id);
      assert.ok(local.isLocal(wanted.id), 'downloaded from the peer');
      assert.match(readFileSync(file, 'utf8'), new RegExp(`genomes:\\n  - ${wanted.id}`));
      await market.remove('dev', wanted.id);
      assert.match(readFileSync(file, 'utf8'), /genomes: \[\]/);
      assert.equal(reloads, 2);
      await assert.rejects(market.adopt('nobody', wanted.id), /no persona "nobody"/);
    } finally {
      await local.stop();
      await peer.stop();
      hub.close();
    }
  });
});
