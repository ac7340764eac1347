// The data dir and everything a node writes in it are private to the user (folders 0700, files
// 0600), whatever the umask, and a data dir left readable by an older version is tightened.
import { strict as assert } from 'node:assert';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'libsql';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { MeshNode } from '../../../server/src/node/meshNode';
import { MemoryLog } from '../../../server/src/kernel/log';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import { useTempDir } from '../../support/tempDir';

/** Every folder and file under `root` (the root included) with its permission bits. */
function modes(root: string): Map<string, number> {
  const found = new Map<string, number>([['.', statSync(root).mode & 0o777]]);
  for (const name of readdirSync(root, { recursive: true, encoding: 'utf8' })) found.set(name, statSync(join(root, name)).mode & 0o777);
  return found;
}

function assertPrivate(root: string): void {
  const open: string[] = [];
  for (const [name, mode] of modes(root)) {
    const wanted = statSync(join(root, name)).isDirectory() ? 0o700 : 0o600;
    if (mode !== wanted) open.push(`${name} ${mode.toString(8)} (wanted ${wanted.toString(8)})`);
  }
  assert.deepEqual(open, [], `not private in ${root}`);
}

describe('the data dir is private to its user', function () {
  this.timeout(20_000);
  const tmp = useTempDir('private-data-dir-');
  let umask: number;
  const nodes: MeshNode[] = [];
  beforeEach(() => {
    umask = process.umask(0o000);
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop();
    process.umask(umask);
  });

  async function startNode(dataDir: string, log: MemoryLog): Promise<MeshNode> {
    const node = new MeshNode({ dataDir, meshKey: 'private data dir test key', logger: log.logger, headless: true });
    nodes.push(node);
    await node.start();
    return node;
  }

  it('creates every folder 0700 and every file 0600 under umask 000: database with its -wal and -shm, identity, lock, genome blobs and knowledge, models', async () => {
    const dataDir = join(tmp.path, 'node');
    const node = await startNode(dataDir, new MemoryLog());
    const docs = join(tmp.path, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'runbook.md'), '# Runbook');
    const genome = await node.genomes!.publish({ name: 'Ops', description: 'runbooks', capabilities: ['ops'], prompt: 'Mention rollbacks.', knowledge: docs });
    const persona: PersonaDefinition = { id: 'ops', name: 'Ops', brain: { provider: 'librarian' }, capabilities: [], triggers: [], rooms: {}, participation: defaultParticipation, genomes: [genome.id], knowledge: [], systemPrompt: 'You run deployments.', file: join(tmp.path, 'ops.persona.md') };
    assert.equal(node.genomeApplier!.adopt(persona).knowledge.length, 1);

    assertPrivate(dataDir);
    const written = [...modes(dataDir).keys()];
    for (const name of ['mesh.db', 'mesh.db-wal', 'mesh.db-shm', 'identity.pem', 'node.lock', 'genomes', 'genomes/blobs', 'genomes/partial', 'genomes/knowledge', 'models']) {
      assert.ok(written.includes(name), `${name} is missing: the test would prove nothing about it`);
    }
    assert.ok(written.some((name) => name.startsWith('genomes/blobs/')) && written.some((name) => name.endsWith('runbook.md')));
  });

  it('tightens a data dir left 0755 with a 0644 database, identity, genomes and models, and logs each fix', async () => {
    // What an older version left: a database with -wal and -shm as a kill -9 leaves them.
    const dataDir = join(tmp.path, 'old');
    mkdirSync(dataDir, { mode: 0o755 });
    const source = join(tmp.path, 'source.db');
    const db = new Database(source);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (const suffix of ['', '-wal', '-shm']) copyFileSync(source + suffix, join(dataDir, `mesh.db${suffix}`));
    db.close();
    writeFileSync(join(dataDir, 'identity.pem'), generateIdentity().pem, { mode: 0o644 });
    mkdirSync(join(dataDir, 'genomes', 'blobs'), { recursive: true, mode: 0o777 });
    writeFileSync(join(dataDir, 'genomes', 'blobs', 'a'.repeat(64)), 'blob', { mode: 0o644 });
    mkdirSync(join(dataDir, 'models'), { mode: 0o755 });
    writeFileSync(join(dataDir, 'models', 'tiny.gguf'), 'model', { mode: 0o644 });
    for (const name of ['mesh.db', 'mesh.db-wal', 'mesh.db-shm']) chmodSync(join(dataDir, name), 0o644);

    const log = new MemoryLog();
    await startNode(dataDir, log);

    assertPrivate(dataDir);
    const fixes = log.messages('warn').filter((message) => message.startsWith('made '));
    const expected = [
      [dataDir, '0755 → 0700'],
      [join(dataDir, 'identity.pem'), '0644 → 0600'],
      [join(dataDir, 'mesh.db'), '0644 → 0600'],
      [join(dataDir, 'mesh.db-wal'), '0644 → 0600'],
      [join(dataDir, 'mesh.db-shm'), '0644 → 0600'],
      [join(dataDir, 'genomes'), '0777 → 0700'],
      [join(dataDir, 'genomes', 'blobs'), '0777 → 0700'],
      [join(dataDir, 'genomes', 'blobs', 'a'.repeat(64)), '0644 → 0600'],
      [join(dataDir, 'models'), '0755 → 0700'],
      [join(dataDir, 'models', 'tiny.gguf'), '0644 → 0600'],
    ];
    for (const [path, change] of expected) {
      assert.ok(
        fixes.some((message) => message.includes(`${path} private to its owner: mode ${change}`)),
        `no log line for ${relative(tmp.path, path!)} (${change}):\n${fixes.join('\n')}`,
      );
    }
    assert.equal(fixes.length, expected.length, fixes.join('\n'));
  });
});
