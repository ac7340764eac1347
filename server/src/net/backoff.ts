/**
 * Jittered exponential backoff for reconnects: attempt n waits a random time in
 * [base·2^n / 2, base·2^n], capped. With the defaults the first retry comes within 100 ms and no
 * wait exceeds 5 s.
 */
import type { Random } from '../node/clock';

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 100, capMs: 5000 };

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
