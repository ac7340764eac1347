/**
 * A deterministic in-process simulation of the overlay: thousands of nodes, each running the real
 * HyParView and Plumtree (unchanged) over a simulated LAN (simNetwork.ts) in virtual time
 * (simClock.ts). One seed gives one run, event for event, so a failure found here replays.
 *
 * Each simulated node is wired as the real node wires them: membership `up`/`down` become
 * Plumtree's neighbours, the node's dedup is a set of delivered ids, and the broadcast item
 * carries its root, id, hop count and send time (the host's envelope).
 *
 * `runScenario` plays one timeline (join, churn with broadcasts, optional partition and heal,
 * idle) and returns plain-object metrics; the unit test asserts on them and bench/overlay.ts
 * prints them.
 */
import { HyParView, type HyParViewOptions } from './hyparview';
import { Plumtree, type PlumtreeOptions } from './plumtree';
import { EventQueue, NodeClock, SeededRandom } from './simClock';
import { SimClusters, type ClusterScenario, type ClusterShape } from './simClusters';
import { lanNetwork, SimNetwork, type Endpoint, type NetworkOptions, type Session } from './simNetwork';
import type { BroadcastControl, MembershipMessage, PeerRef } from './types';

/** The broadcast payload as the host carries it: Plumtree treats it as opaque. */
export interface Item {
  root: string;
  id: string;
  /** Hops from the root to the node holding this copy (0 at the root). */
  hops: number;
  /** Virtual time of the broadcast, for latency. */
  sentAt: number;
}

type Payload = MembershipMessage | BroadcastControl | Item;

function isMembership(payload: MembershipMessage | BroadcastControl): payload is MembershipMessage {
  return payload.t.startsWith('hv.');
}

type MembershipTuning = Omit<HyParViewOptions, 'self' | 'clock' | 'random' | 'links'>;
type BroadcastTuning = Omit<PlumtreeOptions<Item>, 'self' | 'clock' | 'links' | 'has'>;

export interface ScenarioOptions {
  seed: number;
  /** Nodes at the start (churn keeps the count about level). */
  nodes: number;
  /** The nodes start one after another, evenly over this long (ms). */
  joinWindowMs: number;
  /**
   * How a new node finds the overlay: `join` through one random live member (a configured peer),
   * or `multicast`: `candidates` random live members handed to addCandidate (discovery beacons).
   */
  discovery: { mode: 'join' } | { mode: 'multicast'; candidates: number };
  /** Quiet time after the last join, before churn. */
  settleMs: number;
  /** Fraction of the live nodes that crash per minute, each replaced by a new node (new id). */
  churnPerMinute: number;
  churnMs: number;
  /** Broadcasts per second from random live members, during churn and after a heal. */
  broadcastsPerSecond: number;
  /** Broadcasts come from this many distinct members (replaced when they crash); 0: any live member each time. */
  speakers: number;
  /** A broadcast's dissemination window: a member that has not got it by then missed it. */
  windowMs: number;
  /** Longest wait for the overlay to be whole again after joins, churn or a heal. */
  repairLimitMs: number;
  /** Split the live nodes into two random halves for `durationMs`, then heal and broadcast for `broadcastMs`. */
  partition?: { durationMs: number; broadcastMs: number };
  /** Quiet period at the end: protocol messages per node per second with nothing to broadcast. */
  idleMs: number;
  network?: Partial<NetworkOptions>;
  membership?: Partial<MembershipTuning>;
  broadcast?: Partial<BroadcastTuning>;
  /** Bounds: the run throws (SimulationLimitError) past either. */
  maxVirtualMs: number;
  maxEvents: number;
  /** Progress lines (stderr in the bench). */
  progress?: (line: string) => void;
  /** Nodes in clusters (discovery then hands a node members of its own cluster, and one other node). */
  clusters?: ClusterScenario;
  /** Replays one node's membership life (sessions, view changes, messages in and out), to debug a seed. */
  watch?: { id: string; log: (line: string) => void };
}

export interface Distribution {
  p50: number;
  p99: number;
  max: number;
}

export interface DeliveryMetrics {
  broadcasts: number;
  /** Deliveries owed: per broadcast, members live from its send to the end of its window (origin excluded). */
  expected: number;
  delivered: number;
  /** delivered / expected over all broadcasts. */
  ratio: number;
  /** The worst single broadcast. */
  minRatio: number;
  /** Broadcasts that reached every member owed. */
  complete: number;
}

export interface OverlayShape {
  live: number;
  /** Active-view sizes over live nodes. */
  degree: { min: number; p50: number; max: number };
  /** % of live nodes with an active view at or above activeTarget. */
  atTargetPct: number;
  /** Connected components of the active-view graph over live nodes (symmetric links only). */
  components: number;
  /** The largest component, % of live nodes. */
  largestComponentPct: number;
  /** Live nodes with no active peer... */
  lonely: number;
  /** ...the first few of them, to replay one (with the seed). */
  lonelyIds: string[];
  /** Active-view entries not mirrored by the peer (or naming a dead node). */
  asymmetric: number;
  /** Every live node has ≥ 1 active peer, the graph is connected and symmetric. */
  whole: boolean;
}

export interface RepairMetrics {
  /** Virtual ms until the overlay was whole again; null if not within repairLimitMs. */
  ms: number | null;
  shape: OverlayShape;
}

export interface SimulationMetrics {
  seed: number;
  nodes: number;
  joined: number;
  crashed: number;
  virtualMs: number;
  events: number;
  cpuMs: number;
  delivery: { churn: DeliveryMetrics; afterHeal: DeliveryMetrics | null; all: DeliveryMetrics };
  /** Eager copies received / deliveries (1.0: a perfect tree; the first message of a root floods). */
  duplicatesPerDelivery: number;
  /** The same, apart: broadcasts that were their root's first (a flood) and the others (its tree). */
  duplicates: { firstOfRoot: { broadcasts: number; perDelivery: number }; repeatedRoot: { broadcasts: number; perDelivery: number } };
  hops: Distribution;
  /** During churn, and in the first broadcasts after a heal (when few links join the two halves yet). */
  hopsByPhase: { churn: Distribution; afterHeal: Distribution | null };
  latencyMs: Distribution;
  repair: { afterJoin: RepairMetrics; afterChurn: RepairMetrics; afterHeal: RepairMetrics | null };
  idle: { seconds: number; msgsPerNodePerSec: number; membershipPerNodePerSec: number; controlPerNodePerSec: number; connectsPerNodePerSec: number };
  messages: { membership: number; control: number; eager: number; lost: number; dropped: number; connects: number; connectsFailed: number; rejected: number };
  /** `shortcuts`: eager links swapped for a lazy one announcing a shorter path (Plumtree's section 3.8). */
  plumtree: { grafts: number; prunes: number; ihaveIds: number; shortcuts: number };
  end: OverlayShape;
  /** With clusters: the inter-cluster links at the end. */
  clusters?: ClusterShape;
}

/** How long a node joined through one contact may stay alone before it joins through another. */
const rejoinAfterMs = 15_000;

export const scenarioDefaults: Omit<ScenarioOptions, 'seed' | 'nodes'> = {
  joinWindowMs: 20_000,
  discovery: { mode: 'join' },
  settleMs: 10_000,
  churnPerMinute: 0.1,
  churnMs: 120_000,
  broadcastsPerSecond: 2,
  speakers: 0,
  windowMs: 5_000,
  repairLimitMs: 60_000,
  idleMs: 60_000,
  maxVirtualMs: 3_600_000,
  maxEvents: 50_000_000,
};

/** One simulated node: the two protocols, the glue between them, and its dedup. */
class SimNode implements Endpoint<Payload> {
  readonly id: string;
  readonly ref: PeerRef;
  readonly group?: number;
  alive = true;
  side = 0;
  readonly sessions = new Map<string, Session<Payload>>();
  /** When it first had an active peer: before that it cannot be owed a broadcast. */
  memberSince = Infinity;
  crashedAt = Infinity;
  hasBroadcast = false;
  /** The node's dedup: ids of broadcasts it delivered. */
  readonly delivered = new Set<string>();
  readonly membership: HyParView;
  readonly broadcast: Plumtree<Item>;

  constructor(
    readonly index: number,
    private readonly sim: Simulation,
    membership: Partial<MembershipTuning>,
    broadcast: Partial<BroadcastTuning>,
  ) {
    this.id = `n${index}`;
    this.group = sim.clusters?.groupOf(index);
    this.ref = this.group === undefined ? { id: this.id, addr: `sim:${index}` } : { id: this.id, addr: `sim:${index}`, cluster: sim.clusters!.label(this.group) };
    const clock = new NodeClock(sim.queue, this);
    const random = new SeededRandom(sim.seed, index);
    const network = sim.network;
    this.membership = new HyParView({
      ...membership,
      cluster: this.group === undefined ? undefined : sim.clusters!.policyFor(this.id, this.group),
      self: this.ref,
      clock,
      random,
      links: {
        connect: (peer) => {
          if (this.watched) this.trace(`connect ${peer.id}`);
          network.connect(this, peer.id);
        },
        disconnect: (peerId) => {
          if (this.watched) this.trace(`disconnect ${peerId}`);
          network.disconnect(this, peerId);
        },
        send: (peerId, message) => this.traced(peerId, message, sim.count('membership', network.send(this, peerId, message))),
        sendTo: (peer, message) => this.traced(peer.id, message, sim.count('membership', network.sendTo(this, peer.id, message))),
      },
    });
    this.broadcast = new Plumtree<Item>({
      alignFlushes: true,
      ...broadcast,
      self: this.id,
      clock,
      random,
      has: (_root, id) => this.delivered.has(id),
      links: {
        push: (peerId, item) => sim.count('eager', network.send(this, peerId, item)),
        control: (peerId, message) => sim.count('control', network.send(this, peerId, message)),
      },
    });
    // The real node's glue: the active view is Plumtree's neighbourhood.
    this.membership.on('up', (peerId: string) => {
      if (this.watched) this.trace(`up ${peerId}`);
      if (this.memberSince === Infinity) this.memberSince = sim.queue.now;
      this.broadcast.neighborUp(peerId);
    });
    this.membership.on('down', (peerId: string) => {
      if (this.watched) this.trace(`down ${peerId}`);
      this.broadcast.neighborDown(peerId);
    });
  }

  sessionUp(peerId: string, outbound: boolean): void {
    if (this.watched) this.trace(`sessionUp ${peerId} ${outbound ? 'out' : 'in'}`);
    this.membership.sessionUp(peerId, outbound);
  }

  sessionDown(peerId: string): void {
    if (this.watched) this.trace(`sessionDown ${peerId}`);
    this.membership.sessionDown(peerId);
  }

  connectFailed(peerId: string): void {
    if (this.watched) this.trace(`connectFailed ${peerId}`);
    this.membership.connectFailed(peerId);
  }

  /** Is this the watched node (ScenarioOptions.watch)? Callers ask first: a trace line costs a JSON.stringify per message. */
  get watched(): boolean {
    return this.sim.watch?.id === this.id;
  }

  trace(line: string): void {
    this.sim.watch?.log(`${this.sim.queue.now.toFixed(1)} ${this.id} ${line}`);
  }

  private traced(peerId: string, message: MembershipMessage, sent: boolean): boolean {
    if (this.watched) this.trace(`-> ${peerId} ${JSON.stringify(message)}${sent ? '' : ' (no session)'}`);
    return sent;
  }

  deliver(fromId: string, payload: Payload): void {
    this.sim.deliver(this, fromId, payload);
  }
}

interface BroadcastRecord {
  id: string;
  origin: number;
  sentAt: number;
  phase: 'churn' | 'afterHeal';
  /** Per node index (nodes that existed at send time), 1 once delivered. */
  got: Uint8Array;
  /** The origin's first broadcast: no tree for this root yet, so it floods every link. */
  firstOfRoot: boolean;
  copies: number;
  deliveries: number;
}

/** The simulation's state and primitives; `runScenario` composes them into a timeline. */
export class Simulation {
  readonly queue: EventQueue;
  readonly network: SimNetwork<Payload>;
  readonly nodes: SimNode[] = [];
  /** Live nodes, in no particular order (swap-removed), for O(1) random picks. */
  private readonly live: SimNode[] = [];
  private readonly livePosition = new Map<SimNode, number>();
  private readonly random: SeededRandom;
  private readonly broadcasts: BroadcastRecord[] = [];
  private readonly byId = new Map<string, BroadcastRecord>();
  private broadcastSeq = 0;
  readonly sent = { membership: 0, control: 0, eager: 0 };
  eagerReceived = 0;
  deliveries = 0;
  rejected = 0;
  crashed = 0;
  readonly hops: number[] = [];
  readonly hopsByPhase: Record<BroadcastRecord['phase'], number[]> = { churn: [], afterHeal: [] };
  readonly latencies: number[] = [];
  readonly clusters: SimClusters | undefined;

  watch: ScenarioOptions['watch'];

  constructor(
    readonly seed: number,
    network: NetworkOptions,
    maxEvents: number,
    maxVirtualMs: number,
    private readonly membership: Partial<MembershipTuning>,
    private readonly broadcastTuning: Partial<BroadcastTuning>,
    clusters?: ClusterScenario,
  ) {
    this.queue = new EventQueue(maxEvents, maxVirtualMs);
    this.network = new SimNetwork<Payload>(this.queue, network, seed);
    // Stream -2: the scenario's draws (who joins through whom, who crashes, who speaks).
    this.random = new SeededRandom(seed, -2);
    // Stream -3: the clusters' (which members a newcomer hears of).
    this.clusters = clusters && new SimClusters(clusters, this.queue, new SeededRandom(seed, -3));
  }

  get liveCount(): number {
    return this.live.length;
  }

  /** Counts a message the protocols sent (lost ones included) and passes the link's answer through. */
  count(kind: 'membership' | 'control' | 'eager', accepted: boolean): boolean {
    if (accepted) this.sent[kind]++;
    return accepted;
  }

  /** A new node (new id) starts; it finds the overlay by `discovery`. */
  addNode(discovery: ScenarioOptions['discovery']): SimNode {
    const node = new SimNode(this.nodes.length, this, this.membership, this.broadcastTuning);
    this.nodes.push(node);
    this.network.add(node);
    node.membership.start();
    const contact = (): SimNode | undefined => {
      // Members first; the very first nodes have none yet, and any live node will do.
      const member = this.randomMember();
      return member ?? (this.live.length > 0 ? this.pick(this.live) : undefined);
    };
    if (this.clusters) {
      for (const candidate of this.clusters.join(node)) node.membership.addCandidate(candidate);
    } else if (discovery.mode === 'join') {
      const through = contact();
      if (through) node.membership.join(through.ref);
      this.rejoinWhileAlone(node, contact);
    } else {
      for (let i = 0; i < discovery.candidates; i++) {
        const candidate = contact();
        if (candidate) node.membership.addCandidate(candidate.ref);
      }
    }
    this.livePosition.set(node, this.live.length);
    this.live.push(node);
    return node;
  }

  /**
   * A node whose contact crashed before its JOIN spread (or whose JOIN was lost) would ask that
   * dead contact forever; on a LAN the beacons offer others, and an operator with a list of
   * peers would try the next: while it is still alone `rejoinAfterMs` later, it joins through
   * another member.
   */
  private rejoinWhileAlone(node: SimNode, contact: () => SimNode | undefined): void {
    this.queue.schedule(rejoinAfterMs, () => {
      if (!node.alive || node.membership.activePeers().length > 0) return;
      const through = contact();
      if (through && through !== node) node.membership.join(through.ref);
      this.rejoinWhileAlone(node, contact);
    });
  }

  /** The node's process dies: no goodbye, its peers notice after failure detection. */
  crash(node: SimNode): void {
    if (!node.alive) return;
    node.alive = false;
    node.crashedAt = this.queue.now;
    this.crashed++;
    this.clusters?.leave(node);
    const at = this.livePosition.get(node)!;
    const last = this.live.pop()!;
    if (last !== node) {
      this.live[at] = last;
      this.livePosition.set(last, at);
    }
    this.livePosition.delete(node);
    this.network.crash(node);
  }

  randomLive(): SimNode {
    return this.pick(this.live);
  }

  randomMember(): SimNode | undefined {
    if (this.live.length === 0) return undefined;
    for (let tries = 0; tries < 100; tries++) {
      const node = this.pick(this.live);
      if (node.memberSince <= this.queue.now) return node;
    }
    return undefined;
  }

  /** Splits the live nodes into two random halves (sides 0 and 1) and cuts the network between them. */
  partition(): void {
    const order = this.shuffled(this.live);
    order.forEach((node, i) => (node.side = i < order.length / 2 ? 0 : 1));
    this.network.partition();
  }

  heal(): void {
    this.network.heal();
  }

  /** `origin` broadcasts a new item now. */
  broadcastFrom(origin: SimNode, phase: BroadcastRecord['phase']): void {
    const id = `${origin.id}:${this.broadcastSeq++}`;
    const firstOfRoot = !origin.hasBroadcast;
    origin.hasBroadcast = true;
    const record: BroadcastRecord = { id, origin: origin.index, sentAt: this.queue.now, phase, got: new Uint8Array(this.nodes.length), firstOfRoot, copies: 0, deliveries: 0 };
    this.broadcasts.push(record);
    this.byId.set(id, record);
    origin.delivered.add(id);
    origin.broadcast.broadcast(id, { root: origin.id, id, hops: 0, sentAt: this.queue.now });
  }

  /** What a node does with what arrives: membership to HyParView, control to Plumtree, items to dedup then Plumtree. */
  deliver(node: SimNode, fromId: string, payload: Payload): void {
    if ('t' in payload) {
      if (node.watched && isMembership(payload)) node.trace(`<- ${fromId} ${JSON.stringify(payload)}`);
      const ok = isMembership(payload) ? node.membership.receive(fromId, payload) : node.broadcast.receiveControl(fromId, payload);
      if (!ok) this.rejected++;
      return;
    }
    this.eagerReceived++;
    const record = this.byId.get(payload.id);
    if (record) record.copies++;
    if (node.delivered.has(payload.id)) {
      node.broadcast.receive(fromId, payload.root, payload.id, payload, false, payload.hops + 1);
      return;
    }
    node.delivered.add(payload.id);
    const local: Item = { root: payload.root, id: payload.id, hops: payload.hops + 1, sentAt: payload.sentAt };
    this.deliveries++;
    this.hops.push(local.hops);
    if (record) this.hopsByPhase[record.phase].push(local.hops);
    this.latencies.push(this.queue.now - local.sentAt);
    if (record) {
      record.deliveries++;
      if (node.index < record.got.length) record.got[node.index] = 1;
    }
    node.broadcast.receive(fromId, local.root, local.id, local, true, local.hops);
  }

  /** Eager copies per delivery, over the broadcasts that were (or not) their root's first. */
  duplicates(firstOfRoot: boolean): { broadcasts: number; perDelivery: number } {
    let copies = 0;
    let deliveries = 0;
    let broadcasts = 0;
    for (const record of this.broadcasts) {
      if (record.firstOfRoot !== firstOfRoot) continue;
      broadcasts++;
      copies += record.copies;
      deliveries += record.deliveries;
    }
    return { broadcasts, perDelivery: round(copies / Math.max(1, deliveries), 3) };
  }

  /** Delivery over the broadcasts of `phase` (all when undefined), each judged over its own window. */
  delivery(windowMs: number, phase?: BroadcastRecord['phase']): DeliveryMetrics {
    let expected = 0;
    let delivered = 0;
    let minRatio = 1;
    let complete = 0;
    let count = 0;
    for (const record of this.broadcasts) {
      if (phase && record.phase !== phase) continue;
      count++;
      const windowEnd = record.sentAt + windowMs;
      let owed = 0;
      let got = 0;
      for (let i = 0; i < record.got.length; i++) {
        const node = this.nodes[i]!;
        if (i === record.origin || node.memberSince > record.sentAt || node.crashedAt <= windowEnd) continue;
        owed++;
        got += record.got[i]!;
      }
      expected += owed;
      delivered += got;
      if (got === owed) complete++;
      if (owed > 0) minRatio = Math.min(minRatio, got / owed);
    }
    return { broadcasts: count, expected, delivered, ratio: expected === 0 ? 1 : delivered / expected, minRatio, complete };
  }

  /** The active-view graph over live nodes, as HyParView itself reports it: degrees, symmetry, components. */
  shape(): OverlayShape {
    const target = this.nodes[0]?.membership.stats().activeTarget ?? 1;
    const degrees = new Float64Array(this.live.length);
    const views = new Map<SimNode, SimNode[]>();
    let asymmetric = 0;
    let atTarget = 0;
    let lonely = 0;
    const lonelyIds: string[] = [];
    this.live.forEach((node, i) => {
      const peers: SimNode[] = [];
      for (const peerId of node.membership.activePeers()) {
        const peer = this.network.endpoint(peerId) as SimNode | undefined;
        // A dead peer still listed (not yet detected) counts as a one-sided link.
        if (peer?.alive && peer.membership.isActive(node.id)) peers.push(peer);
        else asymmetric++;
      }
      views.set(node, peers);
      degrees[i] = peers.length;
      if (peers.length >= target) atTarget++;
      if (peers.length === 0 && lonely++ < 5) lonelyIds.push(node.id);
    });
    const seen = new Set<SimNode>();
    let components = 0;
    let largest = 0;
    for (const start of this.live) {
      if (seen.has(start)) continue;
      components++;
      seen.add(start);
      const stack = [start];
      let size = 0;
      while (stack.length > 0) {
        const node = stack.pop()!;
        size++;
        for (const peer of views.get(node)!) {
          if (seen.has(peer)) continue;
          seen.add(peer);
          stack.push(peer);
        }
      }
      largest = Math.max(largest, size);
    }
    degrees.sort();
    return {
      live: this.live.length,
      degree: { min: degrees[0] ?? 0, p50: percentile(degrees, 50), max: degrees[degrees.length - 1] ?? 0 },
      atTargetPct: round((100 * atTarget) / Math.max(1, this.live.length), 1),
      components,
      largestComponentPct: round((100 * largest) / Math.max(1, this.live.length), 2),
      lonely,
      lonelyIds: lonelyIds.sort(),
      asymmetric,
      whole: lonely === 0 && components <= 1 && asymmetric === 0,
    };
  }

  /** Is some live node lonely or holding a one-sided link? Then shape() would not say whole. */
  private brokenLink(): boolean {
    for (const node of this.live) {
      const peerIds = node.membership.activePeers();
      if (peerIds.length === 0) return true;
      for (const peerId of peerIds) {
        const peer = this.network.endpoint(peerId) as SimNode | undefined;
        if (!peer?.alive || !peer.membership.isActive(node.id)) return true;
      }
    }
    return false;
  }

  /**
   * Runs until the overlay is whole; the time it took, or null past `limitMs`. Checked every
   * 100 ms for the first 2 s, then every 500 ms, then every second: a check walks the whole graph.
   */
  runUntilWhole(limitMs: number): RepairMetrics {
    const started = this.queue.now;
    for (;;) {
      const elapsed = this.queue.now - started;
      // Most checks fail on the first few nodes: the full shape only when it may be whole, or to report.
      if (!this.brokenLink() || elapsed >= limitMs) {
        const shape = this.shape();
        if (shape.whole) return { ms: round(elapsed, 0), shape };
        if (elapsed >= limitMs) return { ms: null, shape };
      }
      this.queue.runUntil(this.queue.now + (elapsed < 2000 ? 100 : elapsed < 10_000 ? 500 : 1000));
    }
  }

  pick<T>(from: readonly T[]): T {
    return from[this.random.below(from.length)]!;
  }

  private shuffled<T>(from: readonly T[]): T[] {
    const out = [...from];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.below(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function distribution(values: number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  return { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted[sorted.length - 1] ?? 0, 2) };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Plays the standard timeline and measures it:
 * join (nodes start over joinWindowMs) → whole? → settle → churn with broadcasts → whole? →
 * [partition → heal → whole? → broadcasts] → windows close → idle.
 */
export function runScenario(input: Partial<ScenarioOptions> & Pick<ScenarioOptions, 'seed' | 'nodes'>): SimulationMetrics {
  const options: ScenarioOptions = { ...scenarioDefaults, ...input };
  const progress = options.progress ?? (() => undefined);
  const cpuBefore = process.cpuUsage();
  const sim = new Simulation(options.seed, { ...lanNetwork, ...options.network }, options.maxEvents, options.maxVirtualMs, options.membership ?? {}, options.broadcast ?? {}, options.clusters);
  const queue = sim.queue;
  sim.watch = options.watch;

  // Joins, evenly spread.
  const joinGap = options.joinWindowMs / options.nodes;
  for (let i = 0; i < options.nodes; i++) {
    sim.addNode(options.discovery);
    queue.runUntil(queue.now + joinGap);
  }
  const afterJoin = sim.runUntilWhole(options.repairLimitMs);
  progress(`joined ${options.nodes} nodes by ${Math.round(queue.now)} ms; whole after ${afterJoin.ms ?? 'never'} ms`);
  queue.runUntil(queue.now + options.settleMs);

  // Churn and broadcasts, each on its own deterministic schedule.
  const speakers: SimNode[] = [];
  const speaker = (): SimNode | undefined => {
    if (options.speakers <= 0) return sim.randomMember();
    for (let i = speakers.length - 1; i >= 0; i--) if (!speakers[i]!.alive) speakers.splice(i, 1);
    while (speakers.length < options.speakers) {
      const member = sim.randomMember();
      if (!member) break;
      if (!speakers.includes(member)) speakers.push(member);
    }
    return speakers.length > 0 ? sim.pick(speakers) : undefined;
  };
  const broadcastFor = (durationMs: number, phase: BroadcastRecord['phase'], churn: boolean) => {
    const end = queue.now + durationMs;
    const broadcastGap = options.broadcastsPerSecond > 0 ? 1000 / options.broadcastsPerSecond : Infinity;
    const churnGap = churn && options.churnPerMinute > 0 ? 60_000 / (options.churnPerMinute * sim.liveCount) : Infinity;
    let nextBroadcast = queue.now + broadcastGap;
    let nextChurn = queue.now + churnGap;
    for (;;) {
      const next = Math.min(nextBroadcast, nextChurn);
      if (next > end) break;
      queue.runUntil(next);
      if (next === nextChurn) {
        sim.crash(sim.randomLive());
        sim.addNode(options.discovery);
        nextChurn += churnGap;
      } else {
        const origin = speaker();
        if (origin) sim.broadcastFrom(origin, phase);
        nextBroadcast += broadcastGap;
      }
    }
    queue.runUntil(end);
  };
  broadcastFor(options.churnMs, 'churn', true);
  const afterChurn = sim.runUntilWhole(options.repairLimitMs);
  progress(`churn: ${sim.crashed} crashed by ${Math.round(queue.now)} ms; whole after ${afterChurn.ms ?? 'never'} ms`);
  queue.runUntil(queue.now + options.windowMs);

  let afterHeal: RepairMetrics | null = null;
  if (options.partition) {
    sim.partition();
    queue.runUntil(queue.now + options.partition.durationMs);
    sim.heal();
    afterHeal = sim.runUntilWhole(options.repairLimitMs);
    progress(`healed at ${Math.round(queue.now)} ms; whole after ${afterHeal.ms ?? 'never'} ms`);
    broadcastFor(options.partition.broadcastMs, 'afterHeal', false);
    queue.runUntil(queue.now + options.windowMs);
  }

  // Idle: nothing to broadcast, nobody joins or leaves; every message the protocols send is counted.
  const before = { ...sim.sent, connects: sim.network.counters.connects };
  queue.runUntil(queue.now + options.idleMs);
  const seconds = options.idleMs / 1000;
  const perNodeSecond = (n: number) => round(n / sim.liveCount / seconds, 3);
  const idleMembership = sim.sent.membership - before.membership;
  const idleControl = sim.sent.control - before.control + sim.sent.eager - before.eager;
  const end = sim.shape();
  progress(`idle ${seconds} s; ${queue.executed} events`);

  const cpu = process.cpuUsage(cpuBefore);
  let grafts = 0;
  let prunes = 0;
  let ihaveIds = 0;
  let shortcuts = 0;
  for (const node of sim.nodes) {
    const stats = node.broadcast.stats();
    grafts += stats.grafts;
    prunes += stats.prunes;
    ihaveIds += stats.ihaveSent;
    shortcuts += stats.shortcuts;
  }
  const counters = sim.network.counters;
  return {
    seed: options.seed,
    nodes: options.nodes,
    joined: sim.nodes.length,
    crashed: sim.crashed,
    virtualMs: Math.round(queue.now),
    events: queue.executed,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    delivery: {
      churn: sim.delivery(options.windowMs, 'churn'),
      afterHeal: options.partition ? sim.delivery(options.windowMs, 'afterHeal') : null,
      all: sim.delivery(options.windowMs),
    },
    duplicatesPerDelivery: round(sim.eagerReceived / Math.max(1, sim.deliveries), 3),
    duplicates: { firstOfRoot: sim.duplicates(true), repeatedRoot: sim.duplicates(false) },
    hops: distribution(sim.hops),
    hopsByPhase: { churn: distribution(sim.hopsByPhase.churn), afterHeal: sim.hopsByPhase.afterHeal.length > 0 ? distribution(sim.hopsByPhase.afterHeal) : null },
    latencyMs: distribution(sim.latencies),
    repair: { afterJoin, afterChurn, afterHeal },
    idle: {
      seconds,
      msgsPerNodePerSec: perNodeSecond(idleMembership + idleControl),
      membershipPerNodePerSec: perNodeSecond(idleMembership),
      controlPerNodePerSec: perNodeSecond(idleControl),
      connectsPerNodePerSec: perNodeSecond(counters.connects - before.connects),
    },
    messages: { ...sim.sent, lost: counters.lost, dropped: counters.dropped, connects: counters.connects, connectsFailed: counters.connectsFailed, rejected: sim.rejected },
    plumtree: { grafts, prunes, ihaveIds, shortcuts },
    end,
    ...(sim.clusters ? { clusters: sim.clusters.shape() } : {}),
  };
}
