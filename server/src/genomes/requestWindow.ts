/**
 * How many piece requests a downloader keeps in flight with one peer: a delay-based window in
 * the manner of LEDBAT (RFC 6817), the congestion control BitTorrent uses so that bulk transfers
 * yield to interactive traffic. Each piece's round trip is compared with the smallest seen from
 * that peer: while the extra delay stays under the target the window grows by about one request
 * per round trip (the link has room); when the pieces start to queue it shrinks, at most once per
 * round trip. So a transfer fills a slow or distant link, yet on a busy one it keeps only a few
 * pieces ahead of the chat messages that share the session.
 */
export interface RequestWindowOptions {
  initial?: number;
  min?: number;
  max?: number;
  /** Extra delay over the base round trip that counts as queueing, in ms. */
  targetDelayMs?: number;
}

export class RequestWindow {
  private size: number;
  private baseRttMs = Infinity;
  private lastDecreaseAt = -Infinity;
  private readonly min: number;
  private readonly max: number;
  private readonly target: number;

  constructor(options: RequestWindowOptions = {}) {
    this.min = options.min ?? 1;
    this.max = options.max ?? 16;
    this.target = options.targetDelayMs ?? 2;
    this.size = Math.min(this.max, Math.max(this.min, options.initial ?? 2));
  }

  /** Requests that may be in flight now. */
  get requests(): number {
    return Math.floor(this.size);
  }

  get baseRtt(): number {
    return this.baseRttMs;
  }

  /** A piece arrived `rttMs` after it was asked for, at monotonic time `now`. */
  onPiece(rttMs: number, now: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    this.baseRttMs = Math.min(this.baseRttMs, rttMs);
    const queueing = rttMs - this.baseRttMs;
    if (queueing <= this.target) {
      this.size = Math.min(this.max, this.size + 1 / this.size);
    } else if (now - this.lastDecreaseAt >= rttMs) {
      this.size = Math.max(this.min, this.size * 0.7);
      this.lastDecreaseAt = now;
    }
  }

  /** A request timed out: the peer or the link is overwhelmed. */
  onTimeout(): void {
    this.size = this.min;
  }
}
