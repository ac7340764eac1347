/**
 * Genome transfer benchmark (`node --import tsx bench/genomes.ts [--quick]`). Prints one JSON
 * object on stdout; progress goes to stderr. Every node is a GenomeService on its own libsql file
 * and blob folder over a real MeshNetwork on loopback (Noise sessions, static peers), all in this
 * one process (so seeders, downloader and the chat receiver share one event loop: a pessimistic
 * setting on 2 cores).
 *
 * - rawTcpMBps: one TCP connection on loopback, 256 KiB writes, no crypto: the floor here.
 * - transfer from 1 and from 3 seeders: MB/s of a LoRA-sized blob, and the ratio to raw TCP
 *   (the target: ≥ 0.8).
 * - chat: one-way latency of small chat-priority events seeder → downloader, idle and while a
 *   transfer runs; p50/p99 and the p99 ratio (the target: ≤ 2).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GenomeService } from '../server/src/genomes/service';
import { MeshNetwork } from '../server/src/net/meshNetwork';
import { systemClock } from '../server/src/node/clock';
import { loadOrCreateIdentity } from '../server/src/node/identity';
import { silentLogger } from '../server/src/node/log';
import { parseMeshKey } from '../server/src/node/meshKey';
import { MeshRoomTransport } from '../server/src/rooms/meshTransport';
import { SwitchableTransport } from '../server/src/rooms/switchableTransport';
import { Store } from '../server/src/store/database';
import { buildBulkyLoraAdapter } from '../test/fixtures/gguf/bulkyAdapter';
import { writeTinyFixture } from '../test/fixtures/gguf/writer';

const quick = process.argv.includes('--quick');
const blobBytes = (quick ? 16 : 64) * 1024 * 1024;
const meshKey = parseMeshKey('pmk1-' + Buffer.alloc(32, 9).toString('base64url'));
const progress = (text: string) => process.stderr.write(`${text}\n`);
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

interface BenchNode {
  mesh: MeshNetwork;
  store: Store;
  genomes: GenomeService;
}

async function startNode(dir: string, peers: string[]): Promise<BenchNode> {
  mkdirSync(dir, { recursive: true });
  const { identity } = loadOrCreateIdentity(dir);
  const store = new Store(dir, silentLogger);
  await store.start();
  const transport = new SwitchableTransport(identity.nodeId);
  const genomes = new GenomeService({ dataDir: dir, store, identity, transport, clock: systemClock, logger: silentLogger });
  await genomes.start();
  const mesh = new MeshNetwork({ identity, meshKey, name: dir, listen: { host: '127.0.0.1', port: 0 }, discovery: false, staticPeers: peers });
  await mesh.start();
  transport.attach(new MeshRoomTransport(mesh));
  return { mesh, store, genomes };
}

async function stopNode(node: BenchNode): Promise<void> {
  await node.genomes.stop();
  await node.mesh.stop();
  await node.store.stop();
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rawTcpMBps(bytes: number): Promise<number> {
  const server = createServer();
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => (received += chunk.length) >= bytes && done()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.on('connect', resolve));
  const chunk = Buffer.alloc(256 * 1024, 1);
  const started = performance.now();
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bytes / 1024 / 1024 / seconds;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** One-way latency of chat-priority events from `from` to `to` (same process: one clock), every `intervalMs`, until `stop()`. */
function chatProbe(from: BenchNode, to: BenchNode, intervalMs: number) {
  const samples: number[] = [];
  const off = to.mesh.subscribe('/chat/room/bench/', (message) => samples.push(performance.now() - (message.body as { t: number }).t));
  const timer = setInterval(() => from.mesh.publish('/chat/room/bench/events/message', { t: performance.now(), text: 'hello while a genome moves' }), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      off();
      const sorted = [...samples].sort((a, b) => a - b);
      return { count: sorted.length, p50Ms: round(percentile(sorted, 50), 3), p99Ms: round(percentile(sorted, 99), 3) };
    },
  };
}

async function transfer(seeders: BenchNode[], root: string, name: string, id: string): Promise<{ seconds: number; sources: number }> {
  const downloader = await startNode(join(root, name), seeders.map((s) => s.mesh.listenAddress));
  try {
    await waitFor('sessions', () => downloader.mesh.upPeers().length === seeders.length, 10_000);
    await downloader.genomes.query({ timeoutMs: 3000 });
    const started = performance.now();
    const result = await downloader.genomes.download(id);
    return { seconds: (performance.now() - started) / 1000, sources: result.sources.length };
  } finally {
    await stopNode(downloader);
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pm-bench-genomes-'));
  const nodes: BenchNode[] = [];
  try {
    progress(`[genomes] raw TCP, ${blobBytes / 1024 / 1024} MiB`);
    const raw = await rawTcpMBps(blobBytes);

    const fixture = writeTinyFixture(root);
    const adapter = join(root, 'bulky.lora.gguf');
    writeFileSync(adapter, buildBulkyLoraAdapter(blobBytes));
    const first = await startNode(join(root, 's1'), []);
    nodes.push(first);
    const genome = await first.genomes.publish({ name: 'bench', description: 'bench', capabilities: ['bench'], adapter, baseModel: fixture.modelPath });
    const size = genome.size / 1024 / 1024;
    progress('[genomes] transfer from 1 seeder');
    const one = await transfer([first], root, 'd1', genome.id);
    // Two more seeders get their copy over the mesh (after the 1-seeder run: peer exchange would
    // otherwise connect its downloader to them too).
    for (const name of ['s2', 's3']) {
      const seeder = await startNode(join(root, name), nodes.map((n) => n.mesh.listenAddress));
      nodes.push(seeder);
      await waitFor('sessions', () => seeder.mesh.upPeers().length === nodes.length - 1, 10_000);
      await seeder.genomes.query({ timeoutMs: 3000 });
      await seeder.genomes.download(genome.id);
    }

    progress('[genomes] transfer from 3 seeders');
    const three = await transfer(nodes, root, 'd3', genome.id);

    progress('[genomes] chat latency idle and during a transfer');
    const listener = await startNode(join(root, 'chat'), [first.mesh.listenAddress]);
    nodes.push(listener);
    await waitFor('session', () => listener.mesh.upPeers().length === 1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idleProbe = chatProbe(first, listener, 5);
    await new Promise((resolve) => setTimeout(resolve, quick ? 1500 : 4000));
    const idle = idleProbe.stop();
    await listener.genomes.query({ timeoutMs: 3000 });
    const busyProbe = chatProbe(first, listener, 5);
    const during = await listener.genomes.download(genome.id).then(() => busyProbe.stop());

    const mbps = (seconds: number) => round(size / seconds);
    const result = {
      blobMiB: round(size, 1),
      rawTcpMBps: round(raw),
      fromOneSeeder: { MBps: mbps(one.seconds), ratioToRawTcp: round(mbps(one.seconds) / raw, 3), sources: one.sources },
      fromThreeSeeders: { MBps: mbps(three.seconds), ratioToRawTcp: round(mbps(three.seconds) / raw, 3), sources: three.sources },
      chat: { idle, duringTransfer: during, p99Ratio: idle.p99Ms > 0 ? round(during.p99Ms / idle.p99Ms) : null },
      note: 'all nodes in one process (one event loop): seeders, downloader and chat receiver compete for one core',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const node of nodes.reverse()) await stopNode(node);
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
