/**
 * The room event log in libsql: events keyed by (room, origin, roomSeq), the folded messages
 * view, room members, per-origin high-water marks and this node's own sequence counters.
 *
 * - Idempotent: an event already held is recognised by its key and changes nothing.
 * - Out of order: events are applied whenever they arrive; an edit or reaction that arrives
 *   before its message waits in the log and is folded in when the message comes.
 * - Gaps: `contiguous` is the highest roomSeq held with nothing missing below it; anything
 *   above it that is held counts in `max_seq`. Sync asks peers for what is above `contiguous`.
 * - Durable: each local event is one transaction (counter, event, view); a batch of received
 *   events is one transaction. WAL + synchronous=NORMAL survives kill -9.
 * - Limited: an event over its author's limit per minute (authorLimits.ts), local or received, is
 *   not stored: its key is kept (status `limited`, the body cut to type and author) so the gap it
 *   leaves is closed and never pulled again, and sync does not serve it.
 */
import { compareMessages, participantKey, type Author, type ChatMessage, type Hlc, type RoomEvent, type RoomEventBody } from '../../../protocol/rooms';
import type { Db } from '../store/database';
import { foldMessage, isRelated, mayApply, messageId, type MessageBody, type RelatedBody, type StoredEvent } from './fold';
import { AuthorMinuteCounts, limitKindOf, type AuthorLimits } from './authorLimits';
import { ServiceError } from '../../../protocol/errors';
import { compareHlc } from './hlc';
import { parseMessageId } from '../../../protocol/rooms';

export type EventStatus = 'ok' | 'refused' | 'ignored' | 'limited';

export interface RoomRow {
  id: string;
  name: string;
  joined: boolean;
  createdAt: number;
}

export interface Member {
  author: Author;
  joined: boolean;
}

/** What applying one event changed. */
export interface ApplyOutcome {
  /** False when the event was already held (nothing changed). */
  inserted: boolean;
  /** Messages whose folded form changed. */
  messages: ChatMessage[];
  /** A joined/left event changed the member list. */
  membersChanged: boolean;
  /** An edit/delete by someone other than the author (ignored), as a one-line reason. */
  refusal?: string;
  /** The event is above a gap in its origin's sequence. */
  gap: boolean;
  /** Over its author's limit: only its key was kept. */
  limited?: boolean;
}

export interface OriginHead {
  origin: string;
  contiguous: number;
  maxSeq: number;
}

interface EventRow {
  room_id: string;
  origin: string;
  room_seq: number;
  hlc_wall: number;
  hlc_logical: number;
  body: string;
  status: EventStatus;
  key: string | null;
  sig: string | null;
}

function rowToEvent(row: EventRow): RoomEvent {
  const event: RoomEvent = { roomId: row.room_id, origin: row.origin, roomSeq: row.room_seq, hlc: { wall: row.hlc_wall, logical: row.hlc_logical }, body: JSON.parse(row.body) as RoomEventBody };
  if (row.key !== null && row.sig !== null) {
    event.key = row.key;
    event.sig = row.sig;
  }
  return event;
}

const eventColumns = 'room_id, origin, room_seq, hlc_wall, hlc_logical, body, status, key, sig';

function targetOf(body: RoomEventBody): string | null {
  return isRelated(body) ? body.messageId : null;
}

export class EventLog {
  private readonly statements;
  /** Write-through caches of small hot tables; cleared when a transaction fails. */
  private readonly headCache = new Map<string, { contiguous: number; maxSeq: number }>();
  private readonly roomCache = new Map<string, RoomRow | null>();

  private readonly counts: AuthorMinuteCounts;

  constructor(private readonly db: Db, private readonly localNodeId: string, limits?: AuthorLimits) {
    this.counts = new AuthorMinuteCounts(db, limits);
    const p = (sql: string) => db.prepare(sql);
    this.statements = {
      roomGet: p('SELECT room_id, name, joined, created_at FROM rooms WHERE room_id = ?'),
      roomAll: p('SELECT room_id, name, joined, created_at FROM rooms ORDER BY room_id'),
      roomInsert: p('INSERT INTO rooms (room_id, name, joined, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO NOTHING'),
      roomJoined: p('UPDATE rooms SET joined = ? WHERE room_id = ?'),
      localSeqGet: p('SELECT last_seq FROM room_local_seq WHERE room_id = ?'),
      localSeqSet: p('INSERT INTO room_local_seq (room_id, last_seq) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)'),
      eventInsert: p(
        'INSERT INTO room_events (room_id, origin, room_seq, hlc_wall, hlc_logical, type, target, status, body, key, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      eventGet: p(`SELECT ${eventColumns} FROM room_events WHERE room_id = ? AND origin = ? AND room_seq = ?`),
      eventExists: p('SELECT 1 AS x FROM room_events WHERE room_id = ? AND origin = ? AND room_seq = ?'),
      eventDelete: p('DELETE FROM room_events WHERE room_id = ? AND origin = ? AND room_seq = ?'),
      messageDelete: p('DELETE FROM room_messages WHERE room_id = ? AND origin = ? AND room_seq = ?'),
      eventsRelated: p(`SELECT ${eventColumns} FROM room_events INDEXED BY room_events_target WHERE room_id = ? AND target = ? AND status = 'ok'`),
      eventsAfter: p(`SELECT ${eventColumns} FROM room_events WHERE room_id = ? AND origin = ? AND room_seq > ? AND status != 'limited' ORDER BY room_seq LIMIT ?`),
      headGet: p('SELECT contiguous, max_seq FROM room_heads WHERE room_id = ? AND origin = ?'),
      headSet: p('INSERT INTO room_heads (room_id, origin, contiguous, max_seq) VALUES (?, ?, ?, ?) ON CONFLICT (room_id, origin) DO UPDATE SET contiguous = excluded.contiguous, max_seq = excluded.max_seq'),
      headsOfRoom: p('SELECT origin, contiguous, max_seq FROM room_heads WHERE room_id = ? ORDER BY origin'),
      messageUpsert: p(
        'INSERT INTO room_messages (room_id, origin, room_seq, hlc_wall, hlc_logical, message) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, origin, room_seq) DO UPDATE SET message = excluded.message',
      ),
      messageGet: p('SELECT message FROM room_messages WHERE room_id = ? AND origin = ? AND room_seq = ?'),
      messageCount: p('SELECT count(*) AS n, max(hlc_wall) AS last FROM room_messages WHERE room_id = ?'),
      historyNewest: p('SELECT message FROM room_messages WHERE room_id = ? ORDER BY hlc_wall DESC, hlc_logical DESC, origin DESC, room_seq DESC LIMIT ?'),
      historyBefore: p(
        'SELECT message FROM room_messages WHERE room_id = ? AND (hlc_wall, hlc_logical, origin, room_seq) < (?, ?, ?, ?) ORDER BY hlc_wall DESC, hlc_logical DESC, origin DESC, room_seq DESC LIMIT ?',
      ),
      memberGet: p('SELECT hlc_wall, hlc_logical, origin, room_seq FROM room_members WHERE room_id = ? AND node_id = ? AND participant_id = ?'),
      memberSet: p(
        'INSERT INTO room_members (room_id, node_id, participant_id, author, joined, hlc_wall, hlc_logical, origin, room_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (room_id, node_id, participant_id) DO UPDATE SET author = excluded.author, joined = excluded.joined, hlc_wall = excluded.hlc_wall, hlc_logical = excluded.hlc_logical, origin = excluded.origin, room_seq = excluded.room_seq',
      ),
      membersOfRoom: p('SELECT author, joined FROM room_members WHERE room_id = ? ORDER BY node_id, participant_id'),
      maxHlc: p('SELECT hlc_wall, hlc_logical FROM room_events WHERE origin = ? ORDER BY hlc_wall DESC, hlc_logical DESC LIMIT 1'),
      newestMessageHlc: p('SELECT hlc_wall, hlc_logical FROM room_messages WHERE room_id = ? ORDER BY hlc_wall DESC, hlc_logical DESC LIMIT 1'),
      // Our own events in a room rise with their roomSeq (each is floored by the one before).
      lastOwnHlc: p('SELECT hlc_wall, hlc_logical FROM room_events WHERE room_id = ? AND origin = ? ORDER BY room_seq DESC LIMIT 1'),
    };
  }

  // ---------------------------------------------------------------- rooms

  room(id: string): RoomRow | undefined {
    const cached = this.roomCache.get(id);
    if (cached !== undefined) return cached ? { ...cached } : undefined;
    const row = this.statements.roomGet.get(id) as { room_id: string; name: string; joined: number; created_at: number } | undefined;
    const room = row ? { id: row.room_id, name: row.name, joined: row.joined === 1, createdAt: row.created_at } : null;
    this.roomCache.set(id, room);
    return room ? { ...room } : undefined;
  }

  rooms(): RoomRow[] {
    return (this.statements.roomAll.all() as { room_id: string; name: string; joined: number; created_at: number }[]).map((row) => ({
      id: row.room_id,
      name: row.name,
      joined: row.joined === 1,
      createdAt: row.created_at,
    }));
  }

  /** Records a room; true if it was new. */
  ensureRoom(id: string, name: string, createdAt: number): boolean {
    if (this.room(id)) return false;
    const created = this.statements.roomInsert.run(id, name, 0, createdAt).changes > 0;
    this.roomCache.delete(id);
    return created;
  }

  setJoined(id: string, joined: boolean): void {
    this.statements.roomJoined.run(joined ? 1 : 0, id);
    this.roomCache.delete(id);
  }

  stats(roomId: string): { messageCount: number; lastActivity?: number } {
    const row = this.statements.messageCount.get(roomId) as { n: number; last: number | null };
    return row.last === null ? { messageCount: row.n } : { messageCount: row.n, lastActivity: row.last };
  }

  // ---------------------------------------------------------------- events

  /** The newest HLC this node gave one of its events (to restart the clock after it), if any. */
  maxLocalHlc(): Hlc | undefined {
    const row = this.statements.maxHlc.get(this.localNodeId) as { hlc_wall: number; hlc_logical: number } | undefined;
    return row && { wall: row.hlc_wall, logical: row.hlc_logical };
  }

  /**
   * Numbers, stores and applies an event of this node in one transaction. The event orders after
   * every message the room holds and every event we wrote there, whatever our clock says: when a
   * peer's clock runs ahead (or ours went back), `hlc` is moved just past the newest (the logical
   * counter keeps them apart) instead of moving this node's clock for every room, and a message
   * keeps the author's own time in `sentAt`.
   */
  appendLocal(roomId: string, hlc: Hlc, body: RoomEventBody, sign: (event: RoomEvent) => RoomEvent = (event) => event): { event: RoomEvent; outcome: ApplyOutcome } {
    return this.inTransaction(() => {
      const last = (this.statements.localSeqGet.get(roomId) as { last_seq: number } | undefined)?.last_seq ?? 0;
      // Never reuse a number another copy of our history already holds (e.g. a restored backup).
      const held = this.head(roomId, this.localNodeId).maxSeq;
      const roomSeq = Math.max(last, held) + 1;
      this.statements.localSeqSet.run(roomId, roomSeq);
      const newest = this.causalFloor(roomId);
      if (newest && compareHlc(hlc, newest) <= 0) {
        if (body.type === 'message' && hlc.wall < newest.wall) body = { ...body, sentAt: hlc.wall };
        hlc = { wall: newest.wall, logical: newest.logical + 1 };
      }
      const kind = limitKindOf(body);
      if (!this.counts.take(participantKey(body.author), kind, hlc.wall)) {
        const wait = Math.ceil(AuthorMinuteCounts.waitFrom(hlc.wall) / 1000);
        throw new ServiceError('rate-limited', `slow down: at most ${this.counts.limits[kind]} ${kind === 'membership' ? 'joins and leaves' : `${kind}s`} a minute; try again in ${wait} s`);
      }
      const event = sign({ roomId, origin: this.localNodeId, roomSeq, hlc, body });
      return { event, outcome: this.applyInTransaction(event, 'ok', true) };
    });
  }

  /** The newest timestamp a new event of ours in `roomId` must order after. */
  private causalFloor(roomId: string): Hlc | undefined {
    type Row = { hlc_wall: number; hlc_logical: number } | undefined;
    const rows = [this.statements.newestMessageHlc.get(roomId) as Row, this.statements.lastOwnHlc.get(roomId, this.localNodeId) as Row];
    let floor: Hlc | undefined;
    for (const row of rows) {
      const hlc = row && { wall: row.hlc_wall, logical: row.hlc_logical };
      if (hlc && (!floor || compareHlc(hlc, floor) > 0)) floor = hlc;
    }
    return floor;
  }

  /** Stores and applies received events (one transaction for the batch). */
  applyRemote(events: readonly { event: RoomEvent; status: EventStatus }[]): ApplyOutcome[] {
    return this.inTransaction(() => events.map(({ event, status }) => this.applyInTransaction(event, status, false)));
  }

  /** The stored event (room, origin, roomSeq) and its status, if held. */
  event(roomId: string, origin: string, roomSeq: number): { event: RoomEvent; status: EventStatus } | undefined {
    const row = this.statements.eventGet.get(roomId, origin, roomSeq) as EventRow | undefined;
    return row && { event: rowToEvent(row), status: row.status };
  }

  /**
   * Puts the mesh's copy of one of our own events in place of ours: the same number held two
   * contents (this node restarted from an older copy of its database and numbered anew).
   */
  replaceOwn(event: RoomEvent): ApplyOutcome {
    return this.inTransaction(() => {
      this.statements.eventDelete.run(event.roomId, event.origin, event.roomSeq);
      this.statements.messageDelete.run(event.roomId, event.origin, event.roomSeq);
      return this.applyInTransaction(event, 'ok', false);
    });
  }

  /** True when storing `event` now would stay within its author's limit (a read: nothing counted). */
  withinLimit(event: RoomEvent): boolean {
    return this.counts.wouldTake(participantKey(event.body.author), limitKindOf(event.body), event.hlc.wall);
  }

  /** Forgets the per-author counts of minutes before `wall`. */
  pruneLimits(beforeWall: number): void {
    this.counts.prune(beforeWall);
  }

  private inTransaction<T>(run: () => T): T {
    try {
      return this.db.transaction(run)();
    } catch (error) {
      // Rolled back: the caches may hold values that never committed.
      this.headCache.clear();
      this.roomCache.clear();
      this.counts.forgetCache();
      throw error;
    }
  }

  private applyInTransaction(event: RoomEvent, status: EventStatus, local: boolean): ApplyOutcome {
    const { roomId, origin, roomSeq, hlc } = event;
    let body = event.body;
    if (!local && status === 'ok') {
      if (this.statements.eventExists.get(roomId, origin, roomSeq)) return { inserted: false, messages: [], membersChanged: false, gap: false };
      if (!this.counts.take(participantKey(body.author), limitKindOf(body), hlc.wall)) {
        status = 'limited';
        body = { type: body.type, author: body.author } as RoomEventBody;
      }
    }
    const type = typeof (body as { type?: unknown }).type === 'string' ? (body as { type: string }).type : 'unknown';
    const target = status === 'ignored' || status === 'limited' ? null : targetOf(body);
    const kept = status === 'limited' ? [null, null] : [event.key ?? null, event.sig ?? null];
    const inserted = this.statements.eventInsert.run(roomId, origin, roomSeq, hlc.wall, hlc.logical, type, target, status, JSON.stringify(body), ...kept).changes > 0;
    const outcome: ApplyOutcome = { inserted, messages: [], membersChanged: false, gap: false };
    if (status === 'limited') outcome.limited = true;
    if (!inserted) return outcome;
    outcome.gap = this.advanceHead(roomId, origin, roomSeq);
    if (origin === this.localNodeId && !local) this.statements.localSeqSet.run(roomId, roomSeq);
    if (this.room(roomId) === undefined) this.ensureRoom(roomId, roomId, hlc.wall);
    if (status !== 'ok') return outcome;

    switch (body.type) {
      case 'message': {
        // Nothing can target a message this node has just numbered; received ones may have waiting edits.
        outcome.messages.push(this.refold(event as StoredEvent<MessageBody>, local));
        break;
      }
      case 'edit':
      case 'delete':
      case 'reaction': {
        const { origin: targetOrigin, roomSeq: targetSeq } = parseMessageId(body.messageId);
        const row = this.statements.eventGet.get(roomId, targetOrigin, targetSeq) as EventRow | undefined;
        if (!row || row.status !== 'ok') break; // folded when the message arrives
        const message = rowToEvent(row);
        if (message.body.type !== 'message') break;
        const stored = message as StoredEvent<MessageBody>;
        if (!mayApply(stored, event as StoredEvent<RelatedBody>)) {
          outcome.refusal = `${participantKey(body.author)} tried to ${body.type} message ${body.messageId} of ${participantKey(stored.body.author)}: only the author may ${body.type} a message`;
          break;
        }
        outcome.messages.push(this.refold(stored));
        break;
      }
      case 'joined':
      case 'left': {
        const current = this.statements.memberGet.get(roomId, body.author.nodeId, body.author.participantId) as
          | { hlc_wall: number; hlc_logical: number; origin: string; room_seq: number }
          | undefined;
        if (current && compareMessages(event, { hlc: { wall: current.hlc_wall, logical: current.hlc_logical }, origin: current.origin, roomSeq: current.room_seq }) < 0) break;
        this.statements.memberSet.run(roomId, body.author.nodeId, body.author.participantId, JSON.stringify(body.author), body.type === 'joined' ? 1 : 0, hlc.wall, hlc.logical, origin, roomSeq);
        outcome.membersChanged = true;
        break;
      }
    }
    return outcome;
  }

  /** Recomputes a message from its event and every event that targets it, and stores it. */
  private refold(message: StoredEvent<MessageBody>, fresh = false): ChatMessage {
    const id = messageId(message.origin, message.roomSeq);
    const related = fresh ? [] : (this.statements.eventsRelated.all(message.roomId, id) as EventRow[]).map((row) => rowToEvent(row) as StoredEvent<RelatedBody>);
    const folded = foldMessage(message, related);
    this.statements.messageUpsert.run(message.roomId, message.origin, message.roomSeq, message.hlc.wall, message.hlc.logical, JSON.stringify(folded));
    return folded;
  }

  /** Updates the high-water marks after storing (origin, roomSeq); true if it sits above a gap. */
  private advanceHead(roomId: string, origin: string, roomSeq: number): boolean {
    let { contiguous, maxSeq } = this.head(roomId, origin);
    maxSeq = Math.max(maxSeq, roomSeq);
    if (roomSeq === contiguous + 1) {
      contiguous = roomSeq;
      while (contiguous < maxSeq && this.statements.eventExists.get(roomId, origin, contiguous + 1)) contiguous++;
    }
    this.statements.headSet.run(roomId, origin, contiguous, maxSeq);
    this.headCache.set(`${roomId} ${origin}`, { contiguous, maxSeq });
    return roomSeq > contiguous;
  }

  /** True when the event (roomId, origin, roomSeq) is held. */
  has(roomId: string, origin: string, roomSeq: number): boolean {
    const head = this.head(roomId, origin);
    if (roomSeq <= head.contiguous) return true;
    if (roomSeq > head.maxSeq) return false;
    return this.statements.eventExists.get(roomId, origin, roomSeq) !== undefined;
  }

  head(roomId: string, origin: string): { contiguous: number; maxSeq: number } {
    const key = `${roomId} ${origin}`;
    const cached = this.headCache.get(key);
    if (cached) return { ...cached };
    const row = this.statements.headGet.get(roomId, origin) as { contiguous: number; max_seq: number } | undefined;
    const head = { contiguous: row?.contiguous ?? 0, maxSeq: row?.max_seq ?? 0 };
    if (this.headCache.size > 100_000) this.headCache.clear();
    this.headCache.set(key, head);
    return { ...head };
  }

  heads(roomId: string): OriginHead[] {
    return (this.statements.headsOfRoom.all(roomId) as { origin: string; contiguous: number; max_seq: number }[]).map((row) => ({
      origin: row.origin,
      contiguous: row.contiguous,
      maxSeq: row.max_seq,
    }));
  }

  /** origin → highest contiguous roomSeq, for each room. */
  summary(roomIds: readonly string[]): Record<string, Record<string, number>> {
    const summary: Record<string, Record<string, number>> = {};
    for (const roomId of roomIds) {
      const heads: Record<string, number> = {};
      for (const head of this.heads(roomId)) heads[head.origin] = head.contiguous;
      summary[roomId] = heads;
    }
    return summary;
  }

  /** Missing ranges per origin (inclusive), as far as this node can tell. */
  gaps(roomId: string): { origin: string; from: number; to: number }[] {
    const gaps: { origin: string; from: number; to: number }[] = [];
    for (const head of this.heads(roomId)) {
      if (head.maxSeq === head.contiguous) continue;
      let seq = head.contiguous + 1;
      while (seq < head.maxSeq) {
        const start = seq;
        while (seq < head.maxSeq && !this.statements.eventExists.get(roomId, head.origin, seq)) seq++;
        if (seq > start) gaps.push({ origin: head.origin, from: start, to: seq - 1 });
        while (seq < head.maxSeq && this.statements.eventExists.get(roomId, head.origin, seq)) seq++;
      }
    }
    return gaps;
  }

  /**
   * Events of `roomId` the holder of `after` (origin → roomSeq already held) lacks, origin by
   * origin in sequence order, at most `maxEvents` and about `maxBytes` of bodies.
   */
  eventsAfter(roomId: string, after: Record<string, number>, maxEvents: number, maxBytes: number): { events: RoomEvent[]; more: boolean } {
    const events: RoomEvent[] = [];
    let bytes = 0;
    for (const head of this.heads(roomId)) {
      const from = Math.max(0, Math.floor(after[head.origin] ?? 0));
      if (head.maxSeq <= from) continue;
      if (events.length >= maxEvents || bytes >= maxBytes) return { events, more: true };
      const rows = this.statements.eventsAfter.all(roomId, head.origin, from, maxEvents - events.length + 1) as EventRow[];
      for (const row of rows) {
        if (events.length >= maxEvents || (bytes + row.body.length > maxBytes && events.length > 0)) return { events, more: true };
        events.push(rowToEvent(row));
        bytes += row.body.length + 64;
      }
    }
    return { events, more: false };
  }

  // ---------------------------------------------------------------- views

  message(roomId: string, id: string): ChatMessage | undefined {
    const { origin, roomSeq } = parseMessageId(id);
    const row = this.statements.messageGet.get(roomId, origin, roomSeq) as { message: string } | undefined;
    return row && (JSON.parse(row.message) as ChatMessage);
  }

  /** A page of history, oldest first: the newest `limit` messages, or those before `before`. */
  history(roomId: string, limit: number, before?: ChatMessage): { messages: ChatMessage[]; hasMore: boolean } {
    const rows = (
      before
        ? this.statements.historyBefore.all(roomId, before.hlc.wall, before.hlc.logical, before.origin, before.roomSeq, limit + 1)
        : this.statements.historyNewest.all(roomId, limit + 1)
    ) as { message: string }[];
    const hasMore = rows.length > limit;
    const messages = rows.slice(0, limit).map((row) => JSON.parse(row.message) as ChatMessage);
    messages.reverse();
    return { messages, hasMore };
  }

  members(roomId: string): Member[] {
    return (this.statements.membersOfRoom.all(roomId) as { author: string; joined: number }[]).map((row) => ({ author: JSON.parse(row.author) as Author, joined: row.joined === 1 }));
  }
}
