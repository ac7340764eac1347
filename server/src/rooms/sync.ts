/**
 * Anti-entropy between two nodes. A node *pulls* from a peer by sending it a summary of the rooms
 * it has joined (origin → highest contiguous roomSeq held); the peer answers with one bounded
 * batch of the events above those marks, saying whether it holds more; the puller applies the
 * batch and pulls again until nothing is left. Pulls happen when a peer comes up, when a received
 * event reveals a gap, when a peer's summary shows it holds something we lack, and every
 * `intervalMs` from one peer in turn. At most one pull per peer is in flight; a reason to pull that
 * comes meanwhile is remembered and pulls again as soon as the answer is in. A pull without an
 * answer is asked again at once with a longer wait (2 s, 4 s, ... up to 30 s): one lost request
 * must not leave a gap open until the periodic pull.
 *
 * A batch may carry events above a gap of the puller (the peer lacks the gap too): the puller keeps
 * a per-chain cursor of what it was sent so the next request moves past them and a chain always
 * ends.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { roomTopics, type RoomEvent, type RoomSyncMessage } from '../../../protocol/rooms';
import type { EventLog } from './eventLog';
import type { MeshPort, PortMessage } from '../kernel/meshPort';
import { isOrigin, isRoomId } from './validate';

export interface SyncOptions {
  /** Events per batch. Default 500. */
  maxBatchEvents?: number;
  /** Body bytes per batch (about). Default 512 KiB. */
  maxBatchBytes?: number;
  /** Wait for the answer to a first pull before asking again. Doubles each time, up to `maxRequestTimeoutMs`. Default 2 s. */
  requestTimeoutMs?: number;
  /** Longest wait for an answer. Default 30 s. */
  maxRequestTimeoutMs?: number;
  /** Periodic pull from one peer in turn; 0 disables. Default 30 s. */
  intervalMs?: number;
  /** Wait after a gap is seen before pulling (gathers several gaps). Default 200 ms. */
  gapDelayMs?: number;
  /** No pulls from a peer for this long after most of a batch it sent was over its authors' limits. Default 60 s. */
  floodPauseMs?: number;
}

export interface SyncHost {
  readonly log: EventLog;
  /** Rooms whose events this node wants. */
  joinedRooms(): string[];
  /** Validates and applies events received from `from`: how many were new, and how many of those were over their authors' limits. */
  applyBatch(events: unknown[], from: string): { fresh: number; limited: number };
  /** Rooms a peer mentioned (joined there), so they can be listed here. */
  learnRooms(roomIds: string[], from: string): void;
  /** False for an event this node holds but must not pass on yet. */
  servable(event: RoomEvent): boolean;
  /** origin → highest contiguous roomSeq held, per room: what a pull asks after. */
  summary(roomIds: string[]): Record<string, Record<string, number>>;
  /** A pull from `from` brought everything it had for us. */
  caughtUp(from: string): void;
}

interface Pull {
  requestId: number;
  timer: TimerHandle;
  /** Asked for again while in flight (e.g. a room was joined): pull once more when it ends. */
  again?: boolean;
  /** origin → roomSeq already sent to us in this chain, per room. */
  cursor: Record<string, Record<string, number>>;
}

const maxRoomsPerSummary = 500;
const maxOriginsPerRoom = 2000;

export class RoomSync {
  private readonly pulls = new Map<string, Pull>();
  private readonly chains = new Map<string, Record<string, Record<string, number>>>();
  /** Unanswered pulls in a row per peer: the next waits longer. Cleared by any answer. */
  private readonly retries = new Map<string, number>();
  /** Peers that sent a flood, with the monotonic time their pause ends. */
  private readonly paused = new Map<string, number>();
  private readonly gapTimers = new Map<string, TimerHandle>();
  private interval: TimerHandle | undefined;
  private nextRequestId = 1;
  private turn = 0;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly maxRequestTimeoutMs: number;
  private readonly gapDelayMs: number;
  private readonly unsubscribe: (() => void)[] = [];
  /** Counters for tests and the benchmark. */
  readonly stats = { pullsSent: 0, pullsTimedOut: 0, batchesServed: 0, eventsServed: 0, eventsReceived: 0, eventsNew: 0 };

  constructor(
    private readonly host: SyncHost,
    private readonly transport: MeshPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: SyncOptions = {},
  ) {
    this.maxBatchEvents = options.maxBatchEvents ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
    this.maxRequestTimeoutMs = Math.max(this.requestTimeoutMs, options.maxRequestTimeoutMs ?? 30_000);
    this.gapDelayMs = options.gapDelayMs ?? 200;
  }

  start(): void {
    this.unsubscribe.push(
      this.transport.subscribe(roomTopics.sync(this.transport.localNodeId), (message) => this.onDirect(message)),
      this.transport.onPeerUp((nodeId) => this.pull(nodeId)),
      this.transport.onPeerDown((nodeId) => this.forget(nodeId)),
    );
    const intervalMs = this.options.intervalMs ?? 30_000;
    if (intervalMs > 0) this.interval = this.clock.setInterval(() => this.periodic(), intervalMs);
    for (const peer of this.transport.upPeers()) this.pull(peer);
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.interval?.cancel();
    this.interval = undefined;
    for (const nodeId of [...this.pulls.keys(), ...this.gapTimers.keys()]) this.forget(nodeId);
    for (const timer of this.gapTimers.values()) timer.cancel();
    this.gapTimers.clear();
  }

  /** True while a pull to `nodeId` waits for its answer. */
  pulling(nodeId: string): boolean {
    return this.pulls.has(nodeId);
  }

  /** Asks `nodeId` for what we lack in our joined rooms (unless a pull is already in flight). */
  pull(nodeId: string, options: { again?: boolean } = {}): void {
    const inFlight = this.pulls.get(nodeId);
    if (inFlight) {
      if (options.again) inFlight.again = true;
      return;
    }
    if (nodeId === this.transport.localNodeId) return;
    const pausedUntil = this.paused.get(nodeId);
    if (pausedUntil !== undefined) {
      if (this.clock.monotonic() < pausedUntil) return;
      this.paused.delete(nodeId);
    }
    const rooms = this.host.joinedRooms();
    if (rooms.length === 0) return;
    const summary = this.host.summary(rooms);
    const cursor = this.chains.get(nodeId) ?? {};
    const requestId = this.nextRequestId++;
    const waitMs = Math.min(this.requestTimeoutMs * 2 ** (this.retries.get(nodeId) ?? 0), this.maxRequestTimeoutMs);
    const timer = this.clock.setTimeout(() => this.timedOut(nodeId, requestId, waitMs), waitMs);
    this.pulls.set(nodeId, { requestId, timer, cursor });
    this.stats.pullsSent++;
    const message: RoomSyncMessage = { kind: 'summary', requestId, rooms: summary };
    if (Object.keys(cursor).length > 0) message.after = cursor;
    this.transport.sendTo(nodeId, roomTopics.sync(nodeId), message);
  }

  /**
   * A received event sat above a gap: pull from its sender soon (from every peer when the sender
   * is not one: the event came over the overlay). A pull in flight pulls once more when it ends.
   */
  gapSeen(nodeId: string): void {
    const inFlight = this.pulls.get(nodeId);
    if (inFlight) {
      inFlight.again = true;
      return;
    }
    if (this.gapTimers.has(nodeId)) return;
    this.gapTimers.set(
      nodeId,
      this.clock.setTimeout(() => {
        this.gapTimers.delete(nodeId);
        const peers = this.transport.upPeers();
        if (peers.includes(nodeId)) this.pull(nodeId);
        else for (const peer of peers) this.pull(peer, { again: true });
      }, this.gapDelayMs),
    );
  }

  private timedOut(nodeId: string, requestId: number, waitedMs: number): void {
    const pull = this.pulls.get(nodeId);
    if (pull?.requestId !== requestId) return;
    this.pulls.delete(nodeId);
    this.chains.delete(nodeId);
    this.stats.pullsTimedOut++;
    this.retries.set(nodeId, (this.retries.get(nodeId) ?? 0) + 1);
    this.logger.debug(`sync pull to ${nodeId.slice(0, 7)} unanswered after ${waitedMs} ms; asking again`);
    if (this.transport.upPeers().includes(nodeId)) this.pull(nodeId);
  }

  private periodic(): void {
    const peers = this.transport.upPeers().sort();
    if (peers.length === 0) return;
    this.pull(peers[this.turn++ % peers.length]!);
  }

  private forget(nodeId: string): void {
    this.pulls.get(nodeId)?.timer.cancel();
    this.pulls.delete(nodeId);
    this.chains.delete(nodeId);
    this.retries.delete(nodeId);
    this.gapTimers.get(nodeId)?.cancel();
    this.gapTimers.delete(nodeId);
  }

  private onDirect(message: PortMessage): void {
    const body = message.body as Partial<RoomSyncMessage> | null;
    if (typeof body !== 'object' || body === null || typeof body.requestId !== 'number') return;
    if (body.kind === 'summary') this.serve(message.from, body.requestId, body.rooms, body.after);
    else if (body.kind === 'events') this.receive(message.from, body.requestId, body.events, body.more === true);
  }

  /** Answers a pull with one bounded batch. */
  private serve(from: string, requestId: number, rooms: unknown, after: unknown): void {
    if (typeof rooms !== 'object' || rooms === null) return;
    const entries = Object.entries(rooms as Record<string, unknown>).filter(([roomId]) => isRoomId(roomId)).slice(0, maxRoomsPerSummary);
    const sent = typeof after === 'object' && after !== null ? (after as Record<string, unknown>) : {};
    const events: RoomEvent[] = [];
    let bytes = 0;
    let more = false;
    let theyHaveMore = false;
    const joined = new Set(this.host.joinedRooms());
    for (const [roomId, rawHeads] of entries) {
      const heads = parseHeads(rawHeads);
      // Their contiguous mark above ours means they hold at least our next event: worth a pull.
      if (joined.has(roomId) && !theyHaveMore) {
        for (const [origin, seq] of Object.entries(heads)) if (seq > this.host.log.head(roomId, origin).contiguous) theyHaveMore = true;
      }
      if (more) continue;
      const from = { ...heads };
      for (const [origin, seq] of Object.entries(parseHeads(sent[roomId]))) from[origin] = Math.max(from[origin] ?? 0, seq);
      const batch = this.host.log.eventsAfter(roomId, from, this.maxBatchEvents - events.length, this.maxBatchBytes - bytes);
      for (const event of batch.events) {
        if (!this.host.servable(event)) continue;
        events.push(event);
        bytes += JSON.stringify(event.body).length + 64;
      }
      if (batch.more || events.length >= this.maxBatchEvents) more = true;
    }
    this.host.learnRooms(entries.map(([roomId]) => roomId), from);
    this.stats.batchesServed++;
    this.stats.eventsServed += events.length;
    this.transport.sendTo(from, roomTopics.sync(from), { kind: 'events', requestId, events, more } satisfies RoomSyncMessage, { priority: 'bulk' });
    if (theyHaveMore) this.pull(from);
  }

  private receive(from: string, requestId: number, events: unknown, more: boolean): void {
    if (!Array.isArray(events)) return;
    this.stats.eventsReceived += events.length;
    const { fresh, limited } = this.host.applyBatch(events, from);
    this.stats.eventsNew += fresh;
    this.retries.delete(from);
    const pull = this.pulls.get(from);
    if (!pull || pull.requestId !== requestId) return;
    pull.timer.cancel();
    this.pulls.delete(from);
    // Pulling the rest of a flood would only store its keys, as fast as the peer can send them.
    if (limited > 0 && limited * 2 >= events.length) {
      const pauseMs = this.options.floodPauseMs ?? 60_000;
      this.paused.set(from, this.clock.monotonic() + pauseMs);
      this.chains.delete(from);
      this.logger.info(`no sync from ${from.slice(0, 7)} for ${pauseMs / 1000} s: ${limited} of the ${events.length} events it sent were over their authors' limits`);
      return;
    }
    if (!more || events.length === 0) {
      this.chains.delete(from);
      this.host.caughtUp(from);
      if (pull.again) this.pull(from);
      return;
    }
    // Remember what this chain was sent so the next request moves past it even above a gap.
    const cursor = pull.cursor;
    for (const value of events as Partial<RoomEvent>[]) {
      if (!value || !isRoomId(value.roomId) || !isOrigin(value.origin) || !Number.isSafeInteger(value.roomSeq)) continue;
      const room = (cursor[value.roomId] ??= {});
      room[value.origin] = Math.max(room[value.origin] ?? 0, value.roomSeq!);
    }
    this.chains.set(from, cursor);
    this.pull(from);
    const next = this.pulls.get(from);
    if (pull.again && next) next.again = true;
  }
}

function parseHeads(value: unknown): Record<string, number> {
  const heads: Record<string, number> = {};
  if (typeof value !== 'object' || value === null) return heads;
  for (const [origin, seq] of Object.entries(value as Record<string, unknown>).slice(0, maxOriginsPerRoom)) {
    if (isOrigin(origin) && Number.isSafeInteger(seq)) heads[origin] = seq as number;
  }
  return heads;
}
