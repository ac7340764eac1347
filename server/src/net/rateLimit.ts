/**
 * Token buckets keyed by source address, for handshakes: a burst of `burst`, refilled at
 * `perSecond`. Bounded: at most `maxKeys` addresses are tracked (oldest forgotten).
 */
import type { Clock } from '../kernel/clock';
import { BoundedMap } from './boundedMap';

export interface RateLimitOptions {
  burst: number;
  perSecond: number;
  maxKeys?: number;
}

export class RateLimiter {
  private readonly buckets: BoundedMap<string, { tokens: number; at: number }>;

  constructor(private readonly clock: Clock, private readonly options: RateLimitOptions) {
    this.buckets = new BoundedMap(options.maxKeys ?? 4096);
  }

  /** Takes a token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = this.clock.monotonic();
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, at: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.options.perSecond);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return allowed;
  }
}
