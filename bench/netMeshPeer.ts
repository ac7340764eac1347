/**
 * Bench helper process: one full MeshNetwork node that receives events from the bench's node in
 * another process (`tsx bench/netMeshPeer.ts MODE MESHKEYHEX [ARGS]`), so sender and receiver
 * each have their own event loop (and core, when the machine has two free).
 *
 * MODE `reliable`: a node listening on 127.0.0.1:0 (static peers only). Prints
 * `{"listen":"127.0.0.1:P","nodeId"}`, then subscribes to `/chat/` and records, for every event
 * whose body has `t` (the sender's `process.hrtime.bigint()` in ns as a number: CLOCK_MONOTONIC,
 * one clock for every process on the machine), the one-way latency in an HDR histogram.
 *
 * MODE `raw`: no mesh, the baseline: a plain TCP listener on 127.0.0.1:0 reading the same u32
 * framing with MessagePack `{t, body}` payloads (no crypto, no routing). Prints `{"listen"}`.
 *
 * MODE `fast` (ARGS: GROUP PORT): a node with multicast discovery on 127.0.0.1 that counts
 * `/presence/` events. Prints `{"ready":true,"nodeId"}` after start.
 *
 * Both answer stdin lines: `reset [RUN]` (zero the counters and the histogram; with RUN, count
 * only events whose body has `run: RUN`), `report` (prints
 * `{"cpuUs","received","firstNs","lastNs","latencyNs":{p50,p99,p999,max,samples},"lost","late"}`;
 * cpuUs = this process's CPU time since the last reset), `quit`.
 * While events arrive, `{"progress":received}` lines go out at most every 5 ms, so the sender
 * can keep a bounded number of events in flight.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { decode } from '../server/src/net/codec';
import { FrameDecoder } from '../server/src/net/framing';
import { scaledInboundLimits } from '../server/src/net/inboundLimits';
import { MeshNetwork } from '../server/src/net/meshNetwork';
import { generateIdentity } from '../server/src/kernel/identity';
import { parseMeshKey } from '../server/src/kernel/meshKey';
import { Histogram } from './histogram';

const [mode = 'reliable', keyHex = '', group = '239.255.77.77', portText = '0'] = process.argv.slice(2);
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<void> {
  const mesh = new MeshNetwork({
    identity: generateIdentity().identity,
    meshKey: parseMeshKey(keyHex),
    name: `bench-${mode}-${process.pid}`,
    listen: { host: '127.0.0.1', port: 0 },
    discovery: mode === 'fast' ? { group, port: Number(portText), interface: '127.0.0.1', intervalMs: 2000 } : false,
    tuning: { handshakeRateLimit: { burst: 100_000, perSecond: 100_000 }, inboundLimits: scaledInboundLimits(1_000_000) },
  });
  let histogram = new Histogram();
  let received = 0;
  let firstNs = 0;
  let lastNs = 0;
  let reported = 0;
  let cpu = process.cpuUsage();
  // Where tails come from: garbage collection pauses and event-loop stalls in this process.
  let gc = { count: 0, totalMs: 0, maxMs: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let progressTimer: NodeJS.Timeout | undefined;
  const progress = () => {
    progressTimer = undefined;
    if (received !== reported) {
      reported = received;
      out({ progress: received });
    }
  };
  // `reset RUN`: from then on only events whose body has `run: RUN` count (late ones of an earlier run do not).
  let run: string | undefined;
  const onEvent = (body: unknown) => {
    if (run !== undefined && (body as { run?: unknown } | null)?.run !== run) return;
    const nowNs = Number(process.hrtime.bigint());
    received++;
    if (firstNs === 0) firstNs = nowNs;
    lastNs = nowNs;
    const t = (body as { t?: unknown } | null)?.t;
    if (typeof t === 'number' && t > 0) histogram.record(nowNs - t);
    progressTimer ??= setTimeout(progress, 5);
  };
  let server: Server | undefined;
  if (mode === 'raw') {
    server = createServer((socket) => {
      socket.setNoDelay(true);
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk).frames) {
          const value = decode(frame);
          if (value.ok) onEvent(value.value);
        }
      });
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    out({ listen: `127.0.0.1:${(server.address() as AddressInfo).port}` });
  } else {
    mesh.subscribe(mode === 'fast' ? '/presence/' : '/chat/', (message) => onEvent(message.body));
    await mesh.start();
    out(mode === 'fast' ? { ready: true, nodeId: mesh.nodeId } : { listen: mesh.listenAddress, nodeId: mesh.nodeId });
  }
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, argument] = line.trim().split(' ');
    if (command === 'reset') {
      run = argument;
      histogram = new Histogram();
      received = 0;
      reported = 0;
      firstNs = 0;
      lastNs = 0;
      cpu = process.cpuUsage();
      gc = { count: 0, totalMs: 0, maxMs: 0 };
      loopDelay.reset();
      out({ reset: true });
    } else if (command === 'report') {
      const used = process.cpuUsage(cpu);
      out({
        cpuUs: used.user + used.system,
        gc: { count: gc.count, totalMs: Math.round(gc.totalMs * 10) / 10, maxMs: Math.round(gc.maxMs * 100) / 100 },
        loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        received,
        firstNs,
        lastNs,
        latencyNs: { p50: histogram.percentile(50), p99: histogram.percentile(99), p999: histogram.percentile(99.9), max: histogram.max, samples: histogram.count },
        lost: mesh.stats().fastLane.lost,
        late: mesh.stats().counters['router.late'] ?? 0,
      });
    } else if (command === 'quit') {
      lines.close();
      gcObserver.disconnect();
      loopDelay.disable();
      if (progressTimer) clearTimeout(progressTimer);
      server?.close();
      void mesh.stop().then(() => process.exit(0));
    }
  });
  lines.on('close', () => {
    gcObserver.disconnect();
    loopDelay.disable();
    if (progressTimer) clearTimeout(progressTimer);
    server?.close();
    void mesh.stop().then(() => process.exit(0));
  });
}

void main();
