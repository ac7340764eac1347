import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenomeError } from '../../../server/src/genomes/errors';
import { GenomeService } from '../../../server/src/genomes/service';
import type { GenomeTransport } from '../../../server/src/genomes/transport';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { systemClock } from '../../../server/src/kernel/clock';
import { MemoryLog } from '../../../server/src/kernel/log';
import { MemoryHub } from '../../support/memoryMeshPort';
import { genomeAnswerLimits, genomePieceBytes, genomeTopics, type GenomeDirect, type GenomeQueryMessage, type GenomeRejected } from '../../../protocol/genomes';
import type { Db } from '../../../server/src/store/database';
import { buildBulkyLoraAdapter } from '../../fixtures/gguf/bulkyAdapter';
import { writeTinyFixture } from '../../fixtures/gguf/writer';
import { useTempDir } from '../../support/tempDir';
import { memoryDb } from '../rooms/support';
import { ManualClock } from '../../support/manualClock';
import { until } from '../../support/until';

interface TestNode {
  id: string;
  dir: string;
  db: Db;
  service: GenomeService;
  log: MemoryLog;
  transport: GenomeTransport;
}

describe('genome exchange (in-memory mesh, real libsql and files)', () => {
  const tmp = useTempDir('genome-exchange-');
  let hub: MemoryHub;
  let nodes: TestNode[];

  beforeEach(() => {
    hub = new MemoryHub({ autoFlush: true });
    nodes = [];
  });
  afterEach(async () => {
    for (const node of nodes) await node.service.stop();
    hub.close();
  });

  async function addNode(name: string, reuse?: TestNode, extra: Partial<ConstructorParameters<typeof GenomeService>[0]> = {}): Promise<TestNode> {
    const identity = generateIdentity().identity;
    const id = reuse?.id ?? identity.nodeId;
    const dir = reuse?.dir ?? join(tmp.path, name);
    const db = reuse?.db ?? memoryDb();
    const transport = hub.attach(id);
    const log = new MemoryLog();
    const service = new GenomeService({ dataDir: dir, store: { db }, identity, transport, clock: systemClock, logger: log.logger, requestTimeoutMs: 2000, ...extra });
    await service.start();
    const node = { id, dir, db, service, log, transport };
    nodes.push(node);
    return node;
  }

  async function publishAdapter(node: TestNode, bytes = 3 * 1024 * 1024) {
    const fixture = writeTinyFixture(tmp.path);
    const adapter = join(tmp.path, 'bulky.lora.gguf');
    writeFileSync(adapter, buildBulkyLoraAdapter(bytes));
    const summary = await node.service.publish({ name: 'Bulky', description: 'a big adapter for transfer tests', capabilities: ['testing', 'transfer'], adapter, baseModel: fixture.modelPath, scale: 0.5 });
    return { summary, adapter };
  }

  it('announces to the whole mesh when it joins with its first peer, and to a further peer alone', async () => {
    const a = await addNode('a');
    const b = await addNode('b');
    hub.flush();
    const heard = new Map<string, string[]>();
    const listen = (node: TestNode) => node.transport.subscribe(genomeTopics.announce, (m) => heard.set(node.id, [...(heard.get(node.id) ?? []), m.from]));
    const offs = [listen(a), listen(b)];
    const c = await addNode('c');
    offs.push(listen(c));
    hub.flush();
    const from = (to: TestNode, sender: TestNode) => (heard.get(to.id) ?? []).filter((id) => id === sender.id).length;
    // c joined with a first (c's first peer: its announce goes to the mesh, here a), then b: a and
    // b told c alone, and b did not hear a again (every session up used to be a mesh-wide announce).
    assert.equal(from(c, a), 1);
    assert.equal(from(c, b), 1);
    assert.equal(from(a, c), 1);
    assert.equal(from(b, a), 0, 'a told b when they met, not again for c');
    assert.equal(from(b, c), 1);
    for (const off of offs) off();
  });

  it('answers a query from every matching node, ranked, and leaves out antipatterns', async () => {
    const a = await addNode('a');
    const b = await addNode('b');
    const c = await addNode('c');
    await a.service.publish({ name: 'TS reviewer', description: 'reviews typescript', capabilities: ['code-review', 'typescript'], prompt: 'Review carefully.' });
    await b.service.publish({ name: 'Poet', description: 'writes poems', capabilities: ['poetry'], prompt: 'Rhyme.' });
    await b.service.publish({ name: 'Sloppy reviewer', description: 'reviews quickly, guesses', capabilities: ['code-review', 'guessing'], prompt: 'Guess.' });
    const seen: string[] = [];
    c.service.on('seen', (id) => seen.push(id));
    const results = await c.service.query({ required: ['code-review'], preferred: ['typescript'], antipatterns: ['guessing'], timeoutMs: 5000 });
    assert.deepEqual(results.map((r) => r.manifest.name), ['TS reviewer']);
    assert.deepEqual(seen, [results[0]!.id], 'a manifest not known before is announced once');
    assert.deepEqual(results[0]!.holders, [a.id]);
    const all = await c.service.query({ preferred: ['typescript', 'code-review'], timeoutMs: 5000 });
    assert.equal(all.length, 3);
    assert.equal(all[0]!.manifest.name, 'TS reviewer');
    assert.ok(all[0]!.rank > all[2]!.rank);
    assert.deepEqual(new Set(seen), new Set(all.map((r) => r.id)));
    assert.equal(seen.length, 3, 'answers about known genomes are not news');
  });

  it('fetches pieces from several seeders, rarest first, checks each, and skips a seeder whose blob is corrupt', async () => {
    const a = await addNode('a');
    const { summary, adapter } = await publishAdapter(a);
    const b = await addNode('b');
    const c = await addNode('c');
    for (const seeder of [b, c]) {
      await seeder.service.query({ timeoutMs: 5000 });
      await seeder.service.download(summary.id);
    }
    // Corrupt c's copy on disk: c serves wrong bytes for some pieces without knowing it.
    const blob = c.service.manifest(summary.id)!.layers[0]!.blob;
    const file = c.service.blobs.path(blob);
    const bytes = readFileSync(file);
    for (let offset = 0; offset < bytes.length; offset += 256 * 1024) bytes[Math.min(offset + 100, bytes.length - 1)]! ^= 0xff;
    writeFileSync(file, bytes);

    const d = await addNode('d');
    const results = await d.service.query({ required: ['transfer'], timeoutMs: 5000 });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.holders.length, 3);
    const from = new Map<string, number>();
    const bad: string[] = [];
    d.service.on('piece', (piece) => from.set(piece.from, (from.get(piece.from) ?? 0) + 1));
    d.service.on('bad-piece', (piece) => bad.push(piece.from));
    const progress = await d.service.download(summary.id);
    assert.equal(progress.state, 'complete');
    assert.ok(readFileSync(d.service.blobs.path(blob)).equals(readFileSync(adapter)), 'the adapter arrived intact');
    assert.ok(bad.length > 0 && bad.every((peer) => peer === c.id), `bad pieces came from c only: ${bad.join(',')}`);
    assert.equal(from.get(c.id), undefined, 'no piece from the corrupt seeder was stored');
    assert.ok(from.size >= 2, `pieces came from ${from.size} seeders`);
    assert.ok(d.service.isLocal(summary.id));
  });

  it('sends each piece to the node that asked for it, at bulk priority, never as a broadcast (the overlay would relay it to every node)', async () => {
    const a = await addNode('a');
    const { summary } = await publishAdapter(a, 1024 * 1024);
    const broadcast: string[] = [];
    const addressed: string[] = [];
    const publish = a.transport.publish.bind(a.transport);
    const sendTo = a.transport.sendTo.bind(a.transport);
    a.transport.publish = (topic, body, options) => {
      broadcast.push(topic);
      publish(topic, body, options);
    };
    a.transport.sendTo = (nodeId, topic, body, options) => {
      addressed.push(`${nodeId} ${topic} ${options?.priority ?? 'chat'}`);
      sendTo(nodeId, topic, body, options);
    };
    const b = await addNode('b');
    await b.service.query({ timeoutMs: 5000 });
    assert.equal((await b.service.download(summary.id)).state, 'complete');
    assert.deepEqual(broadcast.filter((topic) => topic.startsWith('/genome/piece/')), []);
    assert.ok(addressed.filter((line) => line === `${b.id} /genome/piece/${b.id} bulk`).length >= 4, `pieces addressed to b: ${addressed.length}`);
  });

  it('keeps more pieces in flight from a distant peer: the request window grows while round trips stay flat', async () => {
    const a = await addNode('a');
    const { summary, adapter } = await publishAdapter(a, 6 * 1024 * 1024);
    // The downloader hears everything 15 ms late (a distant peer); it counts its requests in flight.
    const stats = { inFlight: 0, max: 0 };
    const identity = generateIdentity().identity;
    const near = hub.attach(identity.nodeId);
    const far: GenomeTransport = {
      localNodeId: near.localNodeId,
      upPeers: () => near.upPeers(),
      onPeerUp: (handler) => near.onPeerUp(handler),
      onPeerDown: (handler) => near.onPeerDown(handler),
      publish: (topic, body) => near.publish(topic, body),
      sendTo: (nodeId, topic, body) => {
        if ((body as { t?: string }).t === 'get') stats.max = Math.max(stats.max, ++stats.inFlight);
        near.sendTo(nodeId, topic, body);
      },
      subscribe: (prefix, handler) =>
        near.subscribe(prefix, (message) => {
          setTimeout(() => {
            if (message.topic.startsWith('/genome/piece/')) stats.inFlight--;
            handler(message);
          }, 15);
        }),
    };
    const db = memoryDb();
    // The whole mesh runs in this process: on a busy machine its timers fire a few ms late, which a
    // 2 ms target would read as queueing. The 15 ms of distance stay flat under a 10 ms target.
    const service = new GenomeService({ dataDir: join(tmp.path, 'd'), store: { db }, identity, transport: far, clock: systemClock, logger: new MemoryLog().logger, requestWindow: { targetDelayMs: 10 } });
    const d = { id: identity.nodeId, dir: join(tmp.path, 'd'), db, service, log: new MemoryLog(), transport: far };
    await d.service.start();
    nodes.push(d);
    await d.service.query({ timeoutMs: 5000 });
    const progress = await d.service.download(summary.id);
    assert.equal(progress.state, 'complete');
    assert.ok(readFileSync(d.service.blobs.path(d.service.manifest(summary.id)!.layers[0]!.blob)).equals(readFileSync(adapter)));
    // A window fixed at its starting 2 shows at most 3 here (a request goes out as a piece arrives).
    assert.ok(stats.max >= 5, `at most ${stats.max} requests were in flight (the window starts at 2)`);
  });

  it('resumes after a restart from the pieces it had verified', async () => {
    const a = await addNode('a');
    const { summary, adapter } = await publishAdapter(a, 4 * 1024 * 1024);
    const d = await addNode('d', undefined, { maxBytesPerSecond: 4 * 1024 * 1024 });
    await d.service.query({ timeoutMs: 5000 });
    const before = new Set<number>();
    const halfway = new Promise<void>((resolve) => {
      d.service.on('piece', (piece) => {
        before.add(piece.piece);
        if (before.size === 5) resolve();
      });
    });
    d.service.download(summary.id).catch((error: GenomeError) => assert.fail(error.message));
    await halfway;
    await d.service.stop();
    hub.detach(d.id);
    nodes.splice(nodes.indexOf(d), 1);

    const again = await addNode('d', d);
    const after: number[] = [];
    again.service.on('piece', (piece) => after.push(piece.piece));
    const done = new Promise<void>((resolve) => again.service.on('progress', (p) => p.state === 'complete' && resolve()));
    await done;
    assert.ok(after.length > 0, 'the rest was fetched after the restart');
    assert.deepEqual(after.filter((piece) => before.has(piece)), [], 'no verified piece was fetched twice');
    const blob = again.service.manifest(summary.id)!.layers[0]!.blob;
    assert.ok(readFileSync(again.service.blobs.path(blob)).equals(readFileSync(adapter)));
  });

  it('drops a tampered manifest from a query answer and refuses to download it', async () => {
    const a = await addNode('a');
    const { summary } = await a.service.publish({ name: 'Honest', description: 'd', capabilities: ['x'], prompt: 'p' }).then((s) => ({ summary: s }));
    // Tamper with a's stored copy: a now serves a manifest whose signature no longer matches.
    const row = a.db.prepare('SELECT body FROM genome_manifests WHERE id = ?').get(summary.id) as { body: string };
    const manifest = JSON.parse(row.body) as Record<string, unknown>;
    a.db.prepare('UPDATE genome_manifests SET body = ? WHERE id = ?').run(JSON.stringify({ ...manifest, description: 'evil' }), summary.id);
    const d = await addNode('d');
    const rejected: string[] = [];
    d.service.on('rejected', (r) => rejected.push(r.code));
    assert.deepEqual(await d.service.query({ timeoutMs: 5000 }), []);
    assert.deepEqual(rejected, ['bad-signature']);
    await assert.rejects(d.service.download({ ...manifest, description: 'evil' } as never), (error: unknown) => error instanceof GenomeError && error.code === 'bad-signature');
    await assert.rejects(d.service.download(summary.id), (error: unknown) => error instanceof GenomeError && error.code === 'not-found');
  });

  /** The answers `node` sends to queries: the JSON bytes of each part's manifests, and its `more`. */
  function recordAnswers(node: TestNode): { bytes: number; count: number; more: boolean }[] {
    const parts: { bytes: number; count: number; more: boolean }[] = [];
    const sendTo = node.transport.sendTo.bind(node.transport);
    node.transport.sendTo = (to, topic, body, options) => {
      const answer = body as Partial<GenomeDirect & { t: 'results' }>;
      if (answer.t === 'results') parts.push({ bytes: Buffer.byteLength(JSON.stringify(answer.manifests)), count: answer.manifests!.length, more: answer.more === true });
      sendTo(to, topic, body, options);
    };
    return parts;
  }

  /** Replaces a's stored manifest of `id` (as if its database was altered). */
  function alterStored(node: TestNode, id: string, change: (manifest: Record<string, unknown>) => Record<string, unknown>): void {
    const row = node.db.prepare('SELECT body FROM genome_manifests WHERE id = ?').get(id) as { body: string };
    node.db.prepare('UPDATE genome_manifests SET body = ? WHERE id = ?').run(JSON.stringify(change(JSON.parse(row.body) as Record<string, unknown>)), id);
  }

  it('answers a query too long for one session message in parts, each within the limit, and every manifest arrives', async () => {
    const a = await addNode('a');
    // About 14 KiB of JSON each: 45 of them take more than one part.
    const capabilities = Array.from({ length: 64 }, (_, i) => `capability-${i}-${'c'.repeat(80)}`);
    for (let i = 0; i < 45; i++) await a.service.publish({ name: `Genome ${i}`, description: 'd'.repeat(4000), capabilities, prompt: `Prompt ${i}.` });
    const parts = recordAnswers(a);
    const d = await addNode('d');
    const results = await d.service.query({ maxResults: 200, timeoutMs: 5000 });
    assert.equal(results.length, 45);
    assert.ok(parts.length >= 2, `${parts.length} part(s)`);
    for (const part of parts) assert.ok(part.bytes <= genomeAnswerLimits.partBytes, `a part of ${part.bytes} bytes`);
    assert.deepEqual(parts.map((part) => part.more), [...parts.slice(1).map(() => true), false]);
    assert.equal(parts.reduce((sum, part) => sum + part.count, 0), 45);
  });

  it('refuses alone a stored manifest it cannot offer (an oversized vector, too large to send), with genome.rejected and a log line; the asker gets the genuine ones', async () => {
    const s = await addNode('s');
    await s.service.publish({ name: 'Honest', description: 'answers honestly', capabilities: ['honesty'], prompt: 'Tell the truth.' });
    const big = await s.service.publish({ name: 'Big vector', description: 'b', capabilities: ['honesty'], prompt: 'b' });
    const huge = await s.service.publish({ name: 'Huge', description: 'h', capabilities: ['honesty'], prompt: 'h' });
    alterStored(s, big.id, (manifest) => ({ ...manifest, vector: Array.from({ length: 200_000 }, (_, i) => (i % 7) / 7) }));
    // Well-formed, but 12,000 piece hashes make it larger than an answer can carry.
    const pieces = 12_000;
    alterStored(s, huge.id, (manifest) => ({ ...manifest, layers: [{ kind: 'prompt', blob: 'a'.repeat(64), size: pieces * genomePieceBytes, pieces: Array.from({ length: pieces }, () => 'b'.repeat(64)) }] }));
    const refused: GenomeRejected[] = [];
    s.service.on('rejected', (rejected) => refused.push(rejected));
    const parts = recordAnswers(s);
    const d = await addNode('d');
    const seenByAsker: GenomeRejected[] = [];
    d.service.on('rejected', (rejected) => seenByAsker.push(rejected));

    const results = await d.service.query({ required: ['honesty'], timeoutMs: 5000 });
    assert.deepEqual(results.map((r) => r.manifest.name), ['Honest']);
    assert.deepEqual(refused.map((r) => [r.from, r.code]), [[s.id, 'bad-manifest'], [s.id, 'too-large']]);
    assert.match(refused[0]!.reason, /vector must be 512 numbers \(it has 200,000\)/);
    assert.match(refused[1]!.reason, /^genome "Huge" \([0-9a-f]{12}…\): the manifest is \d{3},\d{3} bytes; the limit is 786,432 bytes$/);
    const warnings = s.log.messages('warn').filter((m) => m.includes('is not offered to the mesh'));
    assert.equal(warnings.length, 2);
    assert.deepEqual(seenByAsker, [], 'nothing bad was sent');
    assert.ok(parts.every((part) => part.bytes <= genomeAnswerLimits.partBytes));
    // Refused once: the next query neither repeats the event nor the log line.
    assert.equal((await d.service.query({ required: ['honesty'], timeoutMs: 5000 })).length, 1);
    assert.equal(refused.length, 2);
    assert.equal(s.log.messages('warn').filter((m) => m.includes('is not offered to the mesh')).length, 2);
  });

  it('takes at most maxResults manifests from one peer, however many parts it sends', async () => {
    const a = await addNode('a');
    for (const name of ['One', 'Two', 'Three']) await a.service.publish({ name, description: 'd', capabilities: ['x'], prompt: name });
    const manifests = a.service.list().local.map((genome) => a.service.manifest(genome.id)!);
    hub.detach(a.id);
    // M relays a's genuine manifests, one a part, and never says it is done.
    const m = hub.attach('M');
    m.subscribe(genomeTopics.query, (message) => {
      const { qid } = message.body as GenomeQueryMessage;
      for (const manifest of manifests) m.publish(genomeTopics.direct(message.from), { t: 'results', qid, manifests: [manifest], more: true });
    });
    const d = await addNode('d');
    assert.equal((await d.service.query({ maxResults: 2, timeoutMs: 300 })).length, 2);
    assert.equal(d.service.list().network.length, 2, 'the third manifest was not even looked at');
  });

  it('fails with no-holders when no peer has the missing pieces, keeping what it has', async () => {
    const clock = new ManualClock();
    const a = await addNode('a');
    const { summary } = await publishAdapter(a, 600_000);
    const manifest = a.service.manifest(summary.id)!;
    await a.service.stop();
    hub.detach(a.id);
    nodes.splice(nodes.indexOf(a), 1);
    const d = await addNode('d', undefined, { clock });
    await addNode('empty');
    const failed = d.service.download(manifest);
    const outcome = failed.then(
      () => 'resolved',
      (error: GenomeError) => error.code,
    );
    // The download has started when its re-ask timer waits on the clock (nothing else of d's does).
    await until('the download waiting for holders', () => (clock.pending().length > 0 ? true : undefined), 5000);
    for (let i = 0; i < 12; i++) clock.advance(3000);
    assert.equal(await outcome, 'no-holders');
    await assert.rejects(failed, /no peer holds the missing pieces of genome "Bulky"/);
  });

  it('refuses a genome over the maximum size before fetching anything', async () => {
    const a = await addNode('a');
    const { summary } = await publishAdapter(a, 600_000);
    const d = await addNode('d', undefined, { maxGenomeBytes: 100_000 });
    await d.service.query({ timeoutMs: 5000 });
    await assert.rejects(d.service.download(summary.id), (error: unknown) => error instanceof GenomeError && error.code === 'too-large' && /^genome "Bulky" is \d{3},\d{3} bytes; the limit is 100,000 bytes \(the maximum genome size here/.test(error.message));
  });
});
