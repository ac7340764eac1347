import { strict as assert } from 'node:assert';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenomeApplier, setGenomesList } from '../../../server/src/genomes/apply';
import { GenomeService } from '../../../server/src/genomes/service';
import { systemClock } from '../../../server/src/kernel/clock';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import { MemoryHub } from '../../support/memoryMeshPort';
import { useTempDir } from '../../support/tempDir';
import { memoryDb } from '../rooms/support';

describe('applying genomes to personas', () => {
  const tmp = useTempDir('genome-apply-');

  it('records genome ids in the front matter, in any list style, keeping the other lines', () => {
    const file = '---\nid: a\ngenomes: [x, "y"]\nname: A\n---\nBody\n';
    assert.equal(setGenomesList(file, (ids) => [...ids, 'z']), '---\nid: a\ngenomes:\n  - x\n  - y\n  - z\nname: A\n---\nBody\n');
    const block = '---\nid: a\ngenomes:\n  - x # first\n  - y\nname: A\n---\n';
    assert.equal(setGenomesList(block, (ids) => ids.filter((id) => id !== 'x')), '---\nid: a\ngenomes:\n  - y\nname: A\n---\n');
    assert.equal(setGenomesList('---\nid: a\n---\nBody', (ids) => [...ids, 'g']), '---\nid: a\ngenomes:\n  - g\n---\nBody');
    assert.equal(setGenomesList('---\r\nid: a\r\ngenomes:\r\n  - g\r\n---\r\n', () => []), '---\r\nid: a\r\ngenomes: []\r\n---\r\n');
    assert.equal(setGenomesList('no front matter', () => ['g']), undefined);
  });

  it('adds prompt layers to the system prompt and knowledge layers to the librarian folders; removing gives the file back', async () => {
    const hub = new MemoryHub();
    const service = new GenomeService({ dataDir: tmp.path, store: { db: memoryDb() }, identity: generateIdentity().identity, transport: hub.attach('n'), clock: systemClock, logger: silentLogger });
    await service.start();
    try {
      const docs = join(tmp.path, 'docs');
      mkdirSync(join(docs, 'sub'), { recursive: true });
      writeFileSync(join(docs, 'deploy.md'), '# Deploy\nRun make deploy.');
      writeFileSync(join(docs, 'sub', 'notes.txt'), 'notes');
      const genome = await service.publish({ name: 'Ops', description: 'deploys', capabilities: ['ops'], prompt: 'Always mention rollbacks.', knowledge: docs });
      const personaFile = join(tmp.path, 'ops.persona.md');
      writeFileSync(personaFile, '---\nid: ops\nbrain: librarian\n---\nYou run deployments.\n');
      const persona: PersonaDefinition = { id: 'ops', name: 'Ops', brain: { provider: 'librarian' }, capabilities: [], triggers: [], rooms: {}, participation: defaultParticipation, genomes: [], knowledge: [], systemPrompt: 'You run deployments.', file: personaFile };
      const applier = new GenomeApplier(service, silentLogger);

      const inodeBefore = statSync(personaFile).ino;
      await applier.apply(personaFile, genome.id, persona);
      assert.match(readFileSync(personaFile, 'utf8'), new RegExp(`genomes:\\n  - ${genome.id}\\n---`));
      // Replaced by a rename, never truncated in place: a watcher cannot read it half written.
      assert.notEqual(statSync(personaFile).ino, inodeBefore, 'a new file renamed over the old one');
      assert.deepEqual(readdirSync(tmp.path).filter((name) => name.includes('ops.persona.md')), ['ops.persona.md'], 'no temporary file left');
      const adopted = applier.adopt({ ...persona, genomes: [genome.id] });
      assert.equal(adopted.systemPrompt, 'You run deployments.\n\nAlways mention rollbacks.');
      assert.equal(adopted.knowledge.length, 1);
      assert.deepEqual(readdirSync(adopted.knowledge[0]!).sort(), ['deploy.md', 'sub']);
      assert.equal(readFileSync(join(adopted.knowledge[0]!, 'deploy.md'), 'utf8'), '# Deploy\nRun make deploy.');

      await assert.rejects(applier.apply(personaFile, 'f'.repeat(64), persona), /not held on this node/);
      await applier.unapply(personaFile, genome.id);
      assert.equal(readFileSync(personaFile, 'utf8'), '---\nid: ops\nbrain: librarian\ngenomes: []\n---\nYou run deployments.\n');
      assert.deepEqual(applier.adopt(persona), persona);

      // A persona file that is a symbolic link stays one; its target is what changes.
      const shared = join(tmp.path, 'shared');
      mkdirSync(shared);
      writeFileSync(join(shared, 'ops.persona.md'), '---\nid: ops\nbrain: librarian\n---\nShared.\n');
      mkdirSync(join(tmp.path, 'workspace'));
      const linked = join(tmp.path, 'workspace', 'ops.persona.md');
      symlinkSync(join(shared, 'ops.persona.md'), linked);
      await applier.apply(linked, genome.id, persona);
      assert.ok(lstatSync(linked).isSymbolicLink());
      assert.match(readFileSync(join(shared, 'ops.persona.md'), 'utf8'), new RegExp(`genomes:\\n  - ${genome.id}\\n---\\nShared`));
      await assert.rejects(applier.apply(join(tmp.path, 'gone.persona.md'), genome.id, persona), /cannot read the persona file/);
    } finally {
      await service.stop();
    }
  });
});
