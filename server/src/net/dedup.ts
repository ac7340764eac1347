/**
 * De-duplication and per-sender order of routed envelopes, keyed by (origin, seq), in bounded
 * memory: at most `maxOrigins` origins (least recently heard forgotten first), each a replay
 * window of `window` bits. An envelope is delivered only if its seq is above every seq already
 * delivered from that origin; one that arrives after a later one (possible only when a route
 * changes) is reported `late` and dropped: the rooms layer fills such gaps from its summaries.
 * With `strictOrder` off (the fast lane), reordered envelopes inside the window are delivered.
 */
import { BoundedMap } from './boundedMap';
import { ReplayWindow } from './replayWindow';

/** `reordered`: new, below the highest seq delivered, accepted because the caller allows it. */
export type DedupVerdict = 'new' | 'reordered' | 'duplicate' | 'late';

export class Dedup {
  private readonly origins: BoundedMap<string, ReplayWindow>;
  /** The origin accepted last (the map's newest key) and its window: consecutive envelopes mostly share one. */
  private lastOrigin: string | undefined;
  private lastWindow: ReplayWindow | undefined;

  constructor(readonly maxOrigins = 65536, private readonly window = 256, private readonly strictOrder = true) {
    this.origins = new BoundedMap(maxOrigins);
  }

  get trackedOrigins(): number {
    return this.origins.size;
  }

  /** `strict` (default: the constructor's choice) drops an unseen seq below the highest as late. */
  accept(origin: string, seq: number, strict = this.strictOrder): DedupVerdict {
    let replay: ReplayWindow | undefined;
    if (origin === this.lastOrigin) {
      // Still the newest key of the map (only accept() sets, eviction takes the oldest).
      replay = this.lastWindow!;
    } else {
      replay = this.origins.get(origin) ?? new ReplayWindow(this.window);
      this.origins.set(origin, replay);
      this.lastOrigin = origin;
      this.lastWindow = replay;
    }
    const verdict = replay.check(seq);
    if (verdict === 'replay' || verdict === 'too-old') return 'duplicate';
    // An unseen seq below the highest: a late arrival over another route.
    const below = replay.accepted > 0 && seq < this.highest(replay);
    if (below && strict) return 'late';
    replay.accept(seq);
    return below ? 'reordered' : 'new';
  }

  /** True when `seq` of `origin` was accepted already, or would be refused (a replay, too old, late). */
  seen(origin: string, seq: number, strict = this.strictOrder): boolean {
    const replay = this.origins.get(origin);
    if (!replay) return false;
    if (replay.check(seq) !== 'ok') return true;
    return strict && replay.accepted > 0 && seq < replay.highestSeen;
  }

  /** Forgets an origin, e.g. after it restarted with a lower seq (never, with clock-based seqs). */
  forget(origin: string): void {
    if (origin === this.lastOrigin) {
      this.lastOrigin = undefined;
      this.lastWindow = undefined;
    }
    this.origins.delete(origin);
  }

  private highest(window: ReplayWindow): number {
    return window.highestSeen;
  }
}
