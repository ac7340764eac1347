/** A manual clock for tests: timers fire only when `advance` moves time past them. */
import type { Clock, TimerHandle } from '../../server/src/kernel/clock';

interface Timer {
  at: number;
  every?: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  /** Monotonic ms since the clock was made. */
  time = 0;
  /** Wall clock at time 0; change it to skew the wall clock. */
  wallOffset = 1_800_000_000_000;
  private timers: Timer[] = [];

  now(): number {
    return this.wallOffset + this.time;
  }

  monotonic(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, ms), callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + ms, every: Math.max(1, ms), callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Pending timer delays from now, sorted. */
  pending(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  get activeTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = due.at;
      if (due.every) due.at += due.every;
      else due.cancelled = true;
      due.callback();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.time = end;
  }
}
