/**
 * What makes a simulation reproducible: virtual time (one event queue, a Clock per node over it)
 * and seeded randomness (one independent stream per node and per concern). Nothing here reads the
 * real clock or Math.random, so the same seed replays the same run, event for event.
 */
import type { Clock, Random, TimerHandle } from '../../node/clock';

/** A scheduled callback; it is also the handle the protocols cancel (one object per timer). */
export class SimEvent implements TimerHandle {
  cancelled = false;
  constructor(
    public at: number,
    public seq: number,
    readonly run: () => void,
    /** Repeat period for setInterval; 0 for a one-shot. */
    readonly every: number,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** Thrown when a run goes past its bounds: a protocol storm or a scenario that never settles. */
export class SimulationLimitError extends Error {}

/**
 * Events ordered by (virtual time, insertion order) in a binary heap. The insertion order breaks
 * ties, so two events due at the same millisecond always run in the order they were scheduled:
 * that is what keeps runs identical for one seed. Cancelled events stay in the heap until popped
 * (cheaper than removing them; most timers the protocols cancel are short).
 */
export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  private time = 0;
  /** Events run so far (cancelled ones not counted). */
  executed = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxTimeMs: number,
  ) {}

  get now(): number {
    return this.time;
  }

  get size(): number {
    return this.heap.length;
  }

  schedule(delayMs: number, run: () => void, every = 0): SimEvent {
    const event = new SimEvent(this.time + Math.max(0, delayMs), this.seq++, run, every);
    this.push(event);
    return event;
  }

  /** Schedules at an absolute virtual time (not before now), for arrivals that must keep their order. */
  scheduleAt(at: number, run: () => void): SimEvent {
    const event = new SimEvent(Math.max(this.time, at), this.seq++, run, 0);
    this.push(event);
    return event;
  }

  /** Runs every event due up to `until` (inclusive), then leaves the clock at `until`. */
  runUntil(until: number): void {
    if (until > this.maxTimeMs) throw new SimulationLimitError(`simulation: virtual time would pass its bound of ${this.maxTimeMs} ms (asked to run to ${until} ms)`);
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.at <= until) {
      const event = this.pop();
      if (event.cancelled) continue;
      this.time = event.at;
      if (++this.executed > this.maxEvents) {
        throw new SimulationLimitError(`simulation: more than ${this.maxEvents} events by virtual ${Math.round(this.time)} ms (a message storm, or a bound set too low)`);
      }
      if (event.every > 0) {
        // Rescheduled before running, as a real interval is, so a callback may cancel it.
        event.at += event.every;
        event.seq = this.seq++;
        this.push(event);
      }
      event.run();
    }
    this.time = Math.max(this.time, until);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (!earlier(event, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): SimEvent {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && earlier(heap[right]!, heap[left]!) ? right : left;
        if (!earlier(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Wall clock of virtual time 0: any fixed date, so `now()` is reproducible too. */
const epochMs = 1_800_000_000_000;

/**
 * A node's view of virtual time. Its timers do nothing once the node has crashed (`alive`
 * false) and its intervals stop: a crashed process runs no code, and its timers cost nothing.
 */
export class NodeClock implements Clock {
  constructor(
    private readonly queue: EventQueue,
    private readonly alive: () => boolean,
  ) {}

  now(): number {
    return epochMs + this.queue.now;
  }

  monotonic(): number {
    return this.queue.now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.queue.schedule(ms, () => {
      if (this.alive()) callback();
    });
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    // A period under 1 ms would spin forever at one instant of virtual time.
    const period = Math.max(1, ms);
    const event = this.queue.schedule(
      period,
      () => {
        if (this.alive()) callback();
        else event.cancel();
      },
      period,
    );
    return event;
  }
}

/**
 * xoshiro128** (Blackman & Vigna): small, fast, 32-bit, good enough statistically for a
 * simulation, and seedable per stream. State seeded through splitmix32, so nearby seeds (node
 * 7 and node 8 of one run) give unrelated streams.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is the run's seed; `stream` tells apart the streams of one run (a node, the network). */
  constructor(seed: number, stream: number) {
    let s = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b) ^ 0x2545f491) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the one state xoshiro cannot leave
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.nextUint32();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
