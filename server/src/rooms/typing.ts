/** Who is typing where, expiring on its own; and a throttle for this node's own indicators. */
import { participantKey, type Author, type TypingEvent } from '../../../protocol/rooms';

export const defaultTypingTtlMs = 5000;
export const maxTypingTtlMs = 10_000;

export class TypingTable {
  private readonly active = new Map<string, { event: TypingEvent; expiresAt: number }>();
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly monotonic: () => number) {}

  /** Records a remote indicator; returns it with a clamped ttl. */
  seen(roomId: string, author: Author, ttlMs: number): TypingEvent {
    const ttl = Math.min(Math.max(Number.isFinite(ttlMs) ? ttlMs : defaultTypingTtlMs, 500), maxTypingTtlMs);
    const event: TypingEvent = { roomId, author, ttlMs: ttl };
    this.active.set(`${roomId} ${participantKey(author)}`, { event, expiresAt: this.monotonic() + ttl });
    return event;
  }

  /** A message from the author ends their indicator. */
  clear(roomId: string, author: Author): void {
    this.active.delete(`${roomId} ${participantKey(author)}`);
  }

  typing(roomId: string): TypingEvent[] {
    const now = this.monotonic();
    const result: TypingEvent[] = [];
    for (const [key, entry] of this.active) {
      if (entry.expiresAt <= now) this.active.delete(key);
      else if (entry.event.roomId === roomId) result.push({ ...entry.event, ttlMs: entry.expiresAt - now });
    }
    return result;
  }

  /** True when this node should send an indicator now (at most one per `intervalMs` per room and participant). */
  shouldSend(roomId: string, author: Author, intervalMs: number): boolean {
    const key = `${roomId} ${participantKey(author)}`;
    const now = this.monotonic();
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < intervalMs) return false;
    this.lastSent.set(key, now);
    if (this.lastSent.size > 1000) this.lastSent.clear();
    return true;
  }
}
