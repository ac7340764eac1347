/**
 * What makes a simulation reproducible: virtual time (one event queue, a Clock per node over it)
 * and seeded randomness (one independent stream per node and per concern). Nothing here reads the
 * real clock or Math.random, so the same seed replays the same run, event for event.
 */
import type { Clock, Random, TimerHandle } from '../../kernel/clock';

/**
 * Something due at a virtual time; it is also the handle the protocols cancel. Subclasses carry
 * their own fields (a message in flight, a node's timer) instead of a closure: a 10,000-node run
 * schedules millions of them, and each closure is one more object to allocate and collect.
 */
export abstract class SimEvent implements TimerHandle {
  cancelled = false;
  /** Repeat period (setInterval); 0 for a one-shot. */
  every = 0;

  cancel(): void {
    this.cancelled = true;
  }

  abstract run(): void;
}

class CallbackEvent extends SimEvent {
  constructor(
    readonly callback: () => void,
    every: number,
  ) {
    super();
    this.every = every;
  }

  run(): void {
    this.callback();
  }
}

/** Thrown when a run goes past its bounds: a protocol storm or a scenario that never settles. */
export class SimulationLimitError extends Error {}

/**
 * Events ordered by (virtual time, insertion order) in a binary heap. The insertion order breaks
 * ties, so two events due at the same millisecond always run in the order they were scheduled:
 * that is what keeps runs identical for one seed. The keys live in typed arrays beside the
 * events, so sifting compares numbers in two dense arrays instead of following a pointer per
 * comparison (the heap holds ~100k events at 10,000 nodes). Cancelled events stay in the heap
 * until popped (cheaper than removing them; most timers the protocols cancel are short).
 */
export class EventQueue {
  private events: SimEvent[] = [];
  private ats = new Float64Array(1024);
  private seqs = new Float64Array(1024);
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
    return this.events.length;
  }

  schedule(delayMs: number, run: () => void, every = 0): SimEvent {
    const event = new CallbackEvent(run, every);
    this.push(event, this.time + Math.max(0, delayMs));
    return event;
  }

  /** Schedules at an absolute virtual time (not before now), for arrivals that must keep their order. */
  scheduleAt(at: number, run: () => void): SimEvent {
    const event = new CallbackEvent(run, 0);
    this.push(event, Math.max(this.time, at));
    return event;
  }

  /** Queues an event object at an absolute virtual time (not before now). */
  enqueue(event: SimEvent, at: number): SimEvent {
    this.push(event, Math.max(this.time, at));
    return event;
  }

  /** Runs every event due up to `until` (inclusive), then leaves the clock at `until`. */
  runUntil(until: number): void {
    if (until > this.maxTimeMs) throw new SimulationLimitError(`simulation: virtual time would pass its bound of ${this.maxTimeMs} ms (asked to run to ${until} ms)`);
    while (this.events.length > 0 && this.ats[0]! <= until) {
      const at = this.ats[0]!;
      const event = this.pop();
      if (event.cancelled) continue;
      this.time = at;
      if (++this.executed > this.maxEvents) {
        throw new SimulationLimitError(`simulation: more than ${this.maxEvents} events by virtual ${Math.round(this.time)} ms (a message storm, or a bound set too low)`);
      }
      // Rescheduled before running, as a real interval is, so a callback may cancel it.
      if (event.every > 0) this.push(event, at + event.every);
      event.run();
    }
    this.time = Math.max(this.time, until);
  }

  private push(event: SimEvent, at: number): void {
    const events = this.events;
    let i = events.length;
    if (i === this.ats.length) this.grow();
    const ats = this.ats;
    const seqs = this.seqs;
    const seq = this.seq++;
    events.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentAt = ats[parent]!;
      if (parentAt < at || (parentAt === at && seqs[parent]! < seq)) break;
      ats[i] = parentAt;
      seqs[i] = seqs[parent]!;
      events[i] = events[parent]!;
      i = parent;
    }
    ats[i] = at;
    seqs[i] = seq;
    events[i] = event;
  }

  private pop(): SimEvent {
    const events = this.events;
    const ats = this.ats;
    const seqs = this.seqs;
    const top = events[0]!;
    const last = events.pop()!;
    const n = events.length;
    if (n > 0) {
      const at = ats[n]!;
      const seq = seqs[n]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        const right = child + 1;
        if (right < n && (ats[right]! < ats[child]! || (ats[right] === ats[child] && seqs[right]! < seqs[child]!))) child = right;
        const childAt = ats[child]!;
        if (at < childAt || (at === childAt && seq < seqs[child]!)) break;
        ats[i] = childAt;
        seqs[i] = seqs[child]!;
        events[i] = events[child]!;
        i = child;
      }
      ats[i] = at;
      seqs[i] = seq;
      events[i] = last;
    }
    return top;
  }

  private grow(): void {
    const ats = new Float64Array(this.ats.length * 2);
    ats.set(this.ats);
    this.ats = ats;
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }
}

/** Wall clock of virtual time 0: any fixed date, so `now()` is reproducible too. */
const epochMs = 1_800_000_000_000;

/** Whose timers these are: a crashed node's (`alive` false) do nothing. */
export interface TimerOwner {
  readonly alive: boolean;
}

/** A node's timer: runs its callback only while the node lives; an interval of a dead node stops. */
class NodeTimer extends SimEvent {
  constructor(
    private readonly owner: TimerOwner,
    private readonly callback: () => void,
    every: number,
  ) {
    super();
    this.every = every;
  }

  run(): void {
    if (this.owner.alive) this.callback();
    else if (this.every > 0) this.cancel();
  }
}

/**
 * A node's view of virtual time. Its timers do nothing once the node has crashed and its
 * intervals stop: a crashed process runs no code, and its timers cost nothing.
 */
export class NodeClock implements Clock {
  constructor(
    private readonly queue: EventQueue,
    private readonly owner: TimerOwner,
  ) {}

  now(): number {
    return epochMs + this.queue.now;
  }

  monotonic(): number {
    return this.queue.now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.queue.enqueue(new NodeTimer(this.owner, callback, 0), this.queue.now + Math.max(0, ms));
  }

  setInterval(callback: () => void, ms: number): TimerHandle {
    // A period under 1 ms would spin forever at one instant of virtual time.
    const period = Math.max(1, ms);
    return this.queue.enqueue(new NodeTimer(this.owner, callback, period), this.queue.now + period);
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
