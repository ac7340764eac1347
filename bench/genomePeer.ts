/**
 * Bench helper process for bench/genomes.ts: one genome node (GenomeService on its own libsql
 * file and blob folder over a real MeshNetwork on loopback), or a raw TCP endpoint, driven over
 * the IPC channel of `fork()`. Each node of the genome bench is one of these, as each VS Code
 * window runs its own server process.
 *
 * Requests (`{op, ...}`, each answered by one `{ok: true, ...}` or `{ok: false, error}`):
 * - `start {dir, peers, model}` → `{listen, nodeId}`; `sessions {count}` waits until that many are up.
 * - `publish {adapter, baseModel}` → `{id, size}`; `download {id}` → `{seconds, sources}`.
 * - `chat-send {intervalMs}` / `chat-stop`: chat-priority events carrying the send time
 *   (`process.hrtime.bigint()`: CLOCK_MONOTONIC, one clock for every process on the machine).
 * - `chat-listen` / `chat-report` → `{samplesMs}`: one-way latencies of the events received.
 * - `raw-sink {bytes}` → `{port}`; `raw-send {port, bytes}` → `{seconds}` once the sink has all.
 */
import { mkdirSync } from 'node:fs';
import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { modelArchitecture } from '../server/src/genomes/lora';
import { GenomeService } from '../server/src/genomes/service';
import { MeshNetwork } from '../server/src/net/meshNetwork';
import { systemClock } from '../server/src/kernel/clock';
import { loadOrCreateIdentity } from '../server/src/kernel/identity';
import { silentLogger } from '../server/src/kernel/log';
import { parseMeshKey } from '../server/src/kernel/meshKey';
import { NetworkMeshPort } from '../server/src/node/networkPort';
import { SwitchableMeshPort } from '../server/src/kernel/switchablePort';
import { Store } from '../server/src/store/database';

type Request = { op: string; [key: string]: unknown };

const meshKey = parseMeshKey('pmk1-' + Buffer.alloc(32, 9).toString('base64url'));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const chatTopic = '/chat/room/bench/events/message';

let node: { mesh: MeshNetwork; store: Store; genomes: GenomeService } | undefined;
let chatTimer: NodeJS.Timeout | undefined;
let samples: number[] = [];
let offChat: (() => void) | undefined;

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function rawSink(bytes: number): Promise<{ port: number }> {
  const server = createServer((socket) => {
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) {
        socket.end('k');
        server.close();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port })));
}

async function rawSend(port: number, bytes: number): Promise<{ seconds: number }> {
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const acknowledged = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  const chunk = Buffer.alloc(256 * 1024, 1);
  const started = nowMs();
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve));
  }
  await acknowledged;
  const seconds = (nowMs() - started) / 1000;
  socket.destroy();
  return { seconds };
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.op) {
    case 'start': {
      const dir = request.dir as string;
      mkdirSync(dir, { recursive: true });
      const { identity } = loadOrCreateIdentity(dir, silentLogger);
      const store = new Store(dir, silentLogger);
      await store.start();
      const transport = new SwitchableMeshPort(identity.nodeId);
      const genomes = new GenomeService({ dataDir: dir, store, identity, transport, clock: systemClock, logger: silentLogger });
      await genomes.start();
      const mesh = new MeshNetwork({ identity, meshKey, name: dir, listen: { host: '127.0.0.1', port: 0 }, discovery: false, staticPeers: request.peers as string[] });
      await mesh.start();
      transport.attach(new NetworkMeshPort(mesh));
      node = { mesh, store, genomes };
      // node-llama-cpp's GGUF reader (which checks a downloaded LoRA layer) loads once per
      // process, as in a server that has already checked a model: not part of any transfer.
      await modelArchitecture(request.model as string);
      return { listen: mesh.listenAddress, nodeId: identity.nodeId };
    }
    case 'sessions': {
      await waitFor('sessions', () => (node?.mesh.upPeers().length ?? 0) >= (request.count as number), 10_000);
      return {};
    }
    case 'publish': {
      const genome = await node!.genomes.publish({ name: 'bench', description: 'bench', capabilities: ['bench'], adapter: request.adapter as string, baseModel: request.baseModel as string });
      return { id: genome.id, size: genome.size };
    }
    case 'download': {
      await node!.genomes.query({ timeoutMs: 3000 });
      const started = nowMs();
      const result = await node!.genomes.download(request.id as string);
      return { seconds: (nowMs() - started) / 1000, sources: result.sources.length };
    }
    case 'chat-send': {
      chatTimer = setInterval(() => node!.mesh.publish(chatTopic, { t: nowMs(), text: 'hello while a genome moves' }), request.intervalMs as number);
      return {};
    }
    case 'chat-stop': {
      clearInterval(chatTimer);
      return {};
    }
    case 'chat-listen': {
      samples = [];
      offChat ??= node!.mesh.subscribe('/chat/room/bench/', (message) => samples.push(nowMs() - (message.body as { t: number }).t));
      return {};
    }
    case 'chat-report': {
      const result = { samplesMs: samples };
      samples = [];
      return result;
    }
    case 'raw-sink':
      return rawSink(request.bytes as number);
    case 'raw-send':
      return rawSend(request.port as number, request.bytes as number);
    case 'stop': {
      clearInterval(chatTimer);
      offChat?.();
      if (node) {
        await node.genomes.stop();
        await node.mesh.stop();
        await node.store.stop();
      }
      setImmediate(() => process.exit(0));
      return {};
    }
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => process.send!({ ok: true, ...result }),
    (error: Error) => process.send!({ ok: false, error: error.stack ?? error.message }),
  );
});
process.on('disconnect', () => process.exit(0));
