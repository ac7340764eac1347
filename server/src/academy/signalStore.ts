/**
 * Signals in libsql. Idempotent by id (a signal already held changes nothing). `local_seq` is this
 * node's storage order, which peers use as their pull cursor: whatever this node learns later gets
 * a higher number, even a signal with an old ts, so a cursor never skips anything.
 */
import { randomBytes } from 'node:crypto';
import { personaKey, type Signal, type SignalCategory } from '../../../protocol/academy';
import type { Db } from '../store/database';

export interface LatencySample {
  messageId: string;
  room: string;
  personaKey: string;
  ms: number;
  ts: number;
  /** The persona's display name on that reply, when the message is held here. */
  name?: string;
}

export interface SignalQuery {
  personaKey?: string;
  room?: string;
  category?: SignalCategory;
  /** ts at or after. */
  since?: number;
  /** ts strictly before. */
  before?: number;
}

export class SignalStore {
  private readonly s;
  private epochValue: string | undefined;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p('INSERT INTO academy_signals (id, persona_key, room, category, source, ts, signer, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
      has: p('SELECT 1 AS x FROM academy_signals WHERE id = ?'),
      count: p('SELECT count(*) AS n FROM academy_signals'),
      all: p('SELECT body FROM academy_signals ORDER BY ts, id'),
      after: p('SELECT local_seq, body FROM academy_signals WHERE local_seq > ? ORDER BY local_seq LIMIT ?'),
      lastSeq: p('SELECT max(local_seq) AS n FROM academy_signals'),
      latestInSlot: p("SELECT body FROM academy_signals WHERE persona_key = ? AND signer = ? AND json_extract(body, '$.slot') = ? ORDER BY ts DESC, id DESC LIMIT 1"),
      latencyInsert: p('INSERT INTO academy_latency (message_id, room, persona_key, ms, ts) VALUES (?, ?, ?, ?, ?) ON CONFLICT (room, message_id) DO NOTHING'),
      // The reply's display name, for a persona known only by its reply times (message ids are origin:seq).
      latencyAll: p(
        "SELECT l.message_id, l.room, l.persona_key, l.ms, l.ts, json_extract(m.message, '$.author.displayName') AS name FROM academy_latency l " +
          "LEFT JOIN room_messages m ON m.room_id = l.room AND m.origin = substr(l.message_id, 1, instr(l.message_id, ':') - 1) AND m.room_seq = CAST(substr(l.message_id, instr(l.message_id, ':') + 1) AS INTEGER) " +
          'ORDER BY l.room, l.message_id',
      ),
      cursorGet: p('SELECT epoch, seq FROM academy_peer_cursors WHERE peer = ?'),
      cursorSet: p('INSERT INTO academy_peer_cursors (peer, epoch, seq) VALUES (?, ?, ?) ON CONFLICT (peer) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq'),
      metaGet: p('SELECT value FROM academy_meta WHERE key = ?'),
      metaSet: p('INSERT INTO academy_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    };
  }

  /** A random id of this store, made on first use: a peer whose cursor names another epoch starts over. */
  get epoch(): string {
    if (this.epochValue === undefined) {
      this.s.metaSet.run('epoch', randomBytes(8).toString('hex'));
      this.epochValue = (this.s.metaGet.get('epoch') as { value: string }).value;
    }
    return this.epochValue;
  }

  /** Stores signals (one transaction); returns the ones that were new, in the given order. */
  add(signals: readonly Signal[]): Signal[] {
    if (signals.length === 0) return [];
    return this.db.transaction(() => {
      const fresh: Signal[] = [];
      for (const signal of signals) {
        const changes = this.s.insert.run(signal.id, personaKey(signal.persona), signal.room, signal.category, signal.source, signal.ts, signal.signer, JSON.stringify(signal)).changes;
        if (changes > 0) fresh.push(signal);
      }
      return fresh;
    })();
  }

  /** The newest signal of `signer` about a persona in a slot (what a new one in the slot replaces). */
  latestInSlot(personaKey: string, signer: string, slot: string): Signal | undefined {
    const row = this.s.latestInSlot.get(personaKey, signer, slot) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Signal);
  }

  has(id: string): boolean {
    return this.s.has.get(id) !== undefined;
  }

  get count(): number {
    return (this.s.count.get() as { n: number }).n;
  }

  /** Every signal, by ts then id. */
  all(): Signal[] {
    return (this.s.all.all() as { body: string }[]).map((row) => JSON.parse(row.body) as Signal);
  }

  /** Signals matching a query, by ts then id (oldest first), at most `limit` of the newest when given. */
  query(query: SignalQuery, limit?: number): Signal[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.personaKey !== undefined) {
      where.push('persona_key = ?');
      args.push(query.personaKey);
    }
    if (query.room !== undefined) {
      where.push('room = ?');
      args.push(query.room);
    }
    if (query.category !== undefined) {
      where.push('category = ?');
      args.push(query.category);
    }
    if (query.since !== undefined) {
      where.push('ts >= ?');
      args.push(query.since);
    }
    if (query.before !== undefined) {
      where.push('ts < ?');
      args.push(query.before);
    }
    const clause = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    if (limit === undefined) {
      return (this.db.prepare(`SELECT body FROM academy_signals${clause} ORDER BY ts, id`).all(...args) as { body: string }[]).map((row) => JSON.parse(row.body) as Signal);
    }
    const rows = this.db.prepare(`SELECT body FROM academy_signals${clause} ORDER BY ts DESC, id DESC LIMIT ?`).all(...args, limit) as { body: string }[];
    return rows.map((row) => JSON.parse(row.body) as Signal).reverse();
  }

  /**
   * Signals stored after `seq` in local order: at most `limit` of them and about `maxBytes` of JSON
   * (always at least one), and the local_seq of the last one.
   */
  after(seq: number, limit: number, maxBytes = Infinity): { signals: Signal[]; last: number; more: boolean } {
    const rows = this.s.after.all(seq, limit + 1) as { local_seq: number; body: string }[];
    const signals: Signal[] = [];
    let last = seq;
    let bytes = 0;
    for (const row of rows) {
      if (signals.length >= limit || (signals.length > 0 && bytes + row.body.length > maxBytes)) return { signals, last, more: true };
      signals.push(JSON.parse(row.body) as Signal);
      bytes += row.body.length;
      last = row.local_seq;
    }
    return { signals, last, more: false };
  }

  get lastSeq(): number {
    return (this.s.lastSeq.get() as { n: number | null }).n ?? 0;
  }

  cursor(peer: string): { epoch: string; seq: number } | undefined {
    const row = this.s.cursorGet.get(peer) as { epoch: string; seq: number } | undefined;
    return row && { epoch: row.epoch, seq: row.seq };
  }

  setCursor(peer: string, epoch: string, seq: number): void {
    this.s.cursorSet.run(peer, epoch, seq);
  }

  addLatency(sample: LatencySample): boolean {
    return this.s.latencyInsert.run(sample.messageId, sample.room, sample.personaKey, Math.max(0, Math.round(sample.ms)), sample.ts).changes > 0;
  }

  latencies(): LatencySample[] {
    return (this.s.latencyAll.all() as { message_id: string; room: string; persona_key: string; ms: number; ts: number; name: unknown }[]).map((row) => ({
      messageId: row.message_id,
      room: row.room,
      personaKey: row.persona_key,
      ms: row.ms,
      ts: row.ts,
      ...(typeof row.name === 'string' && row.name ? { name: row.name } : {}),
    }));
  }
}
