/**
 * Rooms benchmark (`node --import tsx bench/rooms.ts [--quick]`). Prints one JSON object on
 * stdout; progress goes to stderr. Two nodes, each a Rooms on its own libsql file and a real
 * MeshNetwork on loopback (Noise sessions, static peers).
 *
 * - latency: node A `rooms.send()` → node B's `message` event (stored, folded, emitted), paced
 *   so the link is not saturated; p50/p95/p99 in ms (the target: p95 ≤ 5 ms).
 * Events are signed (Ed25519) and every received event is verified, as in a real node.
 * - sync: node B offline while A stores 10,000 messages; then B connects: time until B holds all
 *   of them (anti-entropy pulls in bounded batches), and the batches it took.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scaledInboundLimits } from '../server/src/net/inboundLimits';
import { MeshNetwork } from '../server/src/net/meshNetwork';
import { loadOrCreateIdentity } from '../server/src/kernel/identity';
import { silentLogger } from '../server/src/kernel/log';
import { parseMeshKey } from '../server/src/kernel/meshKey';
import { NetworkMeshPort } from '../server/src/node/networkPort';
import { Rooms } from '../server/src/rooms/rooms';
import { identityAuthenticator } from '../server/src/rooms/signing';
import { SwitchableMeshPort } from '../server/src/kernel/switchablePort';
import { Store } from '../server/src/store/database';

const quick = process.argv.includes('--quick');
const meshKey = parseMeshKey('pmk1-' + Buffer.alloc(32, 7).toString('base64url'));
const progress = (text: string) => process.stderr.write(`${text}\n`);

interface BenchNode {
  name: string;
  rooms: Rooms;
  store: Store;
  transport: SwitchableMeshPort;
  mesh?: MeshNetwork;
  identity: ReturnType<typeof loadOrCreateIdentity>['identity'];
}

async function startNode(name: string, dir: string): Promise<BenchNode> {
  mkdirSync(dir, { recursive: true });
  const { identity } = loadOrCreateIdentity(dir, silentLogger);
  const store = new Store(dir, silentLogger);
  await store.start();
  const transport = new SwitchableMeshPort(identity.nodeId);
  const rooms = new Rooms({ store, transport, displayName: name, maxMessagesPerMinute: 1_000_000, sync: { intervalMs: 0 }, authenticator: identityAuthenticator(identity) });
  await rooms.start();
  return { name, rooms, store, transport, identity };
}

async function connect(node: BenchNode, staticPeers: string[]): Promise<void> {
  const mesh = new MeshNetwork({ identity: node.identity, meshKey, name: node.name, listen: { host: '127.0.0.1', port: 0 }, discovery: false, staticPeers, tuning: { inboundLimits: scaledInboundLimits(1_000_000) } });
  await mesh.start();
  node.mesh = mesh;
  node.transport.attach(new NetworkMeshPort(mesh));
}

async function stopNode(node: BenchNode): Promise<void> {
  node.transport.detach();
  await node.mesh?.stop();
  await node.rooms.stop();
  await node.store.stop();
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

async function latency(a: BenchNode, b: BenchNode, count: number, intervalMs: number) {
  const started = new Map<string, number>();
  const samples: number[] = [];
  const onMessage = (message: { text: string }) => {
    const start = started.get(message.text);
    if (start === undefined) return;
    started.delete(message.text);
    samples.push(performance.now() - start);
  };
  b.rooms.on('message', onMessage);
  const warmup = Math.min(100, count / 10);
  for (let i = 0; i < count + warmup; i++) {
    const text = `latency ${i}`;
    if (i >= warmup) started.set(text, performance.now());
    a.rooms.send({ roomId: 'general', text });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  await waitFor('every latency sample', () => started.size === 0, 10_000);
  b.rooms.off('message', onMessage);
  samples.sort((x, y) => x - y);
  return { messages: samples.length, intervalMs, p50Ms: round(percentile(samples, 50)), p95Ms: round(percentile(samples, 95)), p99Ms: round(percentile(samples, 99)), maxMs: round(samples.at(-1)!) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'persona-mesh-bench-rooms-'));
  const nodes: BenchNode[] = [];
  try {
    const a = await startNode('bench-a', join(root, 'a'));
    const b = await startNode('bench-b', join(root, 'b'));
    nodes.push(a, b);
    await connect(a, []);
    await connect(b, [a.mesh!.listenAddress]);
    await waitFor('the session', () => a.transport.upPeers().length === 1 && b.transport.upPeers().length === 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));

    progress('latency: A send → B message event');
    const latencyResult = await latency(a, b, quick ? 300 : 2000, 2);

    progress('sync: B offline while A stores the missed messages');
    const missed = quick ? 2000 : 10_000;
    b.transport.detach();
    await b.mesh!.stop();
    b.mesh = undefined;
    await waitFor('A sees B gone', () => a.transport.upPeers().length === 0, 10_000);
    const base = b.rooms.history({ roomId: 'general', limit: 1 }).messages.length ? b.rooms.log.stats('general').messageCount : 0;
    const appendStart = performance.now();
    for (let i = 0; i < missed; i++) a.rooms.send({ roomId: 'general', text: `missed ${i}: ${'x'.repeat(80)}` });
    const appendMs = performance.now() - appendStart;

    progress(`sync: B reconnects and pulls ${missed} messages`);
    const before = { ...b.rooms.syncStats! };
    const syncStart = performance.now();
    await connect(b, [a.mesh!.listenAddress]);
    await waitFor('B caught up', () => b.rooms.log.stats('general').messageCount >= base + missed, 120_000);
    const syncMs = performance.now() - syncStart;
    const after = b.rooms.syncStats!;
    const result = {
      bench: 'rooms',
      quick,
      latency: latencyResult,
      localSend: { messages: missed, totalMs: round(appendMs), perMessageUs: Math.round((appendMs / missed) * 1000) },
      sync: {
        missedMessages: missed,
        ms: round(syncMs),
        messagesPerSec: Math.round(missed / (syncMs / 1000)),
        pulls: after.pullsSent - before.pullsSent,
        eventsReceived: after.eventsReceived - before.eventsReceived,
        newEvents: after.eventsNew - before.eventsNew,
        identical: JSON.stringify(a.rooms.history({ roomId: 'general', limit: 500 })) === JSON.stringify(b.rooms.history({ roomId: 'general', limit: 500 })),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const node of nodes) await stopNode(node);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
