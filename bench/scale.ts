/**
 * How the mesh grows, measured with real node processes: N `persona-mesh node` processes (the
 * built CLI, each with its own data dir) on loopback multicast (named on 127.0.0.1, TTL 1, a
 * random port). For each N of SCALE_NODES (default "10,25"):
 * - joinMs: from the last start until the sessions of all nodes form one connected overlay with at
 *   least one session each (bounded by SCALE_JOIN_MS, default 120 s; `joined` says whether it
 *   happened); settledMs: until every node also holds min(6, N−1) sessions (the overlay's low
 *   watermark);
 * - sessions per node (peers up), p50 / min / max;
 * - idle CPU per node over SCALE_IDLE_MS (default 30 s) after the join, % of one core, from /proc,
 *   and the session churn (peer.up + peer.down events) during that window;
 * - delivery of 20 paced messages from one node to all others, and their one-way latency p50/p99
 *   (acknowledged on the sender, reported by each receiver, both read by this process); what one
 *   delivery costs (the CPU of all nodes in that window above their idle rate, per message and
 *   receiving node): with N nodes on two cores, N times that per message is what makes the
 *   latency grow with N here (on a LAN each node has its own CPU);
 * - with SCALE_BURST=1: a burst of 60 messages from one node at once, then the live sessions
 *   (sum over nodes, sampled every 100 ms for 15 s): the lowest as a share of the steady count,
 *   and how long until back to steady; the burst's delivery;
 * - the load average before and after, and the idle CPU of one node with no peers as the floor;
 * - floor: the same paced messages relayed by N bare processes down a tree over plain TCP, just
 *   before the nodes start (bench/relayBaseline.ts): the machine's part of the latency and CPU.
 * SCALE_PROFILE_DIR=/tmp/prof profiles the first node of each size over the idle window (with
 * SCALE_PROFILE_WINDOW=paced: the second node over the paced messages)
 * (bench/cpuProfileOnSignal.js, written as <pid>.cpuprofile).
 * Every process is stopped at the end of each N. Prints one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { cpuSeconds, percentile, stopChildren, wakeUps } from './procStats';
import { relayBaseline } from './relayBaseline';

const cli = join(__dirname, '..', 'server', 'out', 'cli.js');
const sizes = (process.env.SCALE_NODES ?? '10,25').split(',').map(Number);
const joinLimitMs = Number(process.env.SCALE_JOIN_MS ?? 120_000);
const idleMs = Number(process.env.SCALE_IDLE_MS ?? 30_000);
const pacedMessages = 20;
const paceMs = 250;
const burst = process.env.SCALE_BURST === '1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Node {
  child: ChildProcess;
  id: string;
  up: Set<string>;
  /** peer.up and peer.down events seen. */
  changes: number;
  arrived: Map<string, number>;
  sent: Map<string, number>;
  /** Started with the idle-window profiler (SCALE_PROFILE_DIR). */
  profiled: boolean;
  /** Waiting for the answer to {"op":"stats"}. */
  onStats?: (event: Record<string, unknown>) => void;
}

/**
 * SCALE_PROFILE_DIR: a node of each size is profiled into that folder, over the idle window
 * (the first node), or with SCALE_PROFILE_WINDOW=paced over the 20 paced messages (the second
 * node: a receiver).
 */
const profileDir = process.env.SCALE_PROFILE_DIR;
const profileWindow = profileDir === undefined ? undefined : process.env.SCALE_PROFILE_WINDOW === 'paced' ? 'paced' : 'idle';

function start(dir: string, name: string, port: number): Node {
  const profile = profileWindow !== undefined && name === (profileWindow === 'idle' ? 's0' : 's1') ? ['-r', join(__dirname, 'cpuProfileOnSignal.js')] : [];
  const child = spawn(process.execPath, [...profile, cli, 'node', '--name', name, '--data-dir', join(dir, name), '--jsonl', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--multicast', `239.255.77.77:${port}`, '--log-level', 'warn'], {
    env: { PATH: process.env.PATH, PERSONA_MESH_KEY: 'scale bench mesh key', ...(profileDir ? { SCALE_PROFILE_DIR: profileDir } : {}) },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const node: Node = { child, id: '', up: new Set(), changes: 0, arrived: new Map(), sent: new Map(), profiled: profile.length > 0 };
  child.stdin.on('error', () => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    if (event.event === 'ready') node.id = String(event.nodeId);
    else if (event.event === 'peer.up') {
      node.up.add(String(event.nodeId));
      node.changes++;
    } else if (event.event === 'peer.down') {
      node.up.delete(String(event.nodeId));
      node.changes++;
    }
    else if (event.event === 'message') node.arrived.set(String(event.id), performance.now());
    else if (event.event === 'sent') node.sent.set(String(event.id), performance.now());
    else if (event.event === 'stats') node.onStats?.(event);
  });
  return node;
}

type BroadcastCounts = { eagerPushes: number; ihaveSent: number; grafts: number; prunes: number };

/** Plumtree's counters of every node, summed ({"op":"stats"}; a node that does not answer in 5 s counts 0). */
async function broadcastCounts(nodes: Node[]): Promise<BroadcastCounts> {
  const answers = await Promise.all(
    nodes.map(
      (node) =>
        new Promise<Partial<BroadcastCounts>>((resolve) => {
          const timer = setTimeout(() => resolve({}), 5000);
          node.onStats = (event) => {
            clearTimeout(timer);
            node.onStats = undefined;
            resolve(((event.overlay as { broadcast?: BroadcastCounts } | undefined)?.broadcast ?? {}));
          };
          node.child.stdin!.write(`${JSON.stringify({ op: 'stats' })}\n`);
        }),
    ),
  );
  const sum = (key: keyof BroadcastCounts) => answers.reduce((total, answer) => total + (answer[key] ?? 0), 0);
  return { eagerPushes: sum('eagerPushes'), ihaveSent: sum('ihaveSent'), grafts: sum('grafts'), prunes: sum('prunes') };
}

async function stopAll(nodes: Node[]): Promise<void> {
  await stopChildren(
    nodes.map((node) => node.child),
    (child) => child.kill('SIGTERM'),
    10_000,
  );
}

/** All nodes have a session and the sessions connect them all (breadth-first from the first). */
function connected(nodes: Node[]): boolean {
  if (nodes.some((node) => node.id === '' || node.up.size === 0)) return false;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const seen = new Set([nodes[0]!.id]);
  const queue = [nodes[0]!];
  for (let node = queue.shift(); node; node = queue.shift()) {
    for (const peer of node.up) {
      if (seen.has(peer) || !byId.has(peer)) continue;
      seen.add(peer);
      queue.push(byId.get(peer)!);
    }
  }
  return seen.size === nodes.length;
}

function liveSessions(nodes: Node[]): number {
  return nodes.reduce((sum, node) => sum + node.up.size, 0);
}

async function idleCpuPercent(nodes: Node[]): Promise<number[]> {
  const before = nodes.map((node) => cpuSeconds(node.child.pid!));
  const profiled = profileWindow === 'idle' && nodes[0]!.profiled ? nodes[0]!.child : undefined;
  profiled?.kill('SIGUSR2');
  await sleep(idleMs);
  profiled?.kill('SIGUSR2');
  return nodes.map((node, i) => Math.round(((cpuSeconds(node.child.pid!) - before[i]!) / (idleMs / 1000)) * 1000) / 10);
}

async function measure(size: number): Promise<Record<string, unknown>> {
  const floor = await relayBaseline(size, pacedMessages, paceMs, 512);
  const dir = mkdtempSync(join(tmpdir(), `pm-scale-${size}-`));
  const port = 43000 + Math.floor(Math.random() * 900);
  const nodes: Node[] = [];
  const loadBefore = loadavg();
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(start(dir, `s${i}`, port));
      await sleep(50);
    }
    const lastStart = performance.now();
    let joinMs: number | undefined;
    let settledMs: number | undefined;
    const low = Math.min(6, size - 1);
    while (performance.now() - lastStart < joinLimitMs) {
      if (joinMs === undefined && connected(nodes)) joinMs = Math.round(performance.now() - lastStart);
      if (joinMs !== undefined && nodes.every((node) => node.up.size >= low)) {
        settledMs = Math.round(performance.now() - lastStart);
        break;
      }
      await sleep(100);
    }
    // Let the last joins and their syncs finish before measuring idle.
    await sleep(5000);
    const sessions = nodes.map((node) => node.up.size);
    const changesBefore = nodes.reduce((sum, node) => sum + node.changes, 0);
    const idle = await idleCpuPercent(nodes);
    const idleChurn = nodes.reduce((sum, node) => sum + node.changes, 0) - changesBefore;
    // 20 paced messages from the first node.
    const sender = nodes[0]!;
    const countsBefore = await broadcastCounts(nodes);
    const wakeUpsBefore = nodes.reduce((sum, node) => sum + wakeUps(node.child.pid!), 0);
    const mainWakeUpsBefore = nodes.reduce((sum, node) => sum + wakeUps(node.child.pid!, true), 0);
    const cpuBefore = nodes.reduce((sum, node) => sum + cpuSeconds(node.child.pid!), 0);
    const systemBefore = nodes.reduce((sum, node) => sum + cpuSeconds(node.child.pid!, 'system'), 0);
    const windowStart = performance.now();
    const profiledReceiver = profileWindow === 'paced' && nodes[1]!.profiled ? nodes[1]!.child : undefined;
    profiledReceiver?.kill('SIGUSR2');
    for (let i = 0; i < pacedMessages; i++) {
      sender.child.stdin!.write(`${JSON.stringify({ op: 'send', room: 'general', text: `scale ${i}` })}\n`);
      await sleep(paceMs);
    }
    await sleep(3000);
    profiledReceiver?.kill('SIGUSR2');
    // What a delivery costs a node: the CPU of the window above the idle rate, per message and node.
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const busySeconds = nodes.reduce((sum, node) => sum + cpuSeconds(node.child.pid!), 0) - cpuBefore - (idle.reduce((a, b) => a + b, 0) / 100) * windowSeconds;
    const systemSeconds = nodes.reduce((sum, node) => sum + cpuSeconds(node.child.pid!, 'system'), 0) - systemBefore;
    const windowWakeUps = nodes.reduce((sum, node) => sum + wakeUps(node.child.pid!), 0) - wakeUpsBefore;
    const windowMainWakeUps = nodes.reduce((sum, node) => sum + wakeUps(node.child.pid!, true), 0) - mainWakeUpsBefore;
    const countsAfter = await broadcastCounts(nodes);
    const latencies: number[] = [];
    // The slowest delivery of each message, in sending order: a slow first message is a new tree.
    const slowest: number[] = [];
    let delivered = 0;
    for (const [id, at] of sender.sent) {
      let worst = 0;
      for (const node of nodes.slice(1)) {
        const arrived = node.arrived.get(id);
        if (arrived === undefined) continue;
        delivered++;
        latencies.push(arrived - at);
        worst = Math.max(worst, arrived - at);
      }
      slowest.push(Math.round(worst));
    }
    const expected = sender.sent.size * (size - 1);
    const burstResult = burst ? await burstOf60(nodes) : undefined;
    return {
      nodes: size,
      joined: joinMs !== undefined,
      joinMs: joinMs ?? null,
      settledMs: settledMs ?? null,
      sessionsPerNode: { p50: percentile(sessions, 50), max: Math.max(...sessions), min: Math.min(...sessions) },
      idleCpuPercentPerNode: { p50: percentile(idle, 50), max: Math.max(...idle), total: Math.round(idle.reduce((a, b) => a + b, 0) * 10) / 10 },
      idleSessionChanges: idleChurn,
      ...(burstResult ? { burst: burstResult } : {}),
      delivery: expected === 0 ? 0 : Math.round((delivered / expected) * 1000) / 1000,
      cpuMsPerDeliveryPerNode: delivered === 0 ? null : Math.round(((busySeconds * 1000) / delivered) * 100) / 100,
      // Per delivery, over every node: the wake-ups of the window (idle ones included) and Plumtree's work.
      perDelivery:
        delivered === 0
          ? null
          : {
              // The kernel's part of the window's CPU (sockets, loopback TCP, scheduling), idle included.
              systemCpuMs: Math.round(((systemSeconds * 1000) / delivered) * 100) / 100,
              wakeUps: Math.round((windowWakeUps / delivered) * 10) / 10,
              mainThreadWakeUps: Math.round((windowMainWakeUps / delivered) * 10) / 10,
              ...(Object.fromEntries(Object.entries(countsAfter).map(([key, value]) => [key, Math.round(((value - countsBefore[key as keyof BroadcastCounts]) / delivered) * 100) / 100])) as BroadcastCounts),
            },
      latencyMs: { p50: Math.round(percentile(latencies, 50) * 10) / 10, p99: Math.round(percentile(latencies, 99) * 10) / 10, slowestPerMessage: slowest },
      exited: nodes.filter((node) => node.child.exitCode !== null).length,
      loadAverage: { before: loadBefore, after: loadavg() },
      floor,
    };
  } finally {
    await stopAll(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 60 messages from one node at once; live sessions sampled every 100 ms for 15 s. */
async function burstOf60(nodes: Node[]): Promise<Record<string, unknown>> {
  const steady = liveSessions(nodes);
  const sender = nodes[1]!;
  const sentBefore = new Set(sender.sent.keys());
  for (let i = 0; i < 60; i++) sender.child.stdin!.write(`${JSON.stringify({ op: 'send', room: 'general', text: `burst ${i}` })}\n`);
  const started = performance.now();
  let lowest = steady;
  let backAt: number | undefined;
  while (performance.now() - started < 15_000) {
    const live = liveSessions(nodes);
    lowest = Math.min(lowest, live);
    if (live < steady) backAt = undefined;
    else backAt ??= performance.now() - started;
    await sleep(100);
  }
  const ids = [...sender.sent.keys()].filter((id) => !sentBefore.has(id));
  let delivered = 0;
  for (const id of ids) for (const node of nodes) if (node !== sender && node.arrived.has(id)) delivered++;
  return {
    steadySessions: steady,
    lowestShare: Math.round((lowest / steady) * 1000) / 1000,
    backToSteadyMs: lowest === steady ? 0 : backAt === undefined ? null : Math.round(backAt),
    sent: ids.length,
    delivery: ids.length === 0 ? 0 : Math.round((delivered / (ids.length * (nodes.length - 1))) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  // The floor: one node alone (no sessions), idle.
  const dir = mkdtempSync(join(tmpdir(), 'pm-scale-alone-'));
  const alone = start(dir, 'alone', 43950);
  while (alone.id === '') await sleep(50);
  await sleep(2000);
  const [aloneIdle] = await idleCpuPercent([alone]);
  await stopAll([alone]);
  rmSync(dir, { recursive: true, force: true });
  const runs = [];
  for (const size of sizes) {
    process.stderr.write(`[scale] ${size} nodes\n`);
    runs.push(await measure(size));
  }
  process.stdout.write(`${JSON.stringify({ bench: 'scale', note: 'real CLI processes on loopback multicast; idle CPU in % of one core over the idle window', idleMs, aloneIdleCpuPercent: aloneIdle, runs })}\n`);
}

void main();
