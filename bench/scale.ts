/**
 * How the mesh grows, measured with real node processes: N `persona-mesh node` processes (the
 * built CLI, each with its own data dir) on loopback multicast (named on 127.0.0.1, TTL 1, a
 * random port). For each N of SCALE_NODES (default "10,25"):
 * - joinMs: from the last start until every node sees every other up (bounded by SCALE_JOIN_MS,
 *   default 120 s; `joined` says whether it happened);
 * - sessions per node (peers up), p50 / max;
 * - idle CPU per node over SCALE_IDLE_MS (default 20 s) after the join, % of one core, from /proc;
 * - delivery of 20 paced messages from one node to all others, and their one-way latency p50/p99
 *   (acknowledged on the sender, reported by each receiver, both read by this process);
 * - the load average before and after, and the idle CPU of one node with no peers as the floor.
 * Every process is stopped at the end of each N. Prints one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const cli = join(__dirname, '..', 'server', 'out', 'cli.js');
const sizes = (process.env.SCALE_NODES ?? '10,25').split(',').map(Number);
const joinLimitMs = Number(process.env.SCALE_JOIN_MS ?? 120_000);
const idleMs = Number(process.env.SCALE_IDLE_MS ?? 20_000);
const clockTicks = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Node {
  child: ChildProcess;
  id: string;
  up: Set<string>;
  arrived: Map<string, number>;
  sent: Map<string, number>;
}

function start(dir: string, name: string, port: number): Node {
  const child = spawn(process.execPath, [cli, 'node', '--name', name, '--data-dir', join(dir, name), '--jsonl', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--multicast', `239.255.77.77:${port}`, '--log-level', 'warn'], {
    env: { PATH: process.env.PATH, PERSONA_MESH_KEY: 'scale bench mesh key' },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const node: Node = { child, id: '', up: new Set(), arrived: new Map(), sent: new Map() };
  child.stdin.on('error', () => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    if (event.event === 'ready') node.id = String(event.nodeId);
    else if (event.event === 'peer.up') node.up.add(String(event.nodeId));
    else if (event.event === 'peer.down') node.up.delete(String(event.nodeId));
    else if (event.event === 'message') node.arrived.set(String(event.id), performance.now());
    else if (event.event === 'sent') node.sent.set(String(event.id), performance.now());
  });
  return node;
}

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function stopAll(nodes: Node[]): Promise<void> {
  await Promise.all(
    nodes.map(
      (node) =>
        new Promise<void>((resolve) => {
          if (node.child.exitCode !== null || node.child.signalCode !== null) return resolve();
          const kill = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
          node.child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          node.child.kill('SIGTERM');
        }),
    ),
  );
}

async function idleCpuPercent(nodes: Node[]): Promise<number[]> {
  const before = nodes.map((node) => cpuSeconds(node.child.pid!));
  await sleep(idleMs);
  return nodes.map((node, i) => Math.round(((cpuSeconds(node.child.pid!) - before[i]!) / (idleMs / 1000)) * 1000) / 10);
}

async function measure(size: number): Promise<Record<string, unknown>> {
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
    while (performance.now() - lastStart < joinLimitMs) {
      if (nodes.every((node) => node.id !== '' && node.up.size >= size - 1)) {
        joinMs = Math.round(performance.now() - lastStart);
        break;
      }
      await sleep(100);
    }
    const sessions = nodes.map((node) => node.up.size);
    const idle = await idleCpuPercent(nodes);
    // 20 paced messages from the first node.
    const sender = nodes[0]!;
    for (let i = 0; i < 20; i++) {
      sender.child.stdin!.write(`${JSON.stringify({ op: 'send', room: 'general', text: `scale ${i}` })}\n`);
      await sleep(250);
    }
    await sleep(3000);
    const latencies: number[] = [];
    let delivered = 0;
    for (const [id, at] of sender.sent) {
      for (const node of nodes.slice(1)) {
        const arrived = node.arrived.get(id);
        if (arrived === undefined) continue;
        delivered++;
        latencies.push(arrived - at);
      }
    }
    const expected = sender.sent.size * (size - 1);
    return {
      nodes: size,
      joined: joinMs !== undefined,
      joinMs: joinMs ?? null,
      sessionsPerNode: { p50: percentile(sessions, 50), max: Math.max(...sessions), min: Math.min(...sessions) },
      idleCpuPercentPerNode: { p50: percentile(idle, 50), max: Math.max(...idle), total: Math.round(idle.reduce((a, b) => a + b, 0) * 10) / 10 },
      delivery: expected === 0 ? 0 : Math.round((delivered / expected) * 1000) / 1000,
      latencyMs: { p50: Math.round(percentile(latencies, 50) * 10) / 10, p99: Math.round(percentile(latencies, 99) * 10) / 10 },
      exited: nodes.filter((node) => node.child.exitCode !== null).length,
      loadAverage: { before: loadBefore, after: loadavg() },
    };
  } finally {
    await stopAll(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
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
