/**
 * Network benchmark (`npm run bench -- --json [--quick]`). Prints one JSON object on stdout;
 * progress goes to stderr. Everything runs on loopback (127.0.0.1; multicast named on 127.0.0.1).
 *
 * - tcpBaseline: raw TCP, same u32 framing + MessagePack, no crypto: ping-pong RTT, and one-way
 *   throughput with writes batched per event-loop turn.
 * - mesh: two full MeshNetwork nodes (Noise session, sealed batches, routing): one-way latency
 *   at a steady 10k events/s (HDR-style histogram), and max events/s on one connection.
 * - peers: one node holding 1,000 sessions opened by a child process; RSS growth per session.
 * - discoveryMs: a new node started next to a running one, until both see peer.up (≥ 20 trials).
 * - fastLane: 10 receivers; the same events by one multicast datagram each vs over 10 sessions.
 */
import { spawn } from 'node:child_process';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { encode, decode } from '../server/src/net/codec';
import { FrameDecoder } from '../server/src/net/framing';
import { MeshNetwork, type MeshNetworkOptions } from '../server/src/net/meshNetwork';
import { generateIdentity } from '../server/src/node/identity';
import { parseMeshKey } from '../server/src/node/meshKey';
import { Histogram } from './histogram';

const quick = process.argv.includes('--quick');
const keyHex = 'ab'.repeat(32);
const meshKey = parseMeshKey(keyHex);
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
    tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, maxSessions: 4096 },
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

// ------------------------------------------------------------------ two full nodes

async function meshPair() {
  const b = node({ name: 'b' });
  await b.start();
  const a = node({ name: 'a', staticPeers: [b.listenAddress] });
  await a.start();
  await waitFor('pair up', () => a.upPeers().length === 1 && b.upPeers().length === 1, 10_000);
  return { a, b };
}

async function meshLatencyAndThroughput() {
  const { a, b } = await meshPair();
  const histogram = new Histogram();
  let received = 0;
  let measuring = false;
  b.subscribe('/chat/', (message) => {
    received++;
    if (measuring) histogram.record((now() - (message.body as { t: number }).t) * 1e6);
  });
  await sleep(200);
  // Steady 10k events/s: every 1 ms timer tick publishes the events that are due.
  const rate = 10_000;
  const seconds = quick ? 3 : 10;
  const warmup = 0.5;
  const total = rate * (seconds + warmup);
  let sent = 0;
  const started = now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate));
      measuring = sent >= rate * warmup;
      for (; sent < due; sent++) a.publish('/chat/room/lobby/events/message', { t: now(), body });
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await waitFor('latency run delivered', () => received >= total, 30_000);
  const latency = summary(histogram);

  // Max events/s on one connection: publish in chunks of 1000 per turn, backing off when the
  // socket buffers more than 8 MiB.
  const burst = quick ? 300_000 : 1_000_000;
  received = 0;
  measuring = false;
  const burstStarted = now();
  for (let i = 0; i < burst; ) {
    for (let j = 0; j < 1000 && i < burst; j++, i++) a.publish('/chat/room/lobby/events/message', { t: 0, body });
    await new Promise((resolve) => setImmediate(resolve));
    while (i - received > 100_000) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor('throughput run delivered', () => received >= burst, 60_000);
  const eventsPerSec = Math.round(burst / ((now() - burstStarted) / 1000));
  const lost = a.stats().counters['router.late'] ?? 0;
  await a.stop();
  await b.stop();
  return { latencyUs: latency, steadyRate: rate, eventsPerSec, lost };
}

// ------------------------------------------------------------------ 1,000 sessions on one node

async function manyPeers() {
  const count = 1000;
  const hub = node({ name: 'hub', tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, maxSessions: 4096, heartbeatMs: 750 } });
  await hub.start();
  global.gc?.();
  await sleep(100);
  const before = process.memoryUsage().rss;
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'netPeers.ts'), hub.listenAddress, String(count), keyHex], { stdio: ['pipe', 'pipe', 'inherit'] });
  const started = now();
  await waitFor('1000 peers up', () => hub.upPeers().length >= count, 120_000);
  const connectSeconds = (now() - started) / 1000;
  await sleep(2000); // heartbeats flowing, buffers settled
  global.gc?.();
  await sleep(200);
  const after = process.memoryUsage().rss;
  const up = hub.upPeers().length;
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  await hub.stop();
  return { count: up, rssPerPeerKiB: Math.round(((after - before) / up / 1024) * 10) / 10, connectSeconds: Math.round(connectSeconds * 100) / 100, gc: typeof global.gc === 'function' };
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

async function fastLaneFanOut() {
  const port = 48000 + Math.floor(Math.random() * 2000);
  const discovery = { group: '239.255.77.77', port, interface: '127.0.0.1', intervalMs: 2000 };
  const sender = node({ name: 'sender', discovery });
  const receivers = Array.from({ length: 10 }, (_, i) => node({ name: `r${i}`, discovery }));
  let received = 0;
  for (const receiver of receivers) receiver.subscribe('/presence/', () => received++);
  await sender.start();
  for (const receiver of receivers) await receiver.start();
  await waitFor('sender has 10 peers', () => sender.upPeers().length === 10, 20_000);
  await sleep(500);
  const events = quick ? 2000 : 10_000;
  const run = async (lane: 'fast' | 'reliable') => {
    received = 0;
    const cpu = process.cpuUsage();
    const started = now();
    for (let i = 0; i < events; i++) {
      sender.publish('/presence/telemetry', { i, body }, { lane });
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(`${lane} delivery`, () => received >= events * 10 || now() - started > 5000, 10_000).catch(() => undefined);
    await sleep(200);
    const used = process.cpuUsage(cpu);
    return {
      cpuUsPerEvent: Math.round(((used.user + used.system) / events) * 10) / 10,
      deliveryRatio: Math.round((received / (events * 10)) * 10_000) / 10_000,
    };
  };
  const fast = await run('fast');
  const sessions = await run('reliable');
  const loss = receivers.reduce((sum, r) => sum + r.stats().fastLane.lost, 0);
  await Promise.all([sender, ...receivers].map((n) => n.stop()));
  return { receivers: 10, events, multicast: fast, sessions, fastLaneLostCounted: loss, note: 'CPU of the whole process (sender and the 10 receivers)' };
}

async function main(): Promise<void> {
  const started = now();
  log(`mode: ${quick ? 'quick' : 'full'}`);
  log('tcp baseline…');
  const tcp = await tcpBaseline();
  log('mesh latency and throughput…');
  const mesh = await meshLatencyAndThroughput();
  log('1,000 peers…');
  const peers = await manyPeers();
  log('discovery…');
  const discoveryMs = await discoveryTrials();
  log('fast lane…');
  const fastLane = await fastLaneFanOut();
  const result = {
    bench: 'net',
    quick,
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    tcpBaseline: tcp,
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
