/**
 * The simulated LAN under the overlay: latency, loss, sessions, connects, crashes and partitions.
 * It knows nothing of the protocols: it carries opaque payloads between endpoints and tells each
 * endpoint when a session with a peer opens or drops, as the node's session layer does.
 *
 * Loss is applied to every message, including those on a session. On a real TCP session a lost
 * segment is retransmitted, so loss shows up as delay, not as a missing message; dropping it here
 * is harsher than the real network, on purpose: the protocols must repair what is lost (Plumtree
 * through IHAVE/GRAFT, HyParView through its retries), which is what a session that dies between
 * two messages looks like to them.
 */
import type { EventQueue } from './simClock';
import { SeededRandom, SimEvent } from './simClock';

export interface NetworkOptions {
  /** One-way latency every message pays (ms). */
  baseLatencyMs: number;
  /** Up to this much more per pair of nodes, fixed for the pair (distance, switches), in ms. */
  pairLatencyMs: number;
  /** Up to this much more per message, uniform (queueing), in ms. */
  jitterMs: number;
  /** Probability that any one protocol message is lost. */
  loss: number;
  /** A connect to a dead or unreachable node fails after this long (ms). */
  connectTimeoutMs: number;
  /** A session with a crashed or cut-off node drops on the other side after this long (ms)... */
  failureDetectionMs: number;
  /** ...plus up to this much more: where the last heartbeat fell (ms). */
  failureDetectionJitterMs: number;
  /** More one-way latency between endpoints of different groups (clusters: subnets behind routers), in ms. */
  interGroupLatencyMs?: number;
}

export const lanNetwork: NetworkOptions = {
  baseLatencyMs: 0.2,
  pairLatencyMs: 0.3,
  jitterMs: 0.2,
  loss: 0,
  connectTimeoutMs: 2000,
  failureDetectionMs: 2000,
  failureDetectionJitterMs: 500,
};

/** What the network needs from a node: its identity, liveness, side, and the session callbacks. */
export interface Endpoint<P> {
  readonly index: number;
  readonly id: string;
  readonly alive: boolean;
  /** The node's group while the network is partitioned. */
  side: number;
  /** The endpoint's cluster, if the simulation has clusters (see interGroupLatencyMs). */
  readonly group?: number;
  /** Open sessions, by peer id: at most one per pair, present only while this side is open. */
  readonly sessions: Map<string, Session<P>>;
  sessionUp(peerId: string, outbound: boolean): void;
  sessionDown(peerId: string): void;
  connectFailed(peerId: string): void;
  deliver(fromId: string, payload: P): void;
}

/**
 * A session between two nodes. Each side closes on its own (a disconnect closes the caller's side
 * at once and the other's when the close arrives), and each direction is FIFO, as on TCP.
 */
export class Session<P> {
  openA = true;
  openB = true;
  /** Arrival time of the last message in each direction, to keep each direction in order. */
  lastAtoB = 0;
  lastBtoA = 0;
  constructor(
    readonly a: Endpoint<P>,
    readonly b: Endpoint<P>,
  ) {}

  other(side: Endpoint<P>): Endpoint<P> {
    return side === this.a ? this.b : this.a;
  }

  openFor(side: Endpoint<P>): boolean {
    return side === this.a ? this.openA : this.openB;
  }
}

export interface NetworkCounters {
  /** Messages handed to the network (session or routed), lost ones included. */
  sent: number;
  lost: number;
  /** Arrived after their session closed, at a dead node, or across a partition. */
  dropped: number;
  connects: number;
  connectsFailed: number;
}

export class SimNetwork<P> {
  readonly counters: NetworkCounters = { sent: 0, lost: 0, dropped: 0, connects: 0, connectsFailed: 0 };
  private readonly byId = new Map<string, Endpoint<P>>();
  private readonly random: SeededRandom;
  private readonly pairSeed: number;
  private partitioned = false;

  constructor(
    private readonly queue: EventQueue,
    private readonly options: NetworkOptions,
    seed: number,
  ) {
    // Stream -1: the network's own draws (loss, jitter), apart from every node's stream.
    this.random = new SeededRandom(seed, -1);
    this.pairSeed = seed;
  }

  add(endpoint: Endpoint<P>): void {
    this.byId.set(endpoint.id, endpoint);
  }

  endpoint(id: string): Endpoint<P> | undefined {
    return this.byId.get(id);
  }

  reachable(a: Endpoint<P>, b: Endpoint<P>): boolean {
    return !this.partitioned || a.side === b.side;
  }

  /** Opens a session; the initiator hears sessionUp after one round trip, or connectFailed after the timeout. */
  connect(from: Endpoint<P>, toId: string): void {
    if (!from.alive) return;
    this.counters.connects++;
    const to = this.byId.get(toId);
    const roundTrip = to ? 2 * this.latency(from, to) : 0;
    this.queue.schedule(roundTrip, () => {
      if (!from.alive) return;
      if (to && to !== from && to.alive && this.reachable(from, to)) return this.establish(from, to);
      this.queue.schedule(this.options.connectTimeoutMs - roundTrip, () => {
        if (!from.alive) return;
        this.counters.connectsFailed++;
        from.connectFailed(toId);
      });
    });
  }

  /** Closes `from`'s side now; the other side hears sessionDown when the close arrives. */
  disconnect(from: Endpoint<P>, peerId: string): void {
    const session = from.sessions.get(peerId);
    if (!session) return;
    this.closeSide(from, session);
    const to = session.other(from);
    this.queue.scheduleAt(this.arrival(session, from, to), () => {
      if (!session.openFor(to)) return;
      this.closeSide(to, session);
      if (to.alive) to.sessionDown(from.id);
    });
  }

  /** Sends over the open session with `toId`; false when `from` has none. */
  send(from: Endpoint<P>, toId: string, payload: P): boolean {
    const session = from.sessions.get(toId);
    if (!session || !from.alive) return false;
    this.counters.sent++;
    if (this.lose()) return true;
    const to = session.other(from);
    this.queue.enqueue(new Arrival(this, session, from, to, payload), this.arrival(session, from, to));
    return true;
  }

  /**
   * Sends to any node, as the node's router would (directly, no session needed). A router cannot
   * know a peer is dead, so a message to a dead or cut-off node is accepted and then lost.
   */
  sendTo(from: Endpoint<P>, toId: string, payload: P): boolean {
    const to = this.byId.get(toId);
    if (!to || to === from || !from.alive) return false;
    this.counters.sent++;
    if (this.lose()) return true;
    this.queue.enqueue(new Arrival(this, undefined, from, to, payload), this.queue.now + this.latency(from, to));
    return true;
  }

  /** A message arrives: delivered, unless its session closed, its receiver died or a partition cut them apart. */
  arrive(arrival: Arrival<P>): void {
    const { session, from, to } = arrival;
    if ((session && !session.openFor(to)) || !to.alive || !this.reachable(from, to)) {
      this.counters.dropped++;
      return;
    }
    to.deliver(from.id, arrival.payload);
  }

  /** The node stops: its side of every session closes now, the other side notices after failure detection. */
  crash(node: Endpoint<P>): void {
    for (const session of [...node.sessions.values()]) {
      this.closeSide(node, session);
      this.detectLoss(session.other(node), session);
    }
  }

  /** Cuts the network between sides (each endpoint's `side`); sessions across drop after failure detection. */
  partition(): void {
    this.partitioned = true;
    for (const node of this.byId.values()) {
      if (!node.alive) continue;
      for (const session of node.sessions.values()) {
        if (session.other(node).side !== node.side) this.detectLoss(node, session);
      }
    }
  }

  heal(): void {
    this.partitioned = false;
  }

  /** One-way latency: base + the pair's fixed share + this message's jitter. */
  latency(a: Endpoint<P>, b: Endpoint<P>): number {
    const { baseLatencyMs, pairLatencyMs, jitterMs } = this.options;
    const inter = a.group !== b.group ? (this.options.interGroupLatencyMs ?? 0) : 0;
    return baseLatencyMs + inter + pairLatencyMs * pairHash(this.pairSeed, a.index, b.index) + jitterMs * this.random.next();
  }

  private lose(): boolean {
    if (this.options.loss > 0 && this.random.next() < this.options.loss) {
      this.counters.lost++;
      return true;
    }
    return false;
  }

  /** When a message sent now from `from` arrives at `to`: never before the previous one (FIFO). */
  private arrival(session: Session<P>, from: Endpoint<P>, to: Endpoint<P>): number {
    let at = this.queue.now + this.latency(from, to);
    if (from === session.a) {
      at = Math.max(at, session.lastAtoB);
      session.lastAtoB = at;
    } else {
      at = Math.max(at, session.lastBtoA);
      session.lastBtoA = at;
    }
    return at;
  }

  private establish(from: Endpoint<P>, to: Endpoint<P>): void {
    const mine = from.sessions.get(to.id);
    const theirs = to.sessions.get(from.id);
    if (mine && mine === theirs) {
      // Both already hold this session (they dialled each other at once): the dialler is told it is up.
      from.sessionUp(to.id, true);
      return;
    }
    // Leftovers of a session one side already closed are replaced by the new one (one per pair).
    if (mine) this.closeSide(from, mine);
    if (theirs) {
      this.closeSide(to, theirs);
      to.sessionDown(from.id);
    }
    const session = new Session<P>(from, to);
    from.sessions.set(to.id, session);
    to.sessions.set(from.id, session);
    // The acceptor first: anything the dialler sends from its sessionUp arrives after this.
    to.sessionUp(from.id, false);
    if (from.alive && session.openFor(from)) from.sessionUp(to.id, true);
  }

  private detectLoss(survivor: Endpoint<P>, session: Session<P>): void {
    const { failureDetectionMs, failureDetectionJitterMs } = this.options;
    this.queue.schedule(failureDetectionMs + failureDetectionJitterMs * this.random.next(), () => {
      if (!session.openFor(survivor) || !survivor.alive) return;
      const peer = session.other(survivor);
      // A partition healed before anyone noticed leaves the session as it was (a blip).
      if (peer.alive && this.reachable(survivor, peer)) return;
      this.closeSide(survivor, session);
      survivor.sessionDown(peer.id);
    });
  }

  private closeSide(node: Endpoint<P>, session: Session<P>): void {
    if (node === session.a) session.openA = false;
    else session.openB = false;
    const peer = session.other(node);
    if (node.sessions.get(peer.id) === session) node.sessions.delete(peer.id);
  }
}

/** A message in flight (one object per message, no closure). `session`: undefined when routed (sendTo). */
class Arrival<P> extends SimEvent {
  constructor(
    private readonly network: SimNetwork<P>,
    readonly session: Session<P> | undefined,
    readonly from: Endpoint<P>,
    readonly to: Endpoint<P>,
    readonly payload: P,
  ) {
    super();
  }

  run(): void {
    this.network.arrive(this);
  }
}

/** A fixed value in [0, 1) per unordered pair of nodes (murmur3's finaliser over both indices). */
function pairHash(seed: number, i: number, j: number): number {
  const lo = Math.min(i, j);
  const hi = Math.max(i, j);
  let h = Math.imul(lo + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x7f4a7c15, 0xc2b2ae35) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
