/**
 * Rooms: the chat of the mesh on this node. Owns the room event log, joins and leaves, history,
 * messages and their edits, deletions and reactions, typing indicators, presence and the
 * anti-entropy sync with peers. The extension reaches it through rpcHandlers.ts; personas and
 * other components call its methods directly, passing `as` to speak as a local persona.
 *
 * Events of a room travel on `/chat/room/{roomId}/events/{eventType}`; this node subscribes only
 * to the rooms it has joined. Presence travels on the fast lane (`/presence/participants`),
 * re-announced every `presenceIntervalMs`.
 *
 * A facade over the parts by role, which share a RoomsContext (context.ts): the intake of other
 * nodes' events (intake.ts), this node's own writes (localWrites.ts), joins, leaves and the room
 * list (membership.ts) and presence (presenceLane.ts). It owns the log, the sync and the mesh
 * subscriptions but those of the joined rooms; start() and stop() open and free them.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { topics } from '../../../protocol/mesh';
import {
  defaultRoomId,
  roomLimits,
  roomTopics,
  roomWireLimits,
  type Author,
  type ChatMessage,
  type LocalParticipant,
  type Participant,
  type PresenceState,
  type RoomSummary,
  type TypingEvent,
} from '../../../protocol/rooms';
import type { HistoryPage, HistoryParams } from '../../../protocol/roomsRpc';
import type { Db } from '../store/database';
import { ServiceError } from '../../../protocol/errors';
import type { RoomsContext, RoomsEvents, SendOptions } from './context';
import { EventLog, type ApplyOutcome } from './eventLog';
import { HybridClock } from './hlc';
import { RoomIntake } from './intake';
import { LocalWrites } from './localWrites';
import { Membership } from './membership';
import { OwnNumbering } from './ownNumbering';
import { PresenceTable } from './presence';
import { PresenceLane } from './presenceLane';
import { LimitReport, scaledAuthorLimits, type AuthorLimits } from './authorLimits';
import type { EventAuthenticator } from './signing';
import { RoomSync, type SyncOptions } from './sync';
import type { MeshPort } from '../kernel/meshPort';
import { defaultTypingTtlMs, TypingTable } from './typing';
import { requireMessageId, requireRoomId } from './validate';

export interface RoomsOptions {
  /** The node's store; its `db` is read at start. */
  store: { readonly db: Db };
  transport: MeshPort;
  /** Name shown for this node's human participant (`user`). */
  displayName: string;
  clock?: Clock;
  logger?: Logger;
  /** Presence re-announcement period. Default 10 s; peers expire it after 3.5 periods. */
  presenceIntervalMs?: number;
  typingTtlMs?: number;
  sync?: SyncOptions;
  /** Remote timestamps further ahead than this do not move our clock. Default 60 s. */
  maxClockDriftMs?: number;
  /** Messages per participant per minute. Default roomLimits.maxMessagesPerMinute (benchmarks raise it). */
  maxMessagesPerMinute?: number;
  /** Longest wait, after start, for a peer to confirm our numbering before our events go out anyway. Default 3 s. */
  numberingWaitMs?: number;
  /**
   * Signs this node's events and checks received ones (`identityAuthenticator(identity)`). When set,
   * a received event without a valid signature of its origin is dropped. Tests may leave it out.
   */
  authenticator?: EventAuthenticator;
}

export const humanParticipantId = 'user';
/** Per-author counts are kept this long: older events arriving by sync are counted again from zero. */
const limitMemoryMs = 30 * 24 * 3600_000;
const maxHistoryLimit = 500;
const typingSendIntervalMs = 1000;

export class Rooms extends EventEmitter<RoomsEvents> implements Component {
  readonly name = 'rooms';
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly hlc: HybridClock;
  private readonly presence: PresenceTable;
  private readonly typingTable: TypingTable;
  private readonly limits: AuthorLimits;
  private readonly limitReport: LimitReport;
  private readonly numbering: OwnNumbering;
  private readonly typingTtlMs: number;
  private readonly writes: LocalWrites;
  private readonly intake: RoomIntake;
  private readonly membership: Membership;
  private readonly presenceLane: PresenceLane;
  private eventLog: EventLog | undefined;
  private sync: RoomSync | undefined;
  private displayName: string;
  private readonly unsubscribe: (() => void)[] = [];
  private running = false;

  constructor(private readonly options: RoomsOptions) {
    super();
    this.nodeId = options.transport.localNodeId;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('rooms');
    this.hlc = new HybridClock({ now: () => this.clock.now(), maxDriftMs: options.maxClockDriftMs });
    this.presence = new PresenceTable(() => this.clock.monotonic());
    this.typingTable = new TypingTable(() => this.clock.monotonic());
    this.limits = scaledAuthorLimits(options.maxMessagesPerMinute ?? roomLimits.maxMessagesPerMinute);
    this.limitReport = new LimitReport(this.clock, this.limits, (line) => this.logger.warn(line));
    this.numbering = new OwnNumbering(this.nodeId, this.clock, options.numberingWaitMs ?? 3000, {
      publish: (event) => this.options.transport.publish(topics.chatRoomEvent(event.roomId, event.body.type), event),
      rewrite: (roomId, body) => {
        try {
          this.writes.appendAndPublish(roomId, body);
        } catch (error) {
          this.logger.warn(`could not write again an event of this node in "${roomId}": ${(error as Error).message}`);
        }
      },
    });
    this.typingTtlMs = options.typingTtlMs ?? defaultTypingTtlMs;
    this.displayName = options.displayName.trim().slice(0, roomWireLimits.maxNameChars) || this.nodeId.slice(0, 7);

    const context: RoomsContext = {
      nodeId: this.nodeId,
      clock: this.clock,
      logger: this.logger,
      transport: options.transport,
      log: () => this.log,
      sync: () => this.sync,
      running: () => this.running,
      message: (message) => this.emit('message', message),
      roomsChanged: () => this.emitRoomsChanged(),
      notify: (outcome) => this.notify(outcome),
    };
    const localAuthor = (as?: LocalParticipant) => this.localAuthor(as);
    // The writes and the intake move one hybrid clock and hold back or renumber one set of our events.
    const own = { hlc: this.hlc, numbering: this.numbering, authenticator: options.authenticator };
    this.writes = new LocalWrites({ ...context, ...own, localAuthor });
    this.intake = new RoomIntake({
      ...context,
      ...own,
      limitReport: this.limitReport,
      typingTable: this.typingTable,
      refused: (refusal) => this.emit('refused', refusal),
      typing: (event) => this.emit('typing', event),
    });
    this.membership = new Membership({ ...context, presence: this.presence, writes: this.writes, intake: this.intake, localAuthor });
    this.presenceLane = new PresenceLane({ ...context, presence: this.presence, intervalMs: options.presenceIntervalMs ?? 10_000, localAuthor });
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    const log = new EventLog(this.options.store.db, this.nodeId, this.limits);
    this.eventLog = log;
    log.pruneLimits(this.clock.now() - limitMemoryMs);
    // Our own timestamps keep rising across restarts, even if the wall clock was set back.
    const newest = log.maxLocalHlc();
    if (newest) this.hlc.restore(newest);
    this.running = true;
    const transport = this.options.transport;

    this.presence.setLocal(this.humanAuthor(), 'online');
    if (log.ensureRoom(defaultRoomId, defaultRoomId, this.clock.now())) log.setJoined(defaultRoomId, true);
    for (const room of log.rooms()) if (room.joined) this.membership.subscribeRoom(room.id);
    if (!this.membership.isMember(defaultRoomId, this.humanAuthor()) && log.room(defaultRoomId)?.joined) this.writes.appendAndPublish(defaultRoomId, { type: 'joined', author: this.humanAuthor() });

    this.unsubscribe.push(
      transport.subscribe(roomTopics.presence, (message) => this.presenceLane.onPresence(message)),
      transport.subscribe(roomTopics.announce, (message) => this.membership.onAnnounce(message)),
      // A new neighbour hears our presence at once; the rest of the mesh has it already.
      transport.onPeerUp((nodeId) => this.presenceLane.announceTo(nodeId)),
      transport.onPeerDown((nodeId) => this.presenceLane.onNodeDown(nodeId)),
    );
    this.sync = new RoomSync(
      {
        log,
        joinedRooms: () => this.log.rooms().filter((room) => room.joined).map((room) => room.id),
        applyBatch: (events, from) => {
          const before = this.limitReport.total;
          const fresh = this.intake.applyReceived(events, from, false);
          return { fresh, limited: this.limitReport.total - before };
        },
        learnRooms: (roomIds) => this.membership.learnRooms(roomIds),
        servable: (event) => this.numbering.servable(event),
        caughtUp: () => this.numbering.confirm(),
        summary: (roomIds) => this.numbering.claim(log.summary(roomIds)),
      },
      transport,
      this.clock,
      this.logger.child('sync'),
      this.options.sync,
    );
    this.numbering.start();
    this.sync.start();
    this.presenceLane.start();
    this.logger.info(`rooms ready: ${log.rooms().filter((r) => r.joined).length} joined`);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.presenceLane.stop();
    this.running = false;
    this.numbering.stop();
    this.limitReport.flush();
    this.sync?.stop();
    this.sync = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.membership.unsubscribeRooms();
    this.eventLog = undefined;
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- API

  /** This node's human participant, or `as` (a persona hosted here). */
  localAuthor(as?: LocalParticipant): Author {
    if (!as) return this.humanAuthor();
    if (!as.participantId || as.participantId.includes('/') || as.participantId.length > roomWireLimits.maxNameChars) {
      throw new ServiceError('invalid', `"${as.participantId}" is not a valid participant id`);
    }
    return { nodeId: this.nodeId, participantId: as.participantId, displayName: as.displayName.slice(0, roomWireLimits.maxNameChars), kind: as.kind };
  }

  /** Renames this node's human participant (announced with the next presence). */
  setDisplayName(name: string): void {
    this.displayName = name.trim().slice(0, roomWireLimits.maxNameChars) || this.displayName;
    const me = this.presence.lookup(this.humanAuthor());
    this.presence.setLocal(this.humanAuthor(), me.presence, me.statusText);
    this.presenceLane.announce();
  }

  /** Every room this node knows: joined, or seen on the mesh. */
  list(): RoomSummary[] {
    return this.membership.list();
  }

  room(roomId: string): RoomSummary {
    return this.membership.room(roomId);
  }

  /** Joins a room (creating it mesh-wide if new). Joining twice changes nothing. */
  join(roomId: string, as?: LocalParticipant): RoomSummary {
    return this.membership.join(roomId, as);
  }

  /** Leaves a room; the history stays on disk. The node unsubscribes when no local participant is left. */
  leave(roomId: string, as?: LocalParticipant): void {
    this.membership.leave(roomId, as);
  }

  history(params: HistoryParams): HistoryPage {
    const roomId = requireRoomId(params.roomId);
    if (!this.log.room(roomId)) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    const limit = Math.min(Math.max(Math.floor(Number(params.limit) || 50), 1), maxHistoryLimit);
    let before: ChatMessage | undefined;
    if (params.before !== undefined) {
      before = this.log.message(roomId, requireMessageId(params.before));
      if (!before) throw new ServiceError('not-found', `message ${params.before} is not in room "${roomId}"`);
    }
    const page = this.log.history(roomId, limit, before);
    return { roomId, messages: page.messages, hasMore: page.hasMore };
  }

  message(roomId: string, messageId: string): ChatMessage | undefined {
    return this.log.message(requireRoomId(roomId), requireMessageId(messageId));
  }

  send(params: SendOptions, as?: LocalParticipant): ChatMessage {
    return this.writes.send(params, as);
  }

  edit(roomId: string, messageId: string, text: string, as?: LocalParticipant): ChatMessage {
    return this.writes.edit(roomId, messageId, text, as);
  }

  delete(roomId: string, messageId: string, as?: LocalParticipant): void {
    this.writes.delete(roomId, messageId, as);
  }

  react(roomId: string, messageId: string, emoji: string, add: boolean, as?: LocalParticipant): ChatMessage {
    return this.writes.react(roomId, messageId, emoji, add, as);
  }

  /** The local participant is typing: tells the room (fast lane, throttled). */
  typing(roomId: string, as?: LocalParticipant): void {
    const room = this.writes.requireJoined(roomId);
    const author = this.localAuthor(as);
    if (!this.typingTable.shouldSend(room, author, typingSendIntervalMs)) return;
    const event: TypingEvent = { roomId: room, author, ttlMs: this.typingTtlMs };
    this.options.transport.publish(topics.chatRoomEvent(room, 'typing'), event);
  }

  /** Remote participants typing in a room now. */
  typingIn(roomId: string): TypingEvent[] {
    return this.typingTable.typing(roomId);
  }

  setPresence(presence: PresenceState, statusText?: string, as?: LocalParticipant): Participant {
    return this.presenceLane.set(presence, statusText, as);
  }

  /** Participants who joined a room (and have not left), with their presence. */
  participants(roomId: string): Participant[] {
    return this.membership.participants(roomId);
  }

  /**
   * The name of the person at each other node, from the rooms they joined (as their presence
   * announces it, while live): it names the nodes this one hears only through relays.
   */
  humanNames(): Map<string, string> {
    return this.presenceLane.humanNames();
  }

  /** Missing ranges of a room's event log, per origin. */
  gaps(roomId: string): { origin: string; from: number; to: number }[] {
    return this.log.gaps(requireRoomId(roomId));
  }

  /** Pulls from one peer, or from every peer that is up. */
  syncNow(nodeId?: string): void {
    for (const peer of nodeId ? [nodeId] : this.options.transport.upPeers()) this.sync?.pull(peer, { again: true });
  }

  /** Received events dropped over their author's limit since start. */
  get limitedTotal(): number {
    return this.limitReport.total;
  }

  /** Own events written again after the mesh turned out to hold their numbers. */
  get renumbered(): number {
    return this.numbering.renumbered;
  }

  /** Sync counters (tests, benchmark). */
  get syncStats(): RoomSync['stats'] | undefined {
    return this.sync?.stats;
  }

  get log(): EventLog {
    if (!this.eventLog) throw new ServiceError('unavailable', 'rooms are not available: the node is not running or its database could not be opened');
    return this.eventLog;
  }

  // ---------------------------------------------------------------- internals

  private humanAuthor(): Author {
    return { nodeId: this.nodeId, participantId: humanParticipantId, displayName: this.displayName, kind: 'human' };
  }

  private notify(outcome: ApplyOutcome): void {
    for (const message of outcome.messages) this.emit('message', message);
    if (outcome.membersChanged) this.emitRoomsChanged();
  }

  private emitRoomsChanged(): void {
    if (!this.running || this.listenerCount('roomsChanged') === 0) return;
    this.emit('roomsChanged', this.list());
  }
}
