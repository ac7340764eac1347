/**
 * `persona-mesh node`: a headless mesh node. Stops cleanly on SIGTERM/SIGINT or the stdin
 * line `{"op":"quit"}`; every stdin line is one JSON command.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { MeshNode } from '../node/meshNode';
import { createLogger } from '../kernel/log';
import { logLevels, type LogLevel } from '../../../protocol/extension';
import { meshKeyProblem } from '../kernel/meshKey';
import { defaultNetworkSettings, parseHostPort } from '../node/networkOptions';
import type { ChatMessage } from '../../../protocol/rooms';
import type { NetworkSettings, NodeRole } from '../../../protocol/status';
import { lastValue, UsageError, type ParsedArgs } from './args';
import { readMeshKey } from './meshKeySource';
import { isChallengeOp, reportChallenges, runChallengeOp } from './challengeOps';
import type { CliOutput } from './output';
import { genomeLimitsFromArgs, reportGenomeEvents, runGenomeOp } from './genomeOps';
import { parseStdinLine } from './stdinCommand';

export const nodeArgSpec = {
  valued: ['name', 'data-dir', 'mesh-key-file', 'log-level', 'listen', 'multicast', 'interface', 'peer', 'trust', 'interval-ms', 'room', 'workspace', 'personas', 'models-dir', 'hf-endpoint', 'evolution', 'challenge-timeout-ms', 'genome-max-mb', 'genome-max-rate-kib', 'max-messages-per-minute', 'role', 'sessions', 'cluster'],
  boolean: ['jsonl', 'help', 'broadcast', 'no-discovery'],
} as const;

/** Network settings from the flags, on top of the defaults every node shares. */
export function networkSettingsFromArgs(args: ParsedArgs): NetworkSettings {
  const defaults = defaultNetworkSettings.discovery as Exclude<NetworkSettings['discovery'], false>;
  let group = defaults.group;
  let port = defaults.port;
  const multicast = lastValue(args, 'multicast');
  if (multicast !== undefined) {
    try {
      ({ host: group, port } = parseHostPort(multicast, '--multicast'));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const interval = lastValue(args, 'interval-ms');
  const intervalMs = interval === undefined ? defaults.intervalMs : Number(interval);
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError('--interval-ms must be a whole number of milliseconds, 50 or more');
  return {
    listen: lastValue(args, 'listen') ?? defaultNetworkSettings.listen,
    discovery: args.flags.has('no-discovery')
      ? false
      : { group, port, interface: lastValue(args, 'interface') ?? '', intervalMs, broadcast: args.flags.has('broadcast') },
    staticPeers: args.values.get('peer') ?? [],
    trustedNodes: args.values.get('trust') ?? [],
    ...(lastValue(args, 'cluster') !== undefined ? { cluster: lastValue(args, 'cluster') } : {}),
  };
}

function evolutionFromArgs(args: ParsedArgs): 'automatic' | 'off' {
  const policy = lastValue(args, 'evolution') ?? 'off';
  if (policy !== 'automatic' && policy !== 'off') throw new UsageError('--evolution must be automatic or off (a headless node has nobody to ask)');
  return policy;
}

function modelsFromArgs(args: ParsedArgs): { folder?: string; huggingFaceEndpoint?: string } {
  const folder = lastValue(args, 'models-dir');
  const endpoint = lastValue(args, 'hf-endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) throw new UsageError('--hf-endpoint must be an http(s) URL, e.g. https://huggingface.co');
  return { ...(folder ? { folder: resolve(folder) } : {}), ...(endpoint ? { huggingFaceEndpoint: endpoint.replace(/\/+$/, '') } : {}) };
}

export const defaultDataDir = join(homedir(), '.persona-mesh');

export interface NodeCommandIo {
  output: CliOutput;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { destroy?: () => void };
}

/** Resolves with the exit code once the node has stopped. */
export async function runNodeCommand(args: ParsedArgs, io: NodeCommandIo): Promise<number> {
  const { output } = io;
  const logLevel = (lastValue(args, 'log-level') ?? 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) throw new UsageError(`--log-level must be one of ${logLevels.join(', ')}`);
  const meshKeyText = readMeshKey(lastValue(args, 'mesh-key-file'), io.env);
  // Checked here for the exit code; the node stretches a passphrase itself (scrypt: ~150 ms of CPU
  // that a hundred nodes starting at once must not pay twice).
  const keyProblem = meshKeyProblem(meshKeyText);
  if (keyProblem) {
    output.error(keyProblem.message, keyProblem.code);
    return 2;
  }

  const network = networkSettingsFromArgs(args);
  const logger = createLogger((record) => output.log(record), logLevel);
  const node = new MeshNode({
    dataDir: lastValue(args, 'data-dir') ?? defaultDataDir,
    meshKey: meshKeyText,
    name: lastValue(args, 'name'),
    logger,
    network,
    headless: true,
    ...(lastValue(args, 'challenge-timeout-ms') !== undefined ? { challengeCoordinatorTimeoutMs: challengeTimeout(lastValue(args, 'challenge-timeout-ms')!) } : {}),
    genomes: genomeLimitsFromArgs(args),
    ...(lastValue(args, 'max-messages-per-minute') !== undefined ? { maxMessagesPerMinute: messagesPerMinute(lastValue(args, 'max-messages-per-minute')!) } : {}),
    ...overlayFromArgs(lastValue(args, 'role'), lastValue(args, 'sessions')),
    personaFolders: { workspaceFolders: (args.values.get('workspace') ?? []).map((d) => resolve(d)), extraFolders: (args.values.get('personas') ?? []).map((d) => resolve(d)) },
    models: modelsFromArgs(args),
    evolution: { policy: evolutionFromArgs(args) },
  });
  node.on('peer.up', (peer) => output.event({ event: 'peer.up', ...peer }));
  const reportMessage = messageReporter(node, output);
  node.on('peer.down', (peer) => output.event({ event: 'peer.down', ...peer }));
  // A copy of a running node's data folder is refused by the mesh, at any time: it stops with 2.
  let refused = false;
  let leave: (() => void) | undefined;
  node.on('identity.duplicate', (problem) => {
    output.error(problem.message, problem.code);
    refused = true;
    leave?.();
  });
  try {
    await node.start();
  } catch (error) {
    output.error((error as Error).message, (error as { code?: string }).code);
    return 2;
  }
  if (refused) {
    await node.stop();
    return 2;
  }
  node.rooms?.on('message', reportMessage);
  node.evolution?.onEvent((event) => output.event({ ...event, event: 'evolution', eventId: event.id }));
  node.modelDownloads?.on('progress', (progress) => output.event({ event: 'model.download', ...progress }));
  reportChallenges(node, output);
  if (node.genomes) reportGenomeEvents(node.genomes, output);
  for (const room of args.values.get('room') ?? []) {
    try {
      node.rooms?.join(room);
    } catch (error) {
      output.error(`--room ${room}: ${(error as Error).message}`, 'usage');
      await node.stop();
      return 2;
    }
  }
  const problems = node.status().problems;
  if (problems.length > 0) {
    // Logged already by the node; the CLI adds the machine-readable line and refuses to run half a node.
    for (const problem of problems) output.event({ event: 'error', reason: problem.message, code: problem.code });
    await node.stop();
    return 2;
  }

  return new Promise<number>((resolve) => {
    const lines: Interface = createInterface({ input: io.stdin, crlfDelay: Infinity });
    let stopping = false;
    const shutdown = (why: string, code = 0) => {
      if (stopping) return;
      stopping = true;
      logger.info(`stopping (${why})`);
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
      lines.close();
      io.stdin.destroy?.();
      void node.stop().then(() => {
        output.event({ event: 'stopped', reason: why });
        resolve(code);
      });
    };
    leave = () => shutdown('identity-duplicate', 2);
    const onSigterm = () => shutdown('SIGTERM');
    const onSigint = () => shutdown('SIGINT');
    process.on('SIGTERM', onSigterm);
    process.on('SIGINT', onSigint);

    lines.on('line', (line) => {
      const text = line.trim();
      if (text.length === 0) return;
      const parsed = parseStdinLine(text);
      if (!parsed.ok) {
        output.event({ event: 'error', reason: parsed.reason });
        return;
      }
      const command = parsed.command;
      switch (command.op) {
        case 'quit':
          shutdown('quit');
          break;
        case 'status':
          output.event({ event: 'status', ...node.status() });
          break;
        case 'peers':
          output.event({ event: 'peers', peers: node.peers() });
          break;
        case 'stats':
          // The network's counters and overlay views: what a user (or the scale bench) reads to see
          // why a node churns or relays.
          output.event({ event: 'stats', ...(node.network?.stats() ?? {}) });
          break;
        case 'rpc':
          void runRpc(node, command as RpcOp, output);
          break;
        case 'send':
        case 'join':
        case 'leave':
        case 'history':
          runRoomOp(node, command as RoomOp, output);
          break;
        default:
          // parseStdinLine let only known ops through: the rest are challenge and genome ops.
          if (isChallengeOp(command.op)) runChallengeOp(node, command, output);
          else void runGenomeOp(node, command, output);
      }
    });
    // End of stdin is not a quit: a node started as a service has /dev/null there.

    // Last, once the signal handlers are in place: a parent may send SIGTERM as soon as it reads this.
    const status = node.status();
    output.event({ event: 'ready', nodeId: status.nodeId, name: status.name, listen: status.listen, dataDir: status.dataDir, pid: status.pid });
  });
}

/** `--role hub` takes hundreds of sessions; `--sessions LOW-HIGH` sets the watermarks. */
export function overlayFromArgs(role: string | undefined, sessions: string | undefined): { overlay?: { activeTarget: number; activeMax: number; role: NodeRole } } {
  if (role !== undefined && role !== 'node' && role !== 'hub') throw new UsageError('--role must be node or hub');
  let activeTarget = 6;
  let activeMax = role === 'hub' ? 500 : 12;
  if (sessions !== undefined) {
    const match = /^(\d{1,4})-(\d{1,4})$/.exec(sessions);
    if (!match || Number(match[1]) < 1 || Number(match[2]) < Number(match[1])) throw new UsageError('--sessions must be LOW-HIGH, whole numbers with 1 ≤ LOW ≤ HIGH, e.g. 6-12');
    activeTarget = Number(match[1]);
    activeMax = Number(match[2]);
  }
  return role === undefined && sessions === undefined ? {} : { overlay: { activeTarget, activeMax, role: role ?? 'node' } };
}

function messagesPerMinute(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError('--max-messages-per-minute must be a whole number, 1 or more');
  return value;
}

function challengeTimeout(text: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 100) throw new UsageError('--challenge-timeout-ms must be a whole number of milliseconds, 100 or more');
  return ms;
}

interface RpcOp {
  op: 'rpc';
  node?: unknown;
  method?: unknown;
  params?: unknown;
  id?: unknown;
  timeoutMs?: unknown;
}

/** `{"op":"rpc","node","method","params","id"}` → `{"event":"rpc.result","id","result"|"error"}`. */
async function runRpc(node: MeshNode, op: RpcOp, output: CliOutput): Promise<void> {
  const id = op.id ?? null;
  if (typeof op.node !== 'string' || typeof op.method !== 'string') {
    output.event({ event: 'rpc.result', id, error: 'rpc needs "node" (a node id) and "method" (a string)' });
    return;
  }
  const network = node.network;
  if (!network) {
    output.event({ event: 'rpc.result', id, error: 'the network is not running' });
    return;
  }
  try {
    const timeoutMs = typeof op.timeoutMs === 'number' ? op.timeoutMs : undefined;
    const result = await network.call(op.node.replace(/-/g, ''), op.method, op.params, timeoutMs ? { timeoutMs } : undefined);
    output.event({ event: 'rpc.result', id, result });
  } catch (error) {
    output.event({ event: 'rpc.result', id, error: (error as Error).message });
  }
}

interface RoomOp {
  op: 'send' | 'join' | 'leave' | 'history';
  room?: unknown;
  text?: unknown;
  id?: unknown;
  limit?: unknown;
}

const maxHistoryOpMessages = 100_000;

/**
 * `send` answers `{"event":"sent","room","id"}`; `join`/`leave` answer `{"event":"joined"|"left","room"}`;
 * `history` answers `{"event":"history","room","ids","gaps"}`: the ids of the newest `limit` messages
 * (default and most 100,000) in display order, and what this node knows it lacks.
 */
function runRoomOp(node: MeshNode, op: RoomOp, output: CliOutput): void {
  const rooms = node.rooms;
  const room = typeof op.room === 'string' ? op.room : 'general';
  try {
    if (!rooms) throw new Error('rooms are not available (see the error logged at start)');
    switch (op.op) {
      case 'send': {
        if (typeof op.text !== 'string') throw new Error('send needs "text" (a string)');
        const message = rooms.send({ roomId: room, text: op.text });
        output.event({ event: 'sent', room, id: message.id, ...(op.id !== undefined ? { ref: op.id } : {}) });
        break;
      }
      case 'join':
        rooms.join(room);
        output.event({ event: 'joined', room });
        break;
      case 'leave':
        rooms.leave(room);
        output.event({ event: 'left', room });
        break;
      case 'history': {
        const limit = typeof op.limit === 'number' && op.limit >= 1 ? Math.min(Math.floor(op.limit), maxHistoryOpMessages) : maxHistoryOpMessages;
        const ids: string[] = [];
        let before: string | undefined;
        while (ids.length < limit) {
          const page = rooms.history({ roomId: room, limit: Math.min(500, limit - ids.length), ...(before ? { before } : {}) });
          ids.unshift(...page.messages.map((m) => m.id));
          if (!page.hasMore || page.messages.length === 0) break;
          before = page.messages[0]!.id;
        }
        output.event({ event: 'history', room, ids, gaps: rooms.gaps(room), ...(op.id !== undefined ? { ref: op.id } : {}) });
        break;
      }
    }
  } catch (error) {
    output.event({ event: 'error', reason: `${op.op} ${room}: ${(error as Error).message}` });
  }
}

/**
 * Reports each message from another node once, when first seen: `{"event":"message",...}`.
 * Later changes to it (edits, reactions, streamed tokens) are `message.updated`.
 */
const maxReportedIds = 50_000;

function messageReporter(node: MeshNode, output: CliOutput): (message: ChatMessage) => void {
  const seen = new Set<string>();
  return (message) => {
    if (message.origin === node.identity.nodeId) return;
    const first = !seen.has(message.id);
    seen.add(message.id);
    // Bounded: a message edited long after 50,000 newer ones is reported as new again, harmlessly.
    if (seen.size > maxReportedIds) seen.delete(seen.values().next().value!);
    output.event({
      event: first ? 'message' : 'message.updated',
      room: message.roomId,
      from: message.author.nodeId,
      fromName: message.author.displayName,
      kind: message.author.kind,
      id: message.id,
      text: message.deleted ? '' : message.text,
      ...(message.attachment ? { attachment: message.attachment } : {}),
      ...(message.replyTo ? { replyTo: message.replyTo } : {}),
      ...(message.deleted ? { deleted: true } : {}),
    });
  };
}
