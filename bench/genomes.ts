/**
 * Genome transfer benchmark (`node --import tsx bench/genomes.ts [--quick]`). Prints one JSON
 * object on stdout; progress goes to stderr. Every node is its own process (bench/genomePeer.ts,
 * with the server's `--max-semi-space-size=1`:
 * a GenomeService on its own libsql file and blob folder over a real MeshNetwork on loopback,
 * Noise sessions, static peers), as every VS Code window runs its own server; on this 2-core
 * machine the seeders, the downloader and this process share the two cores.
 *
 * - rawTcpMBps: one TCP connection on loopback between two processes, 256 KiB writes, no crypto
 *   (median of 3 runs): the floor the issue compares with.
 * - cpuCeilingMBps: what one core here can open (ChaCha20-Poly1305) and hash (SHA-256) per
 *   second, with the session's own cipher: a receiver that checks every byte cannot go faster,
 *   so it bounds any encrypted, verified transfer (`sealMBps` is the sender's side).
 * - transfer from 1 and from 3 seeders: MB/s of a LoRA-sized blob, with the ratio to raw TCP
 *   (the target: ≥ 0.8) and to the CPU ceiling.
 * - chat: one-way latency of small chat events from a seeder to the downloader, idle and while
 *   the downloader fetches the genome from that seeder and two more; p50/p99 and the p99 ratio
 *   (the target: ≤ 2).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '../server/src/genomes/pieces';
import { Opener, Sealer } from '../server/src/net/transportCipher';
import { systemClock } from '../server/src/kernel/clock';
import { genomePieceBytes } from '../protocol/genomes';
import { buildBulkyLoraAdapter } from '../test/fixtures/gguf/bulkyAdapter';
import { writeTinyFixture } from '../test/fixtures/gguf/writer';

const quick = process.argv.includes('--quick');
const blobBytes = (quick ? 16 : 64) * 1024 * 1024;
const progress = (text: string) => process.stderr.write(`${text}\n`);
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** One bench peer process and its request/answer channel. */
class Peer {
  private readonly child: ChildProcess;
  private queue: { resolve(value: Record<string, unknown>): void; reject(error: Error): void }[] = [];
  listen = '';

  constructor(readonly name: string) {
    this.child = fork(join(__dirname, 'genomePeer.ts'), [], { execArgv: ['--import', 'tsx', '--max-semi-space-size=1'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child.on('message', (answer: { ok: boolean; error?: string }) => {
      const waiting = this.queue.shift();
      if (answer.ok) waiting?.resolve(answer);
      else waiting?.reject(new Error(`${name}: ${answer.error}`));
    });
    this.child.on('exit', () => {
      for (const waiting of this.queue.splice(0)) waiting.reject(new Error(`${name} exited`));
    });
  }

  /** Requests are answered in order: one at a time per peer. */
  request<T = Record<string, unknown>>(op: string, params: Record<string, unknown> = {}): Promise<T> {
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve: resolve as (value: Record<string, unknown>) => void, reject });
      this.child.send({ op, ...params });
    });
  }

  async start(root: string, peers: Peer[]): Promise<this> {
    const { listen } = await this.request<{ listen: string }>('start', { dir: join(root, this.name), peers: peers.map((p) => p.listen), model: writeTinyFixture(root).modelPath });
    this.listen = listen;
    if (peers.length > 0) await this.request('sessions', { count: peers.length });
    return this;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request('stop').catch(() => undefined);
    await exited;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function latency(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50), 3), p99Ms: round(percentile(sorted, 99), 3) };
}

async function rawTcpMBps(): Promise<number> {
  const sink = new Peer('raw-sink');
  const source = new Peer('raw-source');
  const runs: number[] = [];
  try {
    for (let run = 0; run < 3; run++) {
      const { port } = await sink.request<{ port: number }>('raw-sink', { bytes: blobBytes });
      const { seconds } = await source.request<{ seconds: number }>('raw-send', { port, bytes: blobBytes });
      runs.push(blobBytes / 1024 / 1024 / seconds);
    }
  } finally {
    await Promise.all([sink.stop(), source.stop()]);
  }
  return runs.sort((a, b) => a - b)[1]!;
}

/** Seal, open and hash the blob's bytes piece by piece on this core, with the sessions' cipher. */
function cpuCeiling(): { sealMBps: number; openAndHashMBps: number } {
  const key = randomBytes(32);
  const sealer = new Sealer(key, systemClock);
  const opener = new Opener(key);
  const piece = randomBytes(genomePieceBytes);
  const pieces = blobBytes / genomePieceBytes;
  const frames: Buffer[] = [];
  let started = performance.now();
  for (let i = 0; i < pieces; i++) frames.push(sealer.sealFrame(piece));
  const sealMs = performance.now() - started;
  started = performance.now();
  for (const frame of frames) sha256Hex(opener.open(frame.subarray(4))!);
  const openMs = performance.now() - started;
  const mib = blobBytes / 1024 / 1024;
  return { sealMBps: round(mib / (sealMs / 1000)), openAndHashMBps: round(mib / (openMs / 1000)) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pm-bench-genomes-'));
  const peers: Peer[] = [];
  const peer = (name: string) => {
    const created = new Peer(name);
    peers.push(created);
    return created;
  };
  try {
    progress(`[genomes] raw TCP between two processes, ${blobBytes / 1024 / 1024} MiB x 3`);
    const raw = await rawTcpMBps();
    const ceiling = cpuCeiling();

    const fixture = writeTinyFixture(root);
    const adapter = join(root, 'bulky.lora.gguf');
    writeFileSync(adapter, buildBulkyLoraAdapter(blobBytes));
    const first = await peer('s1').start(root, []);
    const genome = await first.request<{ id: string; size: number }>('publish', { adapter, baseModel: fixture.modelPath });
    const size = genome.size / 1024 / 1024;

    progress('[genomes] transfer from 1 seeder');
    const d1 = await peer('d1').start(root, [first]);
    const one = await d1.request<{ seconds: number; sources: number }>('download', { id: genome.id });
    await d1.stop();
    // Two more seeders get their copy over the mesh (after the 1-seeder run: peer exchange would
    // otherwise connect its downloader to them too).
    const seeders = [first];
    for (const name of ['s2', 's3']) {
      const seeder = await peer(name).start(root, seeders);
      await seeder.request('download', { id: genome.id });
      seeders.push(seeder);
    }

    progress('[genomes] transfer from 3 seeders');
    const d3 = await peer('d3').start(root, seeders);
    const three = await d3.request<{ seconds: number; sources: number }>('download', { id: genome.id });
    await d3.stop();

    progress('[genomes] chat latency idle and during a transfer from 3 seeders');
    const listener = await peer('chat').start(root, seeders);
    await listener.request('chat-listen');
    await first.request('chat-send', { intervalMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, quick ? 2000 : 4000));
    const idle = latency((await listener.request<{ samplesMs: number[] }>('chat-report')).samplesMs);
    const during = await listener.request<{ sources: number }>('download', { id: genome.id });
    const busy = latency((await listener.request<{ samplesMs: number[] }>('chat-report')).samplesMs);
    await first.request('chat-stop');

    const mbps = (seconds: number) => round(size / seconds);
    const transfer = (run: { seconds: number; sources: number }) => ({
      MBps: mbps(run.seconds),
      ratioToRawTcp: round(mbps(run.seconds) / raw, 3),
      ratioToCpuCeiling: round(mbps(run.seconds) / ceiling.openAndHashMBps, 3),
      sources: run.sources,
    });
    const result = {
      blobMiB: round(size, 1),
      rawTcpMBps: round(raw),
      cpuCeilingMBps: ceiling,
      fromOneSeeder: transfer(one),
      fromThreeSeeders: transfer(three),
      chat: { idle, duringTransfer: { ...busy, sources: during.sources }, p99Ratio: idle.p99Ms > 0 ? round(busy.p99Ms / idle.p99Ms) : null },
      note: 'each node in its own process; 2 cores shared by all of them',
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
