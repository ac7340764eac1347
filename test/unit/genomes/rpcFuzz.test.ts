import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { GenomeApplier } from '../../../server/src/genomes/apply';
import { registerGenomeHandlers, type GenomeNode } from '../../../server/src/genomes/rpcHandlers';
import { GenomeService } from '../../../server/src/genomes/service';
import { systemClock } from '../../../server/src/kernel/clock';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { PersonaService } from '../../../server/src/personas/service';
import { MemoryHub } from '../../support/memoryMeshPort';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { useTempDir } from '../../support/tempDir';
import { memoryDb, TestMesh } from '../rooms/support';

const fixtureWorkspace = join(__dirname, '../../fixtures/personas/workspace');
const pathKeys = ['adapter', 'baseModel', 'knowledge'];

describe('genomes/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  const tmp = useTempDir('genome-fuzz-');
  let hub: MemoryHub;
  let mesh: TestMesh;
  let genomes: GenomeService;
  let personas: PersonaService;
  afterEach(async () => {
    await personas.stop();
    await genomes.stop();
    hub.close();
    await mesh.close();
  });

  it('for any params, plausible or not', async () => {
    // The persona files are a copy: applying a genome writes to them.
    const workspace = join(tmp.path, 'workspace');
    cpSync(fixtureWorkspace, workspace, { recursive: true });
    const docs = join(tmp.path, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'runbook.md'), '# Runbook\nRestart the service.\n');
    writeFileSync(join(tmp.path, 'not-an-adapter.gguf'), 'not GGUF');
    // Files the node may read: a folder of documents, a file that is no adapter, a missing path, the empty folder of nothing.
    const paths = [docs, join(tmp.path, 'not-an-adapter.gguf'), join(tmp.path, 'missing'), join(tmp.path, 'workspace', 'src')];
    const confine = (params: unknown): unknown => {
      if (typeof params !== 'object' || params === null || Array.isArray(params)) return params;
      const record = { ...(params as Record<string, unknown>) };
      for (const key of pathKeys) if (typeof record[key] === 'string') record[key] = paths[record[key].length % paths.length];
      return record;
    };

    hub = new MemoryHub({ autoFlush: true });
    const identity = generateIdentity().identity;
    genomes = new GenomeService({ dataDir: join(tmp.path, 'node'), store: { db: memoryDb() }, identity, transport: hub.attach(identity.nodeId), clock: systemClock, logger: silentLogger });
    await genomes.start();
    mesh = new TestMesh();
    const roomsNode = await mesh.add('A');
    personas = new PersonaService({ rooms: roomsNode.rooms, transport: roomsNode.transport, workspaceFolders: [workspace], clock: roomsNode.clock, logger: roomsNode.log.logger });
    await personas.start();
    const published = await genomes.publish({ name: 'Runbooks', description: 'incident runbooks', capabilities: ['ops'], prompt: 'Follow the runbook.' });
    const applier = new GenomeApplier(genomes, silentLogger);
    const node: GenomeNode = {
      genomes,
      applier,
      hostedPersona: (id) => personas.registry.get(id)?.persona,
      reloadPersonas: () => personas.registry.reload(),
      upPeers: () => [],
    };

    const fake = fakeConnection();
    const registration = registerGenomeHandlers(fake.connection, () => Promise.resolve(node));
    const id = fc.constantFrom(published.id, 'f'.repeat(64), 'nope', '');
    const persona = fc.constantFrom('librarian', 'nobody', '');
    const strings = fc.array(fc.oneof(fc.constant('ops'), fc.string()), { maxLength: 4 });
    const path = fc.constantFrom(...paths);
    try {
      await fuzzHandlers(
        fake,
        {
          'mesh/genomes/list': paramsOf({ ask: fc.boolean() }),
          'mesh/genomes/query': paramsOf({ required: strings, preferred: strings, antipatterns: strings, minScore: fc.double(), maxResults: fc.integer(), timeoutMs: fc.integer({ min: -10, max: 50 }) }),
          'mesh/genomes/download': paramsOf({ id }),
          'mesh/genomes/manifest': paramsOf({ id }),
          'mesh/genomes/delete': paramsOf({ id: fc.constantFrom('f'.repeat(64), 'nope', '') }),
          'mesh/genomes/publish': paramsOf({
            name: fc.oneof(fc.constant('Fuzzed'), fc.string()),
            description: fc.string(),
            capabilities: strings,
            prompt: fc.string(),
            adapter: path,
            baseModel: path,
            scale: fc.double(),
            knowledge: path,
            lineage: fc.array(fc.oneof(fc.constant(published.id), fc.string()), { maxLength: 2 }),
            metrics: fc.record({ score: fc.double(), signals: fc.integer(), measuredBy: fc.string() }, { requiredKeys: [] }),
          }),
          'mesh/genomes/publishPersona': paramsOf({ persona, name: fc.string(), adapter: path }),
          'mesh/genomes/apply': paramsOf({ id, persona }),
          'mesh/genomes/unapply': paramsOf({ id, persona }),
        },
        { confine, numRuns: 100 },
      );
    } finally {
      registration.dispose();
    }
  });
});
