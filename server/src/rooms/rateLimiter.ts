/** Messages per participant per minute: a sliding window over the injected monotonic clock. */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly monotonic: () => number) {}

  /** Records an attempt; returns the ms to wait when over the limit (nothing recorded then). */
  take(key: string): number | undefined {
    const now = this.monotonic();
    let times = this.windows.get(key);
    if (!times) this.windows.set(key, (times = []));
    while (times.length > 0 && times[0]! <= now - this.windowMs) times.shift();
    if (times.length >= this.limit) return Math.max(1, times[0]! + this.windowMs - now);
    times.push(now);
    return undefined;
  }
}
