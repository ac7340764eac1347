/**
 * Rooms: the chat of the mesh on this node. Owns the room event log, joins and leaves, history,
 * messages and their edits, deletions and reactions, typing indicators, presence and the
 * anti-entropy sync with peers. The extension reaches it through rpcHandlers.ts; personas and
 * other components call its methods directly, passing `as` to speak as a local persona.
 *
 * Events of a room travel on `/chat/room/{roomId}/events/{eventType}`; this node subscribes only
 * to the rooms it has joined. Presence travels on the fast lane (`/presence/participants`),
 * re-announced every `presenceIntervalMs`.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { overLimit } from '../../../protocol/sizeLimit';
import { topics } from '../../../protocol/mesh';
import {
  defaultRoomId,
  participantKey,
  roomLimits,
  roomTopics,
  roomWireLimits,
  type Author,
  type ChatMessage,
  type CodeAttachment,
  type Participant,
  type ParticipantKind,
  type PresenceState,
  type RoomAnnouncement,
  type RoomEvent,
  type RoomEventBody,
  type RoomSummary,
  type TypingEvent,
} from '../../../protocol/rooms';
import type { HistoryPage, HistoryParams } from '../../../protocol/roomsRpc';
import type { Db } from '../store/database';
import { ServiceError } from '../../../protocol/errors';
import { EventLog, type ApplyOutcome, type EventStatus } from './eventLog';
import { HybridClock } from './hlc';
import { OwnNumbering } from './ownNumbering';
import { isPresenceState, PresenceTable } from './presence';
import { refreshIntervalMs } from '../kernel/refreshInterval';
import { LimitReport, limitKindOf, scaledAuthorLimits, type AuthorLimits } from './authorLimits';
import type { EventAuthenticator } from './signing';
import { RoomSync, type SyncOptions } from './sync';
import type { MeshPort, PortMessage } from '../kernel/meshPort';
import { defaultTypingTtlMs, TypingTable } from './typing';
import { checkRemoteEvent, isAttachment, isMessageId, messageLimitProblem, metadataProblem, requireMessageId, requireRoomId } from './validate';

/** A participant hosted by this node (the human at the window, or a persona). */
export interface LocalParticipant {
  participantId: string;
  displayName: string;
  kind: ParticipantKind;
}

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

export interface SendOptions {
  roomId: string;
  text: string;
  attachment?: CodeAttachment;
  replyTo?: string;
  mentions?: string[];
  metadata?: Record<string, unknown>;
}

export interface RoomsEvents {
  /** A message was added or changed (any room this node holds). */
  message: [ChatMessage];
  /** The room list, or a room's participants or their presence, changed. */
  roomsChanged: [RoomSummary[]];
  /** Someone on another node is typing. */
  typing: [TypingEvent];
  /** A received event broke a rule and was not applied (also logged). */
  refused: [{ event: RoomEvent; reason: string; from: string }];
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
  private readonly presenceIntervalMs: number;
  private readonly typingTtlMs: number;
  private eventLog: EventLog | undefined;
  private sync: RoomSync | undefined;
  private displayName: string;
  private readonly roomSubscriptions = new Map<string, () => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private presenceTimer: TimerHandle | undefined;
  private nextPresenceAt = 0;
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
          this.appendAndPublish(roomId, body);
        } catch (error) {
          this.logger.warn(`could not write again an event of this node in "${roomId}": ${(error as Error).message}`);
        }
      },
    });
    this.presenceIntervalMs = options.presenceIntervalMs ?? 10_000;
    this.typingTtlMs = options.typingTtlMs ?? defaultTypingTtlMs;
    this.displayName = options.displayName.trim().slice(0, roomWireLimits.maxNameChars) || this.nodeId.slice(0, 7);
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
    for (const room of log.rooms()) if (room.joined) this.subscribeRoom(room.id);
    if (!this.isMember(defaultRoomId, this.humanAuthor()) && log.room(defaultRoomId)?.joined) this.appendAndPublish(defaultRoomId, { type: 'joined', author: this.humanAuthor() });

    this.unsubscribe.push(
      transport.subscribe(roomTopics.presence, (message) => this.onPresence(message)),
      transport.subscribe(roomTopics.announce, (message) => this.onAnnounce(message)),
      // A new neighbour hears our presence at once; the rest of the mesh has it already.
      transport.onPeerUp((nodeId) => this.announcePresenceTo(nodeId)),
      transport.onPeerDown((nodeId) => {
        if (this.presence.nodeDown(nodeId)) this.emitRoomsChanged();
      }),
    );
    this.sync = new RoomSync(
      {
        log,
        joinedRooms: () => this.log.rooms().filter((room) => room.joined).map((room) => room.id),
        applyBatch: (events, from) => {
          const before = this.limitReport.total;
          const fresh = this.applyReceived(events, from, false);
          return { fresh, limited: this.limitReport.total - before };
        },
        learnRooms: (roomIds) => this.learnRooms(roomIds),
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
    this.presenceTimer = this.clock.setInterval(() => {
      if (this.presence.expire()) this.emitRoomsChanged();
      if (this.clock.monotonic() >= this.nextPresenceAt) this.announcePresence();
    }, this.presenceIntervalMs);
    this.announcePresence();
    this.logger.info(`rooms ready: ${log.rooms().filter((r) => r.joined).length} joined`);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.running) return Promise.resolve();
    // Say goodbye so peers show us offline at once instead of after the presence ttl.
    try {
      const participants = this.presence.localParticipants().map((p) => ({ ...p, presence: 'offline' as const }));
      this.options.transport.publish(roomTopics.presence, { nodeId: this.nodeId, participants, ttlMs: this.presenceTtlMs });
    } catch (error) {
      this.logger.debug(`presence goodbye not sent: ${String(error)}`);
    }
    this.running = false;
    this.presenceTimer?.cancel();
    this.presenceTimer = undefined;
    this.numbering.stop();
    this.limitReport.flush();
    this.sync?.stop();
    this.sync = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    for (const off of this.roomSubscriptions.values()) off();
    this.roomSubscriptions.clear();
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
    this.announcePresence();
  }

  /** Every room this node knows: joined, or seen on the mesh. */
  list(): RoomSummary[] {
    return this.log.rooms().map((room) => this.summaryOf(room.id));
  }

  room(roomId: string): RoomSummary {
    requireRoomId(roomId);
    if (!this.log.room(roomId)) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    return this.summaryOf(roomId);
  }

  /** Joins a room (creating it mesh-wide if new). Joining twice changes nothing. */
  join(roomId: string, as?: LocalParticipant): RoomSummary {
    requireRoomId(roomId);
    const author = this.localAuthor(as);
    const log = this.log;
    const created = log.ensureRoom(roomId, roomId, this.clock.now());
    const room = log.room(roomId)!;
    if (!room.joined) {
      log.setJoined(roomId, true);
      this.subscribeRoom(roomId);
      this.options.transport.publish(roomTopics.announce, { rooms: [{ id: roomId, name: room.name }] } satisfies RoomAnnouncement);
      for (const peer of this.options.transport.upPeers()) this.sync?.pull(peer, { again: true });
    }
    if (!this.isMember(roomId, author)) this.appendAndPublish(roomId, { type: 'joined', author });
    else if (created || !room.joined) this.emitRoomsChanged();
    return this.summaryOf(roomId);
  }

  /** Leaves a room; the history stays on disk. The node unsubscribes when no local participant is left. */
  leave(roomId: string, as?: LocalParticipant): void {
    requireRoomId(roomId);
    const author = this.localAuthor(as);
    const room = this.log.room(roomId);
    if (!room) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    if (this.isMember(roomId, author)) this.appendAndPublish(roomId, { type: 'left', author });
    const localLeft = this.log.members(roomId).some((m) => m.joined && m.author.nodeId === this.nodeId);
    if (!localLeft && room.joined) {
      this.log.setJoined(roomId, false);
      this.roomSubscriptions.get(roomId)?.();
      this.roomSubscriptions.delete(roomId);
      this.emitRoomsChanged();
    }
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
    const roomId = this.requireJoined(params.roomId);
    const author = this.localAuthor(as);
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '' && !params.attachment) throw new ServiceError('invalid', 'the message is empty');
    if (params.attachment !== undefined && !isAttachment(params.attachment)) throw new ServiceError('invalid', 'the code attachment is malformed (path, language, 1-based line range, content)');
    const limit = messageLimitProblem(text, params.attachment) ?? metadataProblem(params.metadata);
    if (limit) throw new ServiceError('too-large', limit);
    if (params.replyTo !== undefined && !isMessageId(params.replyTo)) throw new ServiceError('invalid', `"${String(params.replyTo).slice(0, 80)}" is not a message id`);
    const mentions = params.mentions ?? [];
    if (!Array.isArray(mentions) || mentions.length > roomWireLimits.maxMentions || !mentions.every((m) => typeof m === 'string' && m.length <= 300)) {
      throw new ServiceError('invalid', `mentions must be at most ${roomWireLimits.maxMentions} participant keys`);
    }
    const body: RoomEventBody = { type: 'message', author, text, mentions: [...mentions] };
    if (params.attachment) body.attachment = { ...params.attachment };
    if (params.replyTo) body.replyTo = params.replyTo;
    if (params.metadata) body.metadata = params.metadata;
    const { outcome } = this.appendAndPublish(roomId, body);
    return outcome.messages[0]!;
  }

  edit(roomId: string, messageId: string, text: string, as?: LocalParticipant): ChatMessage {
    const message = this.ownMessage(roomId, messageId, 'edit', as);
    if (typeof text !== 'string' || text.trim() === '') throw new ServiceError('invalid', 'the new text is empty (delete the message instead)');
    const limit = messageLimitProblem(text, undefined);
    if (limit) throw new ServiceError('too-large', limit);
    const { outcome } = this.appendAndPublish(message.roomId, { type: 'edit', messageId: message.id, author: this.localAuthor(as), text });
    return outcome.messages[0] ?? this.log.message(message.roomId, message.id)!;
  }

  delete(roomId: string, messageId: string, as?: LocalParticipant): void {
    const message = this.ownMessage(roomId, messageId, 'delete', as);
    this.appendAndPublish(message.roomId, { type: 'delete', messageId: message.id, author: this.localAuthor(as) });
  }

  react(roomId: string, messageId: string, emoji: string, add: boolean, as?: LocalParticipant): ChatMessage {
    const room = this.requireJoined(roomId);
    const message = this.log.message(room, requireMessageId(messageId));
    if (!message) throw new ServiceError('not-found', `message ${messageId} is not in room "${room}"`);
    if (message.deleted) throw new ServiceError('invalid', 'the message was deleted');
    if (typeof emoji !== 'string' || emoji.length === 0 || emoji.length > roomWireLimits.maxEmojiChars) throw new ServiceError('invalid', 'a reaction is one emoji (at most 32 characters)');
    const author = this.localAuthor(as);
    const has = message.reactions[emoji]?.includes(participantKey(author)) ?? false;
    if (has === Boolean(add)) return message;
    const { outcome } = this.appendAndPublish(room, { type: 'reaction', messageId: message.id, author, emoji, add: Boolean(add) });
    return outcome.messages[0] ?? message;
  }

  /** The local participant is typing: tells the room (fast lane, throttled). */
  typing(roomId: string, as?: LocalParticipant): void {
    const room = this.requireJoined(roomId);
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
    if (!isPresenceState(presence)) throw new ServiceError('invalid', `"${String(presence)}" is not a presence (online, away, busy, training, evolving, collaborating, offline)`);
    if (statusText !== undefined && typeof statusText !== 'string') throw new ServiceError('invalid', 'the status text must be text');
    if (statusText !== undefined && statusText.length > roomWireLimits.maxStatusTextChars) {
      throw new ServiceError('too-large', `the status text is ${overLimit(statusText.length, roomWireLimits.maxStatusTextChars, 'characters')}`);
    }
    const participant = this.presence.setLocal(this.localAuthor(as), presence, statusText);
    this.announcePresence();
    this.emitRoomsChanged();
    return participant;
  }

  /** Participants who joined a room (and have not left), with their presence. */
  participants(roomId: string): Participant[] {
    return this.log
      .members(requireRoomId(roomId))
      .filter((m) => m.joined)
      .map((m) => this.presence.lookup(m.author));
  }

  /**
   * The name of the person at each other node, from the rooms they joined (as their presence
   * announces it, while live): it names the nodes this one hears only through relays.
   */
  humanNames(): Map<string, string> {
    const names = new Map<string, string>();
    for (const room of this.log.rooms()) {
      for (const { author } of this.log.members(room.id)) {
        if (author.kind === 'human' && author.nodeId !== this.nodeId) names.set(author.nodeId, this.presence.lookup(author).displayName);
      }
    }
    return names;
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

  private get presenceTtlMs(): number {
    return Math.round(this.presenceRefreshMs * 3.5);
  }

  private humanAuthor(): Author {
    return { nodeId: this.nodeId, participantId: humanParticipantId, displayName: this.displayName, kind: 'human' };
  }

  private isMember(roomId: string, author: Author): boolean {
    const key = participantKey(author);
    return this.log.members(roomId).some((m) => m.joined && participantKey(m.author) === key);
  }

  private requireJoined(roomId: string): string {
    requireRoomId(roomId);
    const room = this.log.room(roomId);
    if (!room) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    if (!room.joined) throw new ServiceError('not-joined', `join room "${roomId}" first`);
    return roomId;
  }

  private ownMessage(roomId: string, messageId: string, action: 'edit' | 'delete', as?: LocalParticipant): ChatMessage {
    const room = this.requireJoined(roomId);
    const message = this.log.message(room, requireMessageId(messageId));
    if (!message) throw new ServiceError('not-found', `message ${messageId} is not in room "${room}"`);
    const author = this.localAuthor(as);
    if (participantKey(message.author) !== participantKey(author)) {
      throw new ServiceError('not-author', `only the author can ${action} this message (it was written by ${message.author.displayName || message.author.participantId})`);
    }
    if (message.deleted) throw new ServiceError('invalid', 'the message was deleted');
    return message;
  }

  private appendAndPublish(roomId: string, body: RoomEventBody): { event: RoomEvent; outcome: ApplyOutcome } {
    const authenticator = this.options.authenticator;
    const result = this.log.appendLocal(roomId, this.hlc.now(), body, authenticator && ((event) => authenticator.sign(event)));
    this.numbering.send(result.event);
    this.notify(result.outcome);
    return result;
  }

  /**
   * The mesh holds a different event of ours under a number we used: ours came from an older copy
   * of this node's database (ownNumbering.ts). Theirs takes the number, every node must agree on it.
   */
  private yieldNumber(theirs: RoomEvent): void {
    const mine = this.log.event(theirs.roomId, theirs.origin, theirs.roomSeq);
    if (!mine) return;
    this.notify(this.log.replaceOwn(theirs));
    this.numbering.lost(mine.event, mine.status === 'ok');
  }

  private notify(outcome: ApplyOutcome): void {
    for (const message of outcome.messages) this.emit('message', message);
    if (outcome.membersChanged) this.emitRoomsChanged();
  }

  private subscribeRoom(roomId: string): void {
    if (this.roomSubscriptions.has(roomId)) return;
    this.roomSubscriptions.set(
      roomId,
      this.options.transport.subscribe(topics.chatRoom(roomId), (message) => this.onRoomMessage(roomId, message)),
    );
  }

  private onRoomMessage(roomId: string, message: PortMessage): void {
    if (!this.running) return;
    const eventType = message.topic.slice(topics.chatRoom(roomId).length).split('/')[1];
    if (eventType === 'typing') {
      this.onTyping(roomId, message);
      return;
    }
    const body = message.body as Partial<RoomEvent> | null;
    if (body?.roomId !== roomId) {
      this.logger.debug(`dropped an event on ${message.topic} for another room`);
      return;
    }
    // Live events come from their origin; relayed copies of others' events travel by sync only.
    if (body.origin !== message.from) {
      this.logger.warn(`dropped an event from ${message.from.slice(0, 7)} claiming origin ${String(body.origin).slice(0, 7)}`);
      return;
    }
    this.applyReceived([body], message.from, true);
  }

  /** Validates and applies received events; returns how many were new. */
  private applyReceived(values: unknown[], from: string, live: boolean): number {
    if (!this.running) return 0;
    const accepted: { event: RoomEvent; status: EventStatus }[] = [];
    const conflicts: RoomEvent[] = [];
    for (const value of values) {
      const verdict = checkRemoteEvent(value);
      if (verdict.kind === 'drop') {
        this.logger.warn(`dropped a room event from ${from.slice(0, 7)}: ${verdict.reason}`);
        continue;
      }
      const { event } = verdict;
      if (this.log.has(event.roomId, event.origin, event.roomSeq)) {
        if (event.origin === this.nodeId && this.differsFromOurs(event)) conflicts.push(event);
        continue;
      }
      // Over the limit and sent by its origin itself (the session proved who that is): it will be
      // dropped, so a flood costs no signature check. Relayed, it must be genuine before its key
      // is kept, or a forger could void the real event's place.
      const dropping = verdict.kind === 'accept' && from === event.origin && !this.log.withinLimit(event);
      if (this.options.authenticator && !dropping && !this.options.authenticator.verify(event)) {
        this.logger.warn(`dropped ${describe(event)} from ${from.slice(0, 7)}: it is not signed by its origin`);
        continue;
      }
      if (verdict.kind === 'refuse') {
        this.logger.warn(`refused ${describe(verdict.event)} from ${from.slice(0, 7)}: ${verdict.reason}`);
        this.emit('refused', { event: verdict.event, reason: verdict.reason, from });
      } else if (verdict.kind === 'ignore') {
        this.logger.debug(`ignored ${describe(verdict.event)}: ${verdict.reason}`);
      }
      const status: EventStatus = verdict.kind === 'accept' ? 'ok' : verdict.kind === 'refuse' ? 'refused' : 'ignored';
      accepted.push({ event: verdict.event, status });
      if (status === 'ok' && !this.hlc.observe(verdict.event.hlc)) {
        this.logger.debug(`${describe(verdict.event)} is more than the allowed drift ahead of our clock; not adopting its time`);
      }
    }
    if (conflicts.length > 0) {
      this.logger.warn(`the mesh holds ${conflicts.length} event(s) of this node under numbers it used again: its database is older than what it wrote (restored from a backup, or a copied data folder); those numbers go to the mesh's events and this node's are written again after them`);
      for (const event of conflicts) this.yieldNumber(event);
    }
    if (accepted.length === 0) {
      this.numbering.rewriteLost();
      return 0;
    }
    const outcomes = this.log.applyRemote(accepted);
    // After this batch, so the rewritten events go after what it brought of ours.
    this.numbering.rewriteLost();
    let fresh = 0;
    let gap = false;
    let membersChanged = false;
    outcomes.forEach((outcome, index) => {
      if (!outcome.inserted) return;
      fresh++;
      const { event } = accepted[index]!;
      if (outcome.limited) {
        this.limitReport.note(participantKey(event.body.author), limitKindOf(event.body), from);
        return;
      }
      gap ||= outcome.gap;
      membersChanged ||= outcome.membersChanged;
      if (event.body.type === 'message' && accepted[index]!.status === 'ok') this.typingTable.clear(event.roomId, event.body.author);
      if (outcome.refusal) {
        this.logger.warn(`refused ${describe(event)} from ${from.slice(0, 7)}: ${outcome.refusal}`);
        this.emit('refused', { event, reason: outcome.refusal, from });
      }
      for (const message of outcome.messages) this.emit('message', message);
    });
    if (membersChanged) this.emitRoomsChanged();
    if (live && gap) this.sync?.gapSeen(from);
    return fresh;
  }

  /** A genuine event of ours, as the mesh holds it, that is not the one we hold under its number. */
  private differsFromOurs(event: RoomEvent): boolean {
    const held = this.log.event(event.roomId, event.origin, event.roomSeq);
    if (!held || held.status === 'limited') return false;
    if (held.event.sig !== undefined && held.event.sig === event.sig) return false;
    if (JSON.stringify(held.event.body) === JSON.stringify(event.body) && held.event.hlc.wall === event.hlc.wall && held.event.hlc.logical === event.hlc.logical) return false;
    return !this.options.authenticator || this.options.authenticator.verify(event);
  }

  private onTyping(roomId: string, message: PortMessage): void {
    const body = message.body as Partial<TypingEvent> | null;
    if (!body || body.roomId !== roomId || typeof body.author !== 'object' || body.author === null) return;
    const author = body.author;
    if (author.nodeId !== message.from || typeof author.participantId !== 'string' || typeof author.displayName !== 'string') return;
    if (author.participantId.length > roomWireLimits.maxNameChars || author.displayName.length > roomWireLimits.maxNameChars) return;
    const kind = author.kind === 'persona' || author.kind === 'system' ? author.kind : 'human';
    const event = this.typingTable.seen(roomId, { nodeId: author.nodeId, participantId: author.participantId, displayName: author.displayName, kind }, Number(body.ttlMs));
    this.emit('typing', event);
  }

  private onPresence(message: PortMessage): void {
    if (!this.running) return;
    if (this.presence.receive(message.from, message.body)) this.emitRoomsChanged();
  }

  private onAnnounce(message: PortMessage): void {
    const body = message.body as Partial<RoomAnnouncement> | null;
    if (!body || !Array.isArray(body.rooms)) return;
    this.learnRooms(body.rooms.slice(0, 100).map((room: unknown) => (room as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string'));
  }

  private learnRooms(roomIds: string[]): void {
    if (!this.running) return;
    let changed = false;
    for (const roomId of roomIds.slice(0, 1000)) {
      try {
        requireRoomId(roomId);
      } catch {
        continue;
      }
      if (this.log.ensureRoom(roomId, roomId, this.clock.now())) changed = true;
    }
    if (changed) this.emitRoomsChanged();
  }

  private announcePresence(): void {
    if (!this.running) return;
    this.nextPresenceAt = this.clock.monotonic() + this.presenceRefreshMs - this.presenceIntervalMs / 2;
    this.options.transport.publish(roomTopics.presence, this.presence.announcement(this.nodeId, this.presenceTtlMs));
  }

  private announcePresenceTo(nodeId: string): void {
    if (!this.running) return;
    this.options.transport.sendTo(nodeId, roomTopics.presence, this.presence.announcement(this.nodeId, this.presenceTtlMs));
  }

  /** Between two announcements: longer in a larger mesh (refreshInterval.ts). */
  private get presenceRefreshMs(): number {
    return refreshIntervalMs(this.presenceIntervalMs, this.presence.nodeCount());
  }

  private summaryOf(roomId: string): RoomSummary {
    const room = this.log.room(roomId);
    const stats = this.log.stats(roomId);
    const summary: RoomSummary = {
      id: roomId,
      name: room?.name ?? roomId,
      joined: room?.joined ?? false,
      messageCount: stats.messageCount,
      participants: this.participants(roomId),
    };
    if (stats.lastActivity !== undefined) summary.lastActivity = stats.lastActivity;
    return summary;
  }

  private emitRoomsChanged(): void {
    if (!this.running || this.listenerCount('roomsChanged') === 0) return;
    this.emit('roomsChanged', this.list());
  }
}

function describe(event: RoomEvent): string {
  const type = typeof (event.body as { type?: unknown })?.type === 'string' ? (event.body as { type: string }).type : 'event';
  return `${type} ${event.origin.slice(0, 7)}:${event.roomSeq} in "${event.roomId}"`;
}

