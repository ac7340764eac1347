/**
 * Jittered exponential backoff for reconnects: attempt n waits a random time in
 * [base·2^n / 2, base·2^n], capped. With the defaults the first retry comes within 100 ms and no
 * wait exceeds 60 s: a peer that stays unreachable costs a handshake a minute, not one every few
 * seconds per node (with a hundred nodes, short caps made retries a storm). A peer heard again
 * (beacons after a silence, a new instance) is dialed at once whatever its backoff.
 */
import type { Random } from '../kernel/clock';

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 100, capMs: 60_000 };

export class Backoff {
  private attempt = 0;

  constructor(private readonly random: Random, private readonly options: BackoffOptions = defaultBackoff) {}

  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + (this.random.next() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
