/**
 * Per-author limits on the room events a node stores, counted per minute of each event's own
 * timestamp (its HLC wall) in libsql, so they hold for live events and for events that arrive
 * hours later by sync alike, every node applies the same rule, and a restart forgets nothing.
 * Called inside the event log's transaction: a count rolls back with the event it counted.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import { authorLimitsPerMinute, type AuthorLimitKind, type RoomEventBody } from '../../../protocol/rooms';
import type { Db } from '../store/database';

export type AuthorLimits = Record<AuthorLimitKind, number>;

const minuteMs = 60_000;
const maxCachedCounts = 50_000;

/** The default limits scaled so messages allow `messagesPerMinute` (benchmarks and tests raise it). */
export function scaledAuthorLimits(messagesPerMinute: number): AuthorLimits {
  const scale = messagesPerMinute / authorLimitsPerMinute.message;
  const limits = { ...authorLimitsPerMinute } as AuthorLimits;
  for (const kind of Object.keys(limits) as AuthorLimitKind[]) limits[kind] = Math.max(1, Math.ceil(authorLimitsPerMinute[kind] * scale));
  return limits;
}

export function limitKindOf(body: RoomEventBody): AuthorLimitKind {
  switch (body.type) {
    case 'message':
    case 'edit':
    case 'reaction':
    case 'delete':
      return body.type;
    default:
      return 'membership';
  }
}

export class AuthorMinuteCounts {
  private readonly statements;
  /** Write-through cache of recent counts: most events land in the current minute. */
  private readonly cache = new Map<string, number>();

  constructor(db: Db, readonly limits: AuthorLimits = authorLimitsPerMinute) {
    this.statements = {
      get: db.prepare('SELECT count FROM room_author_minutes WHERE author = ? AND kind = ? AND minute = ?'),
      add: db.prepare('INSERT INTO room_author_minutes (author, kind, minute, count) VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET count = count + 1'),
      prune: db.prepare('DELETE FROM room_author_minutes WHERE minute < ?'),
    };
  }

  /** Counts one event of `author` at `wall`; false (nothing counted) when its minute is full. */
  take(author: string, kind: AuthorLimitKind, wall: number): boolean {
    const minute = Math.floor(wall / minuteMs);
    const key = `${author}\u0000${kind}\u0000${minute}`;
    const count = this.count(key, author, kind, minute);
    if (count >= this.limits[kind]) return false;
    this.statements.add.run(author, kind, minute);
    if (this.cache.size >= maxCachedCounts) this.cache.clear();
    this.cache.set(key, count + 1);
    return true;
  }

  /** What `take` would answer, without counting. */
  wouldTake(author: string, kind: AuthorLimitKind, wall: number): boolean {
    const minute = Math.floor(wall / minuteMs);
    return this.count(`${author}\u0000${kind}\u0000${minute}`, author, kind, minute) < this.limits[kind];
  }

  private count(key: string, author: string, kind: AuthorLimitKind, minute: number): number {
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const count = (this.statements.get.get(author, kind, minute) as { count: number } | undefined)?.count ?? 0;
    if (this.cache.size >= maxCachedCounts) this.cache.clear();
    this.cache.set(key, count);
    return count;
  }

  /** Ms from `wall` until the next minute, when `take` may succeed again. */
  static waitFrom(wall: number): number {
    return minuteMs - (wall % minuteMs);
  }

  /** The cache may hold counts a failed transaction rolled back. */
  forgetCache(): void {
    this.cache.clear();
  }

  /** Drops counts of minutes older than `beforeWall` (they bound events nobody writes any more). */
  prune(beforeWall: number): void {
    this.statements.prune.run(Math.floor(beforeWall / minuteMs));
    this.cache.clear();
  }
}

/** Events dropped over their author's limit, told once a minute per author: a flood is logged, not echoed. */
export class LimitReport {
  private readonly pending = new Map<string, { count: number; kind: AuthorLimitKind; from: string }>();
  private timer: TimerHandle | undefined;
  /** Events dropped since start. */
  total = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: AuthorLimits,
    private readonly warn: (line: string) => void,
  ) {}

  note(author: string, kind: AuthorLimitKind, from: string): void {
    const entry = this.pending.get(author) ?? { count: 0, kind, from };
    entry.count++;
    this.pending.set(author, entry);
    this.total++;
    this.timer ??= this.clock.setTimeout(() => this.flush(), minuteMs);
  }

  /** Says what is pending, and stops the timer. */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (const [author, { count, kind, from }] of this.pending) {
      this.warn(`dropped ${count.toLocaleString('en-US')} event${count === 1 ? '' : 's'} of ${author} (via ${from.slice(0, 7)}) over its limit of ${this.limits[kind]} ${kind === 'membership' ? 'joins and leaves' : `${kind}s`} a minute`);
    }
    this.pending.clear();
  }
}
