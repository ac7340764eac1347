/**
 * The floor under the scale bench's paced messages, measured in the same run: N bare Node.js
 * processes (bench/relayPeer.js) relay the same 20 messages, at the same pace, down a broadcast
 * tree over plain TCP: the breadth-first tree of a random graph of degree about 8, what Plumtree's
 * eager links are once settled. No encryption, signatures, storage or overlay: what is left is this
 * machine's cost of N processes waking, reading a socket and writing to others on two cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { cpuSeconds, percentile, stopChildren, wakeUps } from './procStats';

interface Relay {
  child: ChildProcess;
  port: number;
  ready: boolean;
  arrived: Map<string, number>;
  sent: Map<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startRelay(): Relay {
  const child = spawn(process.execPath, [join(__dirname, 'relayPeer.js')], { stdio: ['pipe', 'pipe', 'ignore'] });
  const relay: Relay = { child, port: 0, ready: false, arrived: new Map(), sent: new Map() };
  child.stdin.on('error', () => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as { event: string; port?: number; id?: string };
    if (event.event === 'listening') relay.port = event.port!;
    else if (event.event === 'ready') relay.ready = true;
    else if (event.event === 'message') relay.arrived.set(event.id!, performance.now());
    else if (event.event === 'sent') relay.sent.set(event.id!, performance.now());
  });
  return relay;
}

/** Children of each node in the breadth-first tree from node 0 of a random graph (each node links to 4 others). */
function broadcastTree(size: number): { children: number[][]; depth: number } {
  const links = Array.from({ length: size }, () => new Set<number>());
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < Math.min(4, size - 1); k++) {
      let j = Math.floor(Math.random() * size);
      while (j === i) j = Math.floor(Math.random() * size);
      links[i]!.add(j);
      links[j]!.add(i);
    }
  }
  const children = Array.from({ length: size }, () => [] as number[]);
  const level = new Map([[0, 0]]);
  const queue = [0];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    for (const next of links[node]!) {
      if (level.has(next)) continue;
      level.set(next, level.get(node)! + 1);
      children[node]!.push(next);
      queue.push(next);
    }
  }
  return { children, depth: Math.max(...level.values()) };
}

export async function relayBaseline(size: number, messages: number, paceMs: number, textLength: number): Promise<Record<string, unknown>> {
  const relays = Array.from({ length: size }, startRelay);
  try {
    const started = performance.now();
    while (relays.some((relay) => relay.port === 0) && performance.now() - started < 60_000) await sleep(50);
    const tree = broadcastTree(size);
    relays.forEach((relay, i) => relay.child.stdin!.write(`${JSON.stringify({ op: 'children', ports: tree.children[i]!.map((j) => relays[j]!.port) })}\n`));
    while (relays.some((relay) => !relay.ready) && performance.now() - started < 60_000) await sleep(50);
    await sleep(1000);
    const loadBefore = loadavg();
    const cpuBefore = relays.reduce((sum, relay) => sum + cpuSeconds(relay.child.pid!), 0);
    const wakeUpsBefore = relays.reduce((sum, relay) => sum + wakeUps(relay.child.pid!), 0);
    const root = relays[0]!;
    for (let i = 0; i < messages; i++) {
      root.child.stdin!.write(`${JSON.stringify({ op: 'send', id: `m${i}`, text: `scale ${i} `.padEnd(textLength, '.') })}\n`);
      await sleep(paceMs);
    }
    await sleep(3000);
    const cpu = relays.reduce((sum, relay) => sum + cpuSeconds(relay.child.pid!), 0) - cpuBefore;
    const windowWakeUps = relays.reduce((sum, relay) => sum + wakeUps(relay.child.pid!), 0) - wakeUpsBefore;
    const latencies: number[] = [];
    for (const [id, at] of root.sent) for (const relay of relays.slice(1)) if (relay.arrived.has(id)) latencies.push(relay.arrived.get(id)! - at);
    const expected = root.sent.size * (size - 1);
    return {
      nodes: size,
      treeDepth: tree.depth,
      delivery: expected === 0 ? 0 : Math.round((latencies.length / expected) * 1000) / 1000,
      cpuMsPerDeliveryPerNode: latencies.length === 0 ? null : Math.round(((cpu * 1000) / latencies.length) * 100) / 100,
      wakeUpsPerDelivery: latencies.length === 0 ? null : Math.round((windowWakeUps / latencies.length) * 10) / 10,
      latencyMs: { p50: Math.round(percentile(latencies, 50) * 10) / 10, p99: Math.round(percentile(latencies, 99) * 10) / 10 },
      loadAverage: { before: loadBefore, after: loadavg() },
    };
  } finally {
    await stopChildren(
      relays.map((relay) => relay.child),
      (child) => child.stdin!.end(),
      5000,
    );
  }
}
