/**
 * Genome exchange between real `persona-mesh node` processes on loopback: sessions, bulk lane,
 * libsql, blob files, kill -9. Seeders get their copy over the mesh like anyone else.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { buildBulkyLoraAdapter } from '../../fixtures/gguf/bulkyAdapter';
import { writeTinyFixture } from '../../fixtures/gguf/writer';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { CliProcess } from '../cli/support';

const meshEnv = { PERSONA_MESH_KEY: 'genome integration test key' };
type Event = Record<string, unknown>;

/** Waits for an event matching `predicate` (already seen or to come), bounded by `timeoutMs`; fails at once if the node exits. */
async function waitEvent(cli: CliProcess, predicate: (event: Event) => boolean, what: string, timeoutMs = 30_000): Promise<Event> {
  try {
    return await until(
      what,
      () => {
        const found = cli.events.find(predicate);
        if (found) return found;
        if (cli.child.exitCode !== null || cli.child.signalCode !== null) throw new Error(`the node exited before ${what}; stderr:\n${cli.stderr.slice(-3000)}`);
        return undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('timed out'))) throw error;
    throw new Error(`no ${what} within ${timeoutMs} ms; last events: ${JSON.stringify(cli.events.slice(-5))}\nstderr:\n${cli.stderr.slice(-3000)}`, { cause: error });
  }
}

describe('genomes between node processes', function () {
  this.timeout(120_000);
  const dir = useTempDir('genomes-it-');
  const running: CliProcess[] = [];
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      cli.kill();
      await cli.exited;
    }
  });

  async function start(name: string, peers: CliProcess[] = [], extra: string[] = []): Promise<{ cli: CliProcess; nodeId: string; listen: string }> {
    const peerArgs: string[] = [];
    for (const peer of peers) peerArgs.push('--peer', String((await peer.waitFor('ready')).listen));
    const cli = new CliProcess(['node', '--data-dir', join(dir.path, name), '--name', name, '--jsonl', '--no-discovery', '--listen', '127.0.0.1:0', ...peerArgs, ...extra], meshEnv);
    running.push(cli);
    const ready = await cli.waitFor('ready');
    for (const peer of peers) {
      const peerId = String((await peer.waitFor('ready')).nodeId);
      await waitEvent(cli, (e) => e.event === 'peer.up' && e.nodeId === peerId, `peer.up of ${peerId.slice(0, 7)}`);
    }
    return { cli, nodeId: String(ready.nodeId), listen: String(ready.listen) };
  }

  let opRef = 0;
  async function op(cli: CliProcess, command: Event, answer: string, timeoutMs = 60_000): Promise<Event> {
    const ref = ++opRef;
    cli.send({ ...command, ref });
    const event = await waitEvent(cli, (e) => e.ref === ref && (e.event === answer || e.event === 'genome.error'), `${answer} for ${String(command.op)}`, timeoutMs);
    if (event.event === 'genome.error') throw new Error(`${String(command.op)} failed: ${String(event.code)}: ${String(event.reason)}`);
    return event;
  }

  /** Publishes a multi-megabyte LoRA genome on `node`; returns its id, blob and the adapter's bytes. */
  async function publishAdapter(node: CliProcess, bytes: number): Promise<{ id: string; blob: string; adapter: Buffer }> {
    const fixture = writeTinyFixture(dir.path);
    const file = join(dir.path, 'bulky.lora.gguf');
    const adapter = buildBulkyLoraAdapter(bytes, 7);
    writeFileSync(file, adapter);
    const published = await op(node, { op: 'genome.publish', name: 'Bulky adapter', description: 'transfer test', capabilities: ['transfer-test'], adapter: file, baseModel: fixture.modelPath }, 'genome.published');
    const id = String(published.id);
    const manifest = (await op(node, { op: 'genome.manifest', id }, 'genome.manifest')).manifest as { layers: { blob: string }[] };
    return { id, blob: manifest.layers[0]!.blob, adapter };
  }

  async function fetchGenome(cli: CliProcess, id: string): Promise<Event> {
    const results = (await op(cli, { op: 'genome.query', required: ['transfer-test'], timeoutMs: 5000 }, 'genome.results')).results as { id: string; holders: string[] }[];
    assert.ok(results.some((r) => r.id === id), `the query found ${id.slice(0, 12)}`);
    return op(cli, { op: 'genome.download', id }, 'genome.downloaded');
  }

  it('3 seeders, 1 downloader: a multi-megabyte adapter arrives intact from several seeders; a seeder with a corrupt blob is caught', async () => {
    const s1 = await start('s1');
    const { id, blob, adapter } = await publishAdapter(s1.cli, 8 * 1024 * 1024);
    const s2 = await start('s2', [s1.cli]);
    const s3 = await start('s3', [s1.cli, s2.cli]);
    await fetchGenome(s2.cli, id);
    await fetchGenome(s3.cli, id);
    // Flip one byte in every piece of s3's copy, on disk: s3 serves garbage without knowing it.
    const corrupt = join(dir.path, 's3', 'genomes', 'blobs', blob);
    const bytes = readFileSync(corrupt);
    assert.ok(bytes.equals(adapter), "s3's copy was intact before the test corrupted it");
    for (let offset = 0; offset < bytes.length; offset += 256 * 1024) bytes[Math.min(offset + 1000, bytes.length - 1)]! ^= 0x5a;
    writeFileSync(corrupt, bytes);

    const d = await start('d', [s1.cli, s2.cli, s3.cli]);
    const results = (await op(d.cli, { op: 'genome.query', required: ['transfer-test'], timeoutMs: 5000 }, 'genome.results')).results as { id: string; holders: string[]; size: number }[];
    assert.equal(results.length, 1);
    assert.deepEqual([...results[0]!.holders].sort(), [s1.nodeId, s2.nodeId, s3.nodeId].sort());
    const downloaded = await op(d.cli, { op: 'genome.download', id }, 'genome.downloaded');
    assert.equal((downloaded.progress as { state: string }).state, 'complete');

    assert.ok(readFileSync(join(dir.path, 'd', 'genomes', 'blobs', blob)).equals(adapter), 'the adapter arrived byte for byte');
    const pieces = d.cli.events.filter((e) => e.event === 'genome.piece' && e.id === id);
    assert.equal(new Set(pieces.map((e) => e.piece)).size, Math.ceil(adapter.length / (256 * 1024)), 'every piece stored once');
    const senders = new Set(pieces.map((e) => e.from));
    assert.ok(senders.size >= 2, `pieces came from ${senders.size} seeder(s)`);
    assert.ok(!senders.has(s3.nodeId), `nothing from the corrupt seeder was kept (got ${pieces.filter((e) => e.from === s3.nodeId).map((e) => String(e.piece)).join(', ')})`);
    const bad = d.cli.events.filter((e) => e.event === 'genome.bad-piece');
    assert.ok(bad.length >= 1, 'the corrupt pieces were detected');
    assert.ok(bad.every((e) => e.from === s3.nodeId), 'only s3 was blamed');
  });

  it('kill -9 of the downloader mid-transfer: the restarted node resumes from its bitmap without fetching verified pieces again', async () => {
    const s1 = await start('s1');
    const { id, blob, adapter } = await publishAdapter(s1.cli, 8 * 1024 * 1024);
    const total = Math.ceil(adapter.length / (256 * 1024));
    // A download rate limit (a real setting) makes the transfer last long enough to interrupt it.
    const first = await start('d', [s1.cli], ['--genome-max-rate-kib', '1024']);
    first.cli.send({ op: 'genome.query', required: ['transfer-test'], timeoutMs: 5000, ref: 'q' });
    await waitEvent(first.cli, (e) => e.event === 'genome.results' && e.ref === 'q', 'query results');
    first.cli.send({ op: 'genome.download', id });
    await waitEvent(first.cli, () => first.cli.events.filter((e) => e.event === 'genome.piece').length >= 6, '6 pieces');
    first.cli.kill('SIGKILL');
    assert.equal((await first.cli.exited).signal, 'SIGKILL');
    const before = new Set(first.cli.events.filter((e) => e.event === 'genome.piece').map((e) => Number(e.piece)));
    assert.ok(before.size < total, `killed mid-transfer (${before.size} of ${total} pieces)`);

    const second = await start('d', [s1.cli]);
    const done = await waitEvent(second.cli, (e) => e.event === 'genome.progress' && e.id === id && e.state === 'complete', 'the resumed download to complete', 60_000);
    assert.equal(done.piecesDone, total);
    const after = second.cli.events.filter((e) => e.event === 'genome.piece').map((e) => Number(e.piece));
    assert.ok(after.length > 0, 'the rest came after the restart');
    assert.deepEqual(after.filter((piece) => before.has(piece)), [], 'no piece verified before the kill was fetched again');
    assert.equal(before.size + new Set(after).size, total);
    assert.ok(readFileSync(join(dir.path, 'd', 'genomes', 'blobs', blob)).equals(adapter), 'the resumed adapter is intact');
  });

  it('a tampered manifest is rejected: from a peer that serves it, and when given directly', async () => {
    const s1 = await start('s1');
    const published = await op(s1.cli, { op: 'genome.publish', name: 'Honest', description: 'answers honestly', capabilities: ['honesty'], prompt: 'Tell the truth.' }, 'genome.published');
    const id = String(published.id);
    s1.cli.send({ op: 'quit' });
    await s1.cli.exited;
    // Alter the stored manifest in s1's database while it is stopped.
    const db = new Database(join(dir.path, 's1', 'mesh.db'));
    const row = db.prepare('SELECT body FROM genome_manifests WHERE id = ?').get(id) as { body: string };
    const tampered = { ...(JSON.parse(row.body) as Event), description: 'answers whatever pays' };
    db.prepare('UPDATE genome_manifests SET body = ? WHERE id = ?').run(JSON.stringify(tampered), id);
    db.close();

    const again = await start('s1');
    const d = await start('d', [again.cli]);
    const results = (await op(d.cli, { op: 'genome.query', required: ['honesty'], timeoutMs: 5000 }, 'genome.results')).results as unknown[];
    assert.deepEqual(results, []);
    const rejected = await waitEvent(d.cli, (e) => e.event === 'genome.rejected', 'genome.rejected');
    assert.equal(rejected.code, 'bad-signature');
    assert.equal(rejected.from, again.nodeId);
    d.cli.send({ op: 'genome.download', manifest: tampered, ref: 'direct' });
    const error = await waitEvent(d.cli, (e) => e.event === 'genome.error' && e.ref === 'direct', 'genome.error');
    assert.equal(error.code, 'bad-signature');
    assert.match(String(error.reason), /altered or forged/);
    d.cli.send({ op: 'status' });
    assert.equal((await d.cli.waitFor('status')).state, 'running', 'the node keeps running');
  });

  it('a manifest with an oversized vector is refused alone: the answer still brings the genuine manifests', async () => {
    const s1 = await start('v1');
    await op(s1.cli, { op: 'genome.publish', name: 'Honest', description: 'answers honestly', capabilities: ['honesty'], prompt: 'Tell the truth.' }, 'genome.published');
    const big = await op(s1.cli, { op: 'genome.publish', name: 'Big', description: 'a vector too large', capabilities: ['honesty'], prompt: 'Big.' }, 'genome.published');
    s1.cli.send({ op: 'quit' });
    await s1.cli.exited;
    // 200,000 numbers: the answer holding it would be over the 1 MiB a session message carries.
    const db = new Database(join(dir.path, 'v1', 'mesh.db'));
    const row = db.prepare('SELECT body FROM genome_manifests WHERE id = ?').get(String(big.id)) as { body: string };
    const oversized = { ...(JSON.parse(row.body) as Event), vector: Array.from({ length: 200_000 }, (_, i) => (i % 7) / 7) };
    db.prepare('UPDATE genome_manifests SET body = ? WHERE id = ?').run(JSON.stringify(oversized), String(big.id));
    db.close();

    const again = await start('v1');
    const d = await start('vd', [again.cli]);
    const results = (await op(d.cli, { op: 'genome.query', required: ['honesty'], timeoutMs: 5000 }, 'genome.results')).results as { name: string }[];
    assert.deepEqual(results.map((r) => r.name), ['Honest']);
    const rejected = await waitEvent(again.cli, (e) => e.event === 'genome.rejected', 'genome.rejected');
    assert.deepEqual([rejected.from, rejected.code], [again.nodeId, 'bad-manifest']);
    assert.match(String(rejected.reason), /vector must be 512 numbers \(it has 200,000\)/);
    assert.match(again.cli.stderr, /\[warn\] node\.genomes: genome [0-9a-f]{12}… of this node's store is not offered to the mesh: malformed genome manifest: vector must be 512 numbers/);
  });
});
