/**
 * Network benchmark (`npm run bench -- --json [--quick]`). Prints one JSON object on stdout;
 * progress goes to stderr. Everything runs on loopback (127.0.0.1; multicast named on 127.0.0.1).
 *
 * - tcpBaseline: raw TCP, same u32 framing + MessagePack, no crypto: ping-pong RTT, one-way
 *   throughput with writes batched per event-loop turn, and one-way latency at a steady 10k
 *   events/s to a receiver in another process (the floor under the mesh's latency here).
 * - mesh: two full MeshNetwork nodes (Noise session, sealed batches, routing), the receiver in a
 *   child process (bench/netMeshPeer.ts): one-way latency at a steady 10k events/s (HDR-style
 *   histogram, both ends on CLOCK_MONOTONIC), and max events/s on one connection.
 * - peers: one node holding 1,000 sessions opened by a child process (after 50 warm-up sessions
 *   from another); RSS growth per session.
 * - discoveryMs: a new node started next to a running one, until both see peer.up (≥ 20 trials).
 * - fastLane: 10 receivers, each in its own process; the same events by one multicast datagram
 *   each vs over 10 sessions (delivery ratio, CPU per event).
 *
 * `--only=tcpBaseline,mesh,peers,discoveryMs,fastLane` runs a subset; BENCH_PEER_NODE_ARGS adds
 * node flags to the child nodes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encode, decode } from '../server/src/net/codec';
import { FrameDecoder } from '../server/src/net/framing';
import { scaledInboundLimits } from '../server/src/net/inboundLimits';
import { MeshNetwork, type MeshNetworkOptions } from '../server/src/net/meshNetwork';
import { generateIdentity } from '../server/src/kernel/identity';
import { parseMeshKey } from '../server/src/kernel/meshKey';
import { Histogram } from './histogram';

const quick = process.argv.includes('--quick');
/** `--only=mesh,fastLane` runs just those parts (for profiling); the JSON then lacks the others. */
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (part: string) => !only || only.includes(part);
const keyHex = 'ab'.repeat(32);
const meshKey = parseMeshKey(keyHex);
const benchInboundLimits = scaledInboundLimits(1_000_000);
const body = { room: 'lobby', text: 'x'.repeat(120), author: 'bench' }; // ~200-byte events
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const us = (ns: number) => Math.round(ns / 10) / 100;
const now = () => performance.now();

function summary(histogram: Histogram) {
  return { p50: us(histogram.percentile(50)), p99: us(histogram.percentile(99)), p999: us(histogram.percentile(99.9)), max: us(histogram.max), samples: histogram.count };
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = now();
  while (!predicate()) {
    if (now() - started > timeoutMs) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}

function node(overrides: Partial<MeshNetworkOptions> = {}): MeshNetwork {
  return new MeshNetwork({
    identity: generateIdentity().identity,
    meshKey,
    name: 'bench',
    listen: { host: '127.0.0.1', port: 0 },
    discovery: false,
    // The receivers' per-origin budgets stay checked, raised far above the benchmark's rates.
    tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, maxSessions: 4096, inboundLimits: benchInboundLimits },
    ...overrides,
  });
}

// ------------------------------------------------------------------ raw TCP baseline

async function tcpBaseline() {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk) => {
      for (const frame of decoder.push(chunk).frames) {
        const value = decode(frame);
        if (value.ok && (value.value as { ping?: boolean }).ping) socket.write(frameOf(value.value));
        else received++;
      }
    });
  });
  let received = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const client = new Socket();
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.connect(port, '127.0.0.1', resolve));
  const decoder = new FrameDecoder();
  let pong: (() => void) | undefined;
  client.on('data', (chunk) => {
    for (const _frame of decoder.push(chunk).frames) pong?.();
  });
  const histogram = new Histogram();
  const rounds = quick ? 3000 : 20_000;
  for (let i = 0; i < rounds + 200; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      pong = resolve;
      client.write(frameOf({ ping: true, i, body }));
    });
    if (i >= 200) histogram.record(Number(process.hrtime.bigint() - started));
  }
  // Throughput: frames batched per turn (cork/uncork), as many as the receiver takes.
  const total = quick ? 200_000 : 1_000_000;
  received = 0;
  const started = now();
  let sent = 0;
  while (sent < total) {
    client.cork();
    for (let i = 0; i < 1000 && sent < total; i++, sent++) client.write(frameOf({ i: sent, body }));
    client.uncork();
    if (client.writableLength > 4 * 1024 * 1024) await new Promise((resolve) => client.once('drain', resolve));
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor('baseline receive', () => received >= total, 60_000);
  const eventsPerSec = Math.round(total / ((now() - started) / 1000));
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { rttUs: summary(histogram), eventsPerSec };
}

function frameOf(value: unknown): Buffer {
  const payload = encode(value);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

// ------------------------------------------------------------------ two full nodes, two processes

/** A bench/netMeshPeer.ts child: a mesh node in its own process, driven over stdin/stdout. */
class PeerProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  progress = 0;
  private readonly lines: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<unknown>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ...peerNodeArgs, join(__dirname, 'netMeshPeer.ts'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (typeof value.progress === 'number') this.progress = value.progress;
      else this.lines.push(value);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** The next non-progress line with `key`. */
  async next(key: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const started = now();
    for (;;) {
      const index = this.lines.findIndex((line) => key in line);
      if (index >= 0) return this.lines.splice(index, 1)[0]!;
      if (now() - started > timeoutMs) throw new Error(`bench: peer process sent no "${key}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async command(command: 'reset' | 'report', argument = ''): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${command} ${argument}\n`);
    return this.next(command === 'reset' ? 'reset' : 'received');
  }

  async quit(): Promise<void> {
    this.child.stdin.end('quit\n');
    await this.exited;
  }
}

/** Node flags of the children: the mesh server's own, plus any from BENCH_PEER_NODE_ARGS (e.g. `--cpu-prof`). */
const peerNodeArgs = ['--max-semi-space-size=1', ...(process.env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
const hrNs = () => Number(process.hrtime.bigint());
const nsSummary = (latency: Record<string, number>) => ({ p50: us(latency.p50!), p99: us(latency.p99!), p999: us(latency.p999!), max: us(latency.max!), samples: latency.samples! });

/**
 * Publishes `total` events at a steady `rate` (every ~1 ms timer tick sends those due), each
 * stamped with process.hrtime.bigint() once `warm` events have gone (earlier ones carry t: 0).
 */
async function steady(total: number, rate: number, warm: number, send: (sent: number, t: number) => void, flush: () => void = () => undefined): Promise<void> {
  let sent = 0;
  const started = now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate));
      for (; sent < due; sent++) send(sent, sent >= warm ? hrNs() : 0);
      flush();
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/**
 * The floor under the mesh's latency on this machine: the same steady 10k events/s, framing and
 * MessagePack to a receiver in another process over plain TCP (no crypto, no routing), one
 * write per tick.
 */
async function rawCrossProcess() {
  const peer = new PeerProcess(['raw', keyHex]);
  const { listen } = (await peer.next('listen')) as { listen: string };
  const client = new Socket();
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.connect(Number(listen.split(':')[1]), '127.0.0.1', resolve));
  const rate = 10_000;
  const seconds = quick ? 3 : 10;
  const total = rate * (seconds + 0.5);
  let pending: Buffer[] = [];
  await steady(total, rate, rate * 0.5, (_sent, t) => pending.push(frameOf({ t, body })), () => {
    if (pending.length === 0) return;
    client.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
    pending = [];
  });
  await waitFor('raw run delivered', () => peer.progress >= total, 30_000);
  const report = (await peer.command('report')) as { latencyNs: Record<string, number> };
  client.destroy();
  await peer.quit();
  return nsSummary(report.latencyNs);
}

async function meshLatencyAndThroughput() {
  const peer = new PeerProcess(['reliable', keyHex]);
  const { listen } = (await peer.next('listen')) as { listen: string };
  const a = node({ name: 'a', staticPeers: [listen] });
  await a.start();
  await waitFor('pair up', () => a.upPeers().length === 1, 10_000);
  await sleep(300); // the peer's subscription announced
  const topic = '/chat/room/lobby/events/message';

  // Steady 10k events/s: every 1 ms timer tick publishes the events that are due, each stamped
  // with process.hrtime.bigint() (CLOCK_MONOTONIC, shared by both processes).
  const rate = 10_000;
  const seconds = quick ? 3 : 10;
  const total = rate * (seconds + 0.5);
  await steady(total, rate, rate * 0.5, (_sent, t) => a.publish(topic, { t, body }));
  await waitFor('latency run delivered', () => peer.progress >= total, 30_000);
  const steadyReport = (await peer.command('report')) as { latencyNs: Record<string, number>; gc: unknown; loopDelayMs: unknown };
  const latency = nsSummary(steadyReport.latencyNs);

  // Max events/s on one connection: 1000 events per turn, at most 50k in flight (the receiver
  // reports its progress every 5 ms). Events/s = events / (last received - first sent).
  await peer.command('reset');
  const burst = quick ? 300_000 : 1_000_000;
  const inFlight = 50_000;
  const burstStarted = hrNs();
  const senderCpu = process.cpuUsage();
  const started = now();
  for (let i = 0; i < burst; ) {
    for (let j = 0; j < 1000 && i < burst; j++, i++) a.publish(topic, { t: 0, body });
    await new Promise((resolve) => setImmediate(resolve));
    // Bounded: the receiver reports within 5 ms of each delivery, or the run gives up.
    while (i - peer.progress > inFlight) {
      if (now() - started > 120_000) throw new Error('bench: throughput run stalled');
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  await waitFor('throughput run delivered', () => peer.progress >= burst, 60_000);
  const senderUsed = process.cpuUsage(senderCpu);
  const report = (await peer.command('report')) as { received: number; lastNs: number; late: number; cpuUs: number };
  const eventsPerSec = Math.round(report.received / ((report.lastNs - burstStarted) / 1e9));
  // CPU per event on each side: what the throughput would be on two idle cores.
  const cpuUsPerEvent = { sender: Math.round(((senderUsed.user + senderUsed.system) / burst) * 100) / 100, receiver: Math.round((report.cpuUs / burst) * 100) / 100 };
  await a.stop();
  await peer.quit();
  return { latencyUs: latency, steadyRate: rate, receiverDuringLatencyRun: { gc: steadyReport.gc, loopDelayMs: steadyReport.loopDelayMs }, eventsPerSec, cpuUsPerEvent, lost: report.late, processes: 'sender and receiver in separate processes; one-way latency on CLOCK_MONOTONIC' };
}

// ------------------------------------------------------------------ 1,000 sessions on one node

async function manyPeers() {
  const count = 1000;
  const warmCount = 50;
  const hub = node({ name: 'hub', tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, maxSessions: 4096, heartbeatMs: 750, inboundLimits: benchInboundLimits } });
  await hub.start();
  const open = (n: number) => spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'netPeers.ts'), hub.listenAddress, String(n), keyHex], { stdio: ['pipe', 'pipe', 'inherit'] });
  const settledRss = async () => {
    await sleep(2000); // heartbeats flowing, buffers settled
    global.gc?.();
    await sleep(200);
    const memory = process.memoryUsage();
    return { rss: memory.rss, live: memory.heapUsed + memory.external };
  };
  // A first 50 sessions pay the one-time costs (compiled code, heap growth), so the 1,000 after
  // them measure what each session costs.
  const warm = open(warmCount);
  await waitFor('warm-up peers up', () => hub.upPeers().length >= warmCount, 60_000);
  const before = await settledRss();
  const child = open(count);
  const started = now();
  await waitFor('1000 peers up', () => hub.upPeers().length >= warmCount + count, 120_000);
  const connectSeconds = (now() - started) / 1000;
  const after = await settledRss();
  const up = hub.upPeers().length - warmCount;
  for (const peers of [child, warm]) {
    peers.stdin.end();
    await new Promise((resolve) => peers.once('exit', resolve));
  }
  await hub.stop();
  return {
    count: up,
    rssPerPeerKiB: Math.round(((after.rss - before.rss) / up / 1024) * 10) / 10,
    // What the sessions keep alive (JS heap + external buffers), without allocator slack.
    liveHeapPerPeerKiB: Math.round(((after.live - before.live) / up / 1024) * 10) / 10,
    connectSeconds: Math.round(connectSeconds * 100) / 100,
    gc: typeof global.gc === 'function',
    note: `RSS growth of the hub for ${count} sessions opened after ${warmCount} warm-up sessions`,
  };
}

// ------------------------------------------------------------------ discovery time

async function discoveryTrials() {
  const port = 46000 + Math.floor(Math.random() * 2000);
  const discovery = { group: '239.255.77.77', port, interface: '127.0.0.1', intervalMs: 2000 };
  const anchor = node({ name: 'anchor', discovery });
  await anchor.start();
  const trials = 20;
  const times = new Histogram();
  const samples: number[] = [];
  for (let i = 0; i < trials; i++) {
    const fresh = node({ name: `new-${i}`, discovery });
    const started = now();
    await fresh.start();
    await waitFor('discovered and connected', () => fresh.upPeers().length === 1 && anchor.upPeers().includes(fresh.nodeId), 10_000);
    const ms = now() - started;
    samples.push(ms);
    times.record(ms * 1e6);
    await fresh.stop();
    await waitFor('anchor sees it go', () => !anchor.upPeers().includes(fresh.nodeId), 10_000);
  }
  await anchor.stop();
  samples.sort((x, y) => x - y);
  const pick = (p: number) => Math.round(samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]! * 10) / 10;
  return { p50: pick(50), p95: pick(95), max: pick(100), trials };
}

// ------------------------------------------------------------------ fast lane vs sessions

/** CPU time (user + system, µs) of another process, from /proc (Linux). */
function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

async function fastLaneFanOut() {
  const port = 48000 + Math.floor(Math.random() * 2000);
  const group = '239.255.77.77';
  const discovery = { group, port, interface: '127.0.0.1', intervalMs: 2000 };
  // The fan-out compares multicast with one session per receiver: the sender keeps a session with
  // each of the 10 (the overlay would keep 6-12 and reach the rest through relays).
  const sender = node({ name: 'sender', discovery, tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, maxSessions: 4096, inboundLimits: benchInboundLimits, overlay: { activeTarget: 10, activeMax: 12 } } });
  const receivers = Array.from({ length: 10 }, () => new PeerProcess(['fast', keyHex, group, String(port)]));
  await Promise.all(receivers.map((receiver) => receiver.next('ready')));
  await sender.start();
  await waitFor('sender has 10 peers', () => sender.upPeers().length === 10, 20_000);
  await sleep(500);
  const events = quick ? 2000 : 10_000;
  const received = () => receivers.reduce((sum, receiver) => sum + receiver.progress, 0);
  const run = async (lane: 'fast' | 'reliable') => {
    // Tagged runs: a datagram of the fast run still queued in a busy receiver never counts for the other.
    await Promise.all(receivers.map((receiver) => receiver.command('reset', lane)));
    for (const receiver of receivers) receiver.progress = 0;
    const cpu = process.cpuUsage();
    const childCpu = receivers.map((receiver) => processCpuUs(receiver.child.pid!));
    const started = now();
    for (let i = 0; i < events; i++) {
      sender.publish('/presence/telemetry', { i, run: lane, body }, { lane });
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    // Until all arrived, or nothing new for 2 s (a loaded machine delays; loss is what never comes), at most 30 s.
    let last = -1;
    let lastChange = now();
    await waitFor(`${lane} delivery`, () => {
      const count = received();
      if (count !== last) {
        last = count;
        lastChange = now();
      }
      return count >= events * 10 || now() - lastChange > 2000 || now() - started > 30_000;
    }, 35_000);
    await sleep(200);
    const used = process.cpuUsage(cpu);
    const reports = (await Promise.all(receivers.map((receiver) => receiver.command('report')))) as { received: number; lost: number }[];
    const receiversCpu = receivers.reduce((sum, receiver, i) => sum + processCpuUs(receiver.child.pid!) - childCpu[i]!, 0);
    const senderCpu = used.user + used.system;
    return {
      senderCpuUsPerEvent: Math.round((senderCpu / events) * 10) / 10,
      cpuUsPerEvent: Math.round(((senderCpu + receiversCpu) / events) * 10) / 10,
      deliveryRatio: Math.round((reports.reduce((sum, r) => sum + r.received, 0) / (events * 10)) * 10_000) / 10_000,
      lostCounted: reports.reduce((sum, r) => sum + r.lost, 0),
    };
  };
  const fast = await run('fast');
  const sessions = await run('reliable');
  await sender.stop();
  await Promise.all(receivers.map((receiver) => receiver.quit()));
  return {
    receivers: 10,
    events,
    multicast: fast,
    sessions,
    fastLaneLostCounted: fast.lostCounted,
    note: 'each receiver in its own process; cpuUsPerEvent = sender + the 10 receivers (from /proc, 10 ms ticks), senderCpuUsPerEvent = the sender alone',
  };
}

async function main(): Promise<void> {
  const started = now();
  log(`mode: ${quick ? 'quick' : 'full'}`);
  const { loadavg, cpus } = await import('node:os');
  const loadBefore = loadavg();
  // The 1,000 sessions first, while this process's RSS is not yet inflated by the throughput runs.
  log('1,000 peers…');
  const peers = runs('peers') ? await manyPeers() : undefined;
  log('tcp baseline…');
  const tcp = runs('tcpBaseline') ? await tcpBaseline() : undefined;
  log('raw TCP one-way latency across processes…');
  const rawOneWay = runs('tcpBaseline') ? await rawCrossProcess() : undefined;
  log('mesh latency and throughput…');
  const mesh = runs('mesh') ? await meshLatencyAndThroughput() : undefined;
  log('discovery…');
  const discoveryMs = runs('discoveryMs') ? await discoveryTrials() : undefined;
  log('fast lane…');
  const fastLane = runs('fastLane') ? await fastLaneFanOut() : undefined;
  const result = {
    bench: 'net',
    quick,
    node: process.version,
    cpus: cpus().length,
    loadAverage: { before: loadBefore.map((x) => Math.round(x * 100) / 100), after: loadavg().map((x) => Math.round(x * 100) / 100) },
    tcpBaseline: tcp && { ...tcp, oneWayCrossProcessUs: rawOneWay, oneWayNote: 'same steady 10k events/s, framing and MessagePack as the mesh run, receiver in another process, no crypto or routing: the floor on this machine' },
    mesh,
    peers,
    discoveryMs,
    fastLane,
    seconds: Math.round((now() - started) / 100) / 10,
  };
  process.stdout.write(`${JSON.stringify(result, null, process.argv.includes('--json') ? 0 : 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
