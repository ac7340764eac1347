/**
 * The academy on this node: records training signals (thumbs from the chat panel now; review,
 * task outcomes and challenges through `record`), signs them with the node's identity, stores
 * them, shares them on the mesh and computes the leaderboard from them. It also notes persona
 * reply times from the room history (latency scores) and exports exchanges as training data.
 *
 * Signals travel on `/academy/signals` (from their signer, live) and by anti-entropy pulls on
 * `/academy/sync/{nodeId}` (see sync.ts). A received signal is kept only when it is well formed,
 * its id matches its content and its signer's signature checks.
 */
import { EventEmitter } from 'node:events';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { systemClock, type Clock } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import { describeError, type Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import {
  academyLimits,
  academyTopics,
  exportFormats,
  personaKey,
  signalCategories,
  type AcademyExportParams,
  type AcademyRateParams,
  type AcademySignalsParams,
  type ExportSummary,
  type Leaderboard,
  type PersonaRef,
  type Signal,
  type SignalCategory,
  type SignalContext,
  type RecordSignalInput,
} from '../../../protocol/academy';
import { participantKey, type ChatMessage, messageIdCheck, roomIdCheck } from '../../../protocol/rooms';
import { ServiceError } from '../../../protocol/errors';
import type { PortMessage } from '../kernel/meshPort';
import type { Db } from '../store/database';
import { dbExportSource, exportTrainingData } from './export';
import { collectLatencies } from './latency';
import { computeLeaderboard, type ScoreOptions } from './scores';
import { signalAuthenticator, verifySignal, type SignalAuthenticator } from './signing';
import { SignalStore } from './signalStore';
import { AcademySync, type AcademySyncOptions } from './sync';
import type { AcademyTransport } from './transport';
import { clip, signalProblem } from './validate';

/** What the academy uses of Rooms (a started Rooms fits). */
export interface AcademyRooms {
  message(roomId: string, messageId: string): ChatMessage | undefined;
  on(event: 'message', listener: (message: ChatMessage) => void): unknown;
  off(event: 'message', listener: (message: ChatMessage) => void): unknown;
}

export interface AcademyOptions {
  /** The node's store; its `db` is read at start (the academy migration must have run). */
  store: { readonly db: Db };
  transport: AcademyTransport;
  /** Signs the signals this node records. */
  identity: Identity;
  /** Rooms, to rate messages and note persona reply times; without it `rate` is unavailable. */
  rooms?: AcademyRooms;
  clock?: Clock;
  logger?: Logger;
  sync?: AcademySyncOptions;
  scores?: ScoreOptions;
  /**
   * Received signals dated further ahead of this node's clock are dropped (a signer with a wrong
   * clock would otherwise decay every other signal away on every node). Default 1 day.
   */
  maxFutureMs?: number;
}

export interface AcademyEvents {
  /** A signal was recorded here or received (new to this node). */
  signal: [Signal];
}

export class Academy extends EventEmitter<AcademyEvents> implements Component {
  readonly name = 'academy';
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly authenticator: SignalAuthenticator;
  private signalStore: SignalStore | undefined;
  private sync: AcademySync | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly boards = new Map<string, Leaderboard>();
  private running = false;

  constructor(private readonly options: AcademyOptions) {
    super();
    this.nodeId = options.transport.localNodeId;
    if (options.identity.nodeId !== this.nodeId) throw new Error(`the identity ${options.identity.nodeId} is not the transport's node ${this.nodeId}`);
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('academy');
    this.authenticator = signalAuthenticator(options.identity);
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const store = new SignalStore(this.options.store.db);
    this.signalStore = store;
    this.running = true;
    const transport = this.options.transport;
    this.unsubscribe.push(transport.subscribe(academyTopics.signals, (message) => this.onLive(message)));
    const rooms = this.options.rooms;
    if (rooms) {
      const listener = () => this.noteMessage();
      rooms.on('message', listener);
      this.unsubscribe.push(() => void rooms.off('message', listener));
    }
    this.sync = new AcademySync({ store, applyBatch: (signals, from) => this.applyReceived(signals, from) }, transport, this.clock, this.logger.child('sync'), this.options.sync);
    this.sync.start();
    this.logger.info(`academy ready: ${store.count} signal(s)`);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.running = false;
    this.sync?.stop();
    this.sync = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.signalStore = undefined;
    this.boards.clear();
    return Promise.resolve();
  }

  get store(): SignalStore {
    if (!this.signalStore) throw new ServiceError('unavailable', 'the academy is not available: the node is not running or its database could not be opened');
    return this.signalStore;
  }

  /** Sync counters (tests). */
  get syncStats(): AcademySync['stats'] | undefined {
    return this.sync?.stats;
  }

  /** Pulls signals from one peer, or from every peer that is up. */
  syncNow(nodeId?: string): void {
    for (const peer of nodeId ? [nodeId] : this.options.transport.upPeers()) this.sync?.pull(peer);
  }

  // ---------------------------------------------------------------- API

  /** A thumbs up/down (or `null`: taken back) from this node's human on a persona message. */
  rate(params: AcademyRateParams): Signal | null {
    if (typeof params !== 'object' || params === null) throw new ServiceError('invalid', 'the rating has no parameters');
    const roomId = roomIdCheck(params.roomId, 'the room id');
    const messageId = messageIdCheck(params.messageId, 'the message id');
    const rating = params.rating;
    if (rating !== 'up' && rating !== 'down' && rating !== null) throw new ServiceError('invalid', 'a rating is "up", "down" or null');
    const category = params.category ?? 'technical';
    if (!signalCategories.includes(category)) throw new ServiceError('invalid', `"${String(category)}" is not a category (${signalCategories.join(', ')})`);
    if (params.reason !== undefined && (typeof params.reason !== 'string' || params.reason.length > academyLimits.maxReasonChars)) {
      throw new ServiceError('invalid', `the reason must be text of at most ${academyLimits.maxReasonChars} characters`);
    }
    const rooms = this.options.rooms;
    if (!rooms) throw new ServiceError('unavailable', 'rooms are not available, so messages cannot be rated');
    const message = rooms.message(roomId, messageId);
    if (!message) throw new ServiceError('not-found', `message ${messageId} is not in room "${roomId}"`);
    if (message.author.kind !== 'persona') throw new ServiceError('invalid', 'only persona messages can be rated');
    if (typeof params.persona === 'string' && params.persona !== participantKey(message.author)) {
      throw new ServiceError('invalid', `message ${messageId} was written by ${participantKey(message.author)}, not ${params.persona.slice(0, 120)}`);
    }
    const persona: PersonaRef = { nodeId: message.author.nodeId, personaId: message.author.participantId, name: message.author.displayName };
    const slot = `thumbs:${roomId}/${messageId}`;
    const previous = this.store.latestInSlot(personaKey(persona), this.nodeId, slot);
    if (rating === null && (!previous || previous.withdrawn)) return null;
    const prompt = message.replyTo ? rooms.message(roomId, message.replyTo) : undefined;
    const context: SignalContext = { input: clip(prompt && !prompt.deleted ? prompt.text : ''), actual: clip(message.text) };
    return this.record(
      {
        persona,
        room: roomId,
        messageId,
        ...(message.replyTo ? { promptId: message.replyTo } : {}),
        category,
        value: rating === 'up' ? 1 : rating === 'down' ? -1 : 0,
        source: 'thumbs',
        ...(params.reason ? { reason: params.reason } : {}),
        context,
        slot,
        ...(rating === null ? { withdrawn: true } : {}),
      },
      previous?.ts,
    );
  }

  /** Signs, stores and publishes a signal recorded on this node. */
  record(input: RecordSignalInput, notBefore?: number): Signal {
    if (!this.running) throw new ServiceError('unavailable', 'the academy is not running');
    // A replacement must sort after what it replaces, even within one millisecond.
    const replaces = notBefore ?? (input.slot === undefined ? undefined : this.store.latestInSlot(personaKey(input.persona), this.nodeId, input.slot)?.ts);
    const ts = Math.max(Math.floor(this.clock.now()), replaces === undefined ? 0 : replaces + 1);
    const context: SignalContext = { input: clip(input.context.input ?? '') };
    for (const field of ['expected', 'actual', 'suggestion'] as const) {
      const text = input.context[field];
      if (typeof text === 'string') context[field] = clip(text);
    }
    const content = { ...input, context, ts } as Parameters<SignalAuthenticator['sign']>[0];
    for (const key of Object.keys(content) as (keyof typeof content)[]) if (content[key] === undefined) delete content[key];
    const signal = this.authenticator.sign(content);
    const problem = signalProblem(signal);
    if (problem) throw new ServiceError('invalid', `the signal is malformed: ${problem}`);
    if (this.store.add([signal]).length > 0) {
      this.options.transport.publish(academyTopics.signals, signal);
      this.changed(signal);
    }
    return signal;
  }

  /** The leaderboard (cached until the next signal or latency sample); with `before`, as it was from the signals dated before then. */
  leaderboard(category?: SignalCategory, before?: number): Leaderboard {
    if (category !== undefined && !signalCategories.includes(category)) throw new ServiceError('invalid', `"${String(category)}" is not a category (${signalCategories.join(', ')})`);
    if (before !== undefined) {
      if (typeof before !== 'number' || !Number.isFinite(before)) throw new ServiceError('invalid', 'before must be a time in ms');
      const earlier = this.store.all().filter((signal) => signal.ts < before);
      return computeLeaderboard(earlier, this.store.latencies().filter((sample) => sample.ts < before), { ...this.options.scores, ...(category ? { category } : {}) });
    }
    const cacheKey = category ?? '';
    const cached = this.boards.get(cacheKey);
    if (cached) return cached;
    try {
      collectLatencies(this.options.store.db, this.store);
    } catch (error) {
      this.logger.debug(`persona reply times not collected: ${String(error)}`);
    }
    const board = computeLeaderboard(this.store.all(), this.store.latencies(), { ...this.options.scores, ...(category ? { category } : {}) });
    this.boards.set(cacheKey, board);
    return board;
  }

  /** The signals about one persona, newest first. */
  signals(params: AcademySignalsParams): Signal[] {
    if (typeof params?.persona !== 'string' || params.persona.length > 300) throw new ServiceError('invalid', 'persona must be a persona key (nodeId/personaId)');
    if (params.category !== undefined && !signalCategories.includes(params.category)) throw new ServiceError('invalid', `"${String(params.category)}" is not a category`);
    const limit = Math.min(Math.max(Math.floor(Number(params.limit ?? 100)) || 100, 1), 1000);
    const before = params.before === undefined ? undefined : Number(params.before);
    return this.store
      .query({ personaKey: params.persona, ...(params.category ? { category: params.category } : {}), ...(before !== undefined && Number.isFinite(before) ? { before } : {}) }, limit)
      .reverse();
  }

  /** Writes training data to `params.path` (JSONL, replaced atomically). */
  exportTo(params: AcademyExportParams): ExportSummary {
    if (!exportFormats.includes(params?.format)) throw new ServiceError('invalid', `the format is one of ${exportFormats.join(', ')}`);
    if (typeof params.path !== 'string' || !isAbsolute(params.path)) throw new ServiceError('invalid', 'the export path must be absolute');
    const { lines, summary } = exportTrainingData(dbExportSource(this.options.store.db), params.format, {
      ...(params.persona ? { persona: params.persona } : {}),
      ...(params.room ? { room: params.room } : {}),
      ...(typeof params.since === 'number' ? { since: params.since } : {}),
    });
    const temporary = `${params.path}.tmp-${process.pid}`;
    try {
      writeFileSync(temporary, lines.map((line) => `${line}\n`).join(''));
      renameSync(temporary, params.path);
    } catch (error) {
      // The path is the user's choice (a missing folder, a folder, no permission): theirs to fix.
      rmSync(temporary, { force: true });
      throw new ServiceError('invalid', `the export could not be written to ${params.path}: ${describeError(error)}`);
    }
    this.logger.info(`exported ${summary.written} ${params.format} line(s) to ${params.path}`);
    return summary;
  }

  // ---------------------------------------------------------------- internals

  private changed(signal?: Signal): void {
    this.boards.clear();
    if (signal) this.emit('signal', signal);
  }

  private onLive(message: PortMessage): void {
    const body = message.body as Partial<Signal> | null;
    // Live signals come from their signer; relayed copies travel by sync.
    if (body?.signer !== message.from) {
      this.logger.debug(`dropped a live signal from ${message.from.slice(0, 7)} signed by ${String(body?.signer).slice(0, 7)}`);
      return;
    }
    this.applyReceived([body], message.from);
  }

  /** Checks and stores received signals; returns how many were new. */
  private applyReceived(values: unknown[], from: string): number {
    if (!this.running) return 0;
    const valid: Signal[] = [];
    for (const value of values) {
      const problem = signalProblem(value);
      if (problem) {
        this.logger.warn(`dropped a signal from ${from.slice(0, 7)}: ${problem}`);
        continue;
      }
      const signal = value as Signal;
      if (this.store.has(signal.id)) continue;
      if (signal.ts > this.clock.now() + (this.options.maxFutureMs ?? 86_400_000)) {
        this.logger.warn(`dropped signal ${signal.id.slice(0, 12)} from ${from.slice(0, 7)}: dated ${new Date(signal.ts).toISOString()}, ahead of this node's clock (is the signer's clock wrong?)`);
        continue;
      }
      if (!verifySignal(signal)) {
        this.logger.warn(`dropped signal ${signal.id.slice(0, 12)} from ${from.slice(0, 7)}: it is not signed by its signer or does not match its id`);
        continue;
      }
      valid.push(signal);
    }
    const fresh = this.store.add(valid);
    for (const signal of fresh) this.changed(signal);
    return fresh.length;
  }

  /** Any message may be a persona reply or the late prompt of one: the next leaderboard looks again. */
  private noteMessage(): void {
    if (this.running) this.boards.clear();
  }
}
