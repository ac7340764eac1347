/**
 * Our own event numbers after a restart. A node restarted from an older copy of its database (a
 * backup, a copied folder) would give its next events numbers the mesh already holds for other
 * content, and every node would keep the first it saw. So until a peer has sent us all it holds
 * (our own events included), or we have waited a while alone, our new events are stored but not
 * sent or served, and a pull does not claim them; when the mesh turns out to hold other events
 * under those numbers, theirs take the numbers and ours are written again after the mesh's newest.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import type { RoomEvent, RoomEventBody } from '../../../protocol/rooms';

export interface OwnNumberingHooks {
  /** Sends one of our events live. */
  publish(event: RoomEvent): void;
  /** Writes (numbers, stores, sends) an event of ours anew. */
  rewrite(roomId: string, body: RoomEventBody): void;
}

const key = (event: Pick<RoomEvent, 'roomId' | 'roomSeq'>) => `${event.roomId}:${event.roomSeq}`;

export class OwnNumbering {
  private confirmed = false;
  private timer: TimerHandle | undefined;
  private readonly held = new Map<string, RoomEvent>();
  private readonly rewrites: { roomId: string; body: RoomEventBody }[] = [];
  /** Own events written again after the mesh turned out to hold their numbers. */
  renumbered = 0;

  constructor(
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly waitMs: number,
    private readonly hooks: OwnNumberingHooks,
  ) {}

  start(): void {
    this.confirmed = false;
    this.timer = this.clock.setTimeout(() => this.confirm(), this.waitMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Sends a new event of ours now, or holds it until our numbering is confirmed. */
  send(event: RoomEvent): void {
    if (this.confirmed) this.hooks.publish(event);
    else this.held.set(key(event), event);
  }

  /** False for an event of ours held back: sync must not pass it on yet. */
  servable(event: RoomEvent): boolean {
    return event.origin !== this.nodeId || !this.held.has(key(event));
  }

  /** A pull's summary, without claiming our held events (a peer holding others under those numbers must send them). */
  claim(summary: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
    for (const event of this.held.values()) {
      const heads = summary[event.roomId];
      if (heads && (heads[this.nodeId] ?? 0) >= event.roomSeq) heads[this.nodeId] = event.roomSeq - 1;
    }
    return summary;
  }

  /** A peer sent us all it holds (or we waited long enough): what was held goes out. */
  confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.stop();
    const held = [...this.held.values()];
    this.held.clear();
    for (const event of held) this.hooks.publish(event);
    this.rewriteLost();
  }

  /** The mesh's event took the number of `mine`: a message, edit, reaction or deletion of ours is written again. */
  lost(mine: RoomEvent, stillOurs: boolean): void {
    this.held.delete(key(mine));
    this.renumbered++;
    const body = mine.body;
    if (stillOurs && (body.type === 'message' || body.type === 'reaction' || body.type === 'edit' || body.type === 'delete')) this.rewrites.push({ roomId: mine.roomId, body });
  }

  /** After a received batch: once confirmed, lost events are written again (after what the batch brought). */
  rewriteLost(): void {
    if (!this.confirmed) return;
    for (const { roomId, body } of this.rewrites.splice(0)) this.hooks.rewrite(roomId, body);
  }
}
