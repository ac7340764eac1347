/**
 * What this node takes from each origin, per topic family, before it delivers or forwards an
 * envelope: a key holder that floods costs a token-bucket check per envelope and reaches neither
 * the rooms nor other nodes. The budgets are far above honest traffic (a node whose personas
 * stream several answers at once sends a few events a second); the rooms add exact per-author
 * limits behind them (rooms/authorLimits.ts).
 */
import type { Clock } from '../kernel/clock';
import { RateLimiter } from './rateLimit';

export interface InboundLimit {
  /** Topic prefix of the family. */
  prefix: string;
  perMinute: number;
  burst: number;
}

export const defaultInboundLimits: readonly InboundLimit[] = [
  { prefix: '/chat/room/', perMinute: 1200, burst: 400 },
  { prefix: '/chat/rooms/', perMinute: 120, burst: 30 },
  // Catch-up batches of up to 500 events each.
  { prefix: '/chat/sync/', perMinute: 3000, burst: 600 },
  { prefix: '/presence/', perMinute: 240, burst: 60 },
  { prefix: '/genome/announce', perMinute: 60, burst: 20 },
  { prefix: '/genome/query', perMinute: 120, burst: 30 },
  { prefix: '/academy/', perMinute: 1200, burst: 400 },
  { prefix: '/challenges/', perMinute: 1200, burst: 400 },
  { prefix: '/remote/', perMinute: 1200, burst: 300 },
];

/** The default budgets times `factor` (a node whose rooms allow more than 60 messages a minute). */
export function scaledInboundLimits(factor: number): InboundLimit[] {
  return defaultInboundLimits.map((limit) => ({ ...limit, perMinute: Math.ceil(limit.perMinute * factor), burst: Math.ceil(limit.burst * factor) }));
}

/** Dropped envelopes of one origin in one family since the last report. */
export interface InboundDrop {
  origin: string;
  prefix: string;
  perMinute: number;
  count: number;
}

const maxOrigins = 4096;
const maxCachedTopics = 1024;
const reportEveryMs = 60_000;

export class InboundLimiter {
  private readonly families: { limit: InboundLimit; buckets: RateLimiter }[];
  private readonly drops = new Map<string, InboundDrop>();
  /** Topic → its family (or none): publishing repeats few topics, so each is matched once. */
  private readonly familyOf = new Map<string, InboundLimiter['families'][number] | null>();
  private lastReport = -Infinity;

  constructor(private readonly clock: Clock, limits: readonly InboundLimit[] = defaultInboundLimits) {
    this.families = limits.map((limit) => ({ limit, buckets: new RateLimiter(clock, { burst: limit.burst, perSecond: limit.perMinute / 60, maxKeys: maxOrigins }) }));
  }

  /** Takes a token of `origin` for `topic`'s family; false when that budget is spent (count it as dropped). */
  allow(origin: string, topic: string): boolean {
    let family = this.familyOf.get(topic);
    if (family === undefined) {
      family = this.families.find((candidate) => topic.startsWith(candidate.limit.prefix)) ?? null;
      if (this.familyOf.size >= maxCachedTopics) this.familyOf.clear();
      this.familyOf.set(topic, family);
    }
    if (!family || family.buckets.take(origin)) return true;
    const key = `${origin} ${family.limit.prefix}`;
    const drop = this.drops.get(key);
    if (drop) drop.count++;
    else if (this.drops.size < maxOrigins) this.drops.set(key, { origin, prefix: family.limit.prefix, perMinute: family.limit.perMinute, count: 1 });
    return false;
  }

  /** The drops since the last report, at most once a minute (a flood is logged, not echoed). */
  takeReport(): InboundDrop[] {
    const now = this.clock.monotonic();
    if (this.drops.size === 0 || now - this.lastReport < reportEveryMs) return [];
    this.lastReport = now;
    const report = [...this.drops.values()];
    this.drops.clear();
    return report;
  }
}
