/**
 * Hybrid logical clock (Kulkarni et al.): timestamps that follow the wall clock, never go
 * backwards on this node, and move past the timestamps this node has seen.
 *
 * A remote timestamp far in the future (a peer with a broken clock) is not allowed to drag this
 * clock along: beyond `maxDriftMs` ahead of our wall clock it is ignored for our clock (the event
 * itself keeps its timestamp). Causality past that bound is kept per room by the event log, which
 * orders each new event after everything the room holds (eventLog.ts `appendLocal`).
 */
import type { Hlc } from '../../../protocol/rooms';

export interface HlcOptions {
  /** Wall clock in ms (injected). */
  now: () => number;
  /** Remote timestamps further ahead than this are not adopted. Default 60 s. */
  maxDriftMs?: number;
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.wall - b.wall || a.logical - b.logical;
}

export class HybridClock {
  private last: Hlc = { wall: 0, logical: 0 };
  private readonly maxDriftMs: number;

  constructor(private readonly options: HlcOptions) {
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
  }

  /** The latest timestamp issued or observed. */
  get current(): Hlc {
    return { ...this.last };
  }

  /** A new timestamp for a local event: strictly greater than every earlier one. */
  now(): Hlc {
    const wall = this.options.now();
    if (wall > this.last.wall) this.last = { wall, logical: 0 };
    else this.last = { wall: this.last.wall, logical: this.last.logical + 1 };
    return { ...this.last };
  }

  /**
   * Continues after a timestamp this node issued before a restart (even if the wall clock went
   * back), unless it lies beyond the drift bound: then it was set past a fast peer's message and
   * must not move this clock for every room.
   */
  restore(issued: Hlc): void {
    if (issued.wall > this.options.now() + this.maxDriftMs) return;
    if (compareHlc(issued, this.last) > 0) this.last = { wall: issued.wall, logical: issued.logical };
  }

  /**
   * Observes a timestamp from elsewhere (a received event, or the newest stored one at start).
   * Returns false when it was too far ahead to adopt.
   */
  observe(remote: Hlc): boolean {
    const wall = this.options.now();
    if (remote.wall > wall + this.maxDriftMs) return false;
    if (compareHlc(remote, this.last) > 0) this.last = { wall: remote.wall, logical: remote.logical };
    return true;
  }
}
