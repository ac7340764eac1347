/**
 * HyParView membership as a pure state machine: no socket, no real timer, no global randomness.
 * The host opens and closes sessions (MembershipLinks) and reports what happened to them; this
 * class decides which sessions to keep.
 *
 * Protocol: Leitão, Pereira, Rodrigues, "HyParView: a membership protocol for reliable
 * gossip-based broadcast", DSN 2007. As in the paper:
 * - a symmetric active view (the sessions kept) and a larger passive view (candidates, default 30);
 * - JOIN at a contact, which sends FORWARD_JOIN random walks: the node where a walk ends
 *   (ttl 0, ARWL = 6) or that has no other active peer takes the new node as active peer, and the
 *   node seeing ttl = PRWL = 3 keeps it as a passive candidate;
 * - NEIGHBOR requests, high priority when the requester's active view is empty (always accepted,
 *   dropping a random active peer if needed), DISCONNECT (`alive`: the dropped side keeps the
 *   dropper as a candidate);
 * - periodic SHUFFLE: ka = 3 active + kp = 4 passive entries plus the origin itself walk ARWL hops;
 *   the last node answers the origin directly (links.sendTo) with as many of its passive entries,
 *   and both sides, when full, drop first the entries they sent.
 *
 * Our adaptations:
 * - Two watermarks instead of one active view size: below `activeTarget` (6) the node promotes
 *   passive candidates; NEIGHBOR requests are accepted up to `activeMax` (12). At `activeMax` a
 *   low-priority request is refused with up to 4 other peers to try (`hv.nbr.re` ok=false); the
 *   refused node keeps them as candidates. A high-priority request or a JOIN at `activeMax` drops a
 *   random active peer, as in the paper. A hub is just a node with a large `activeMax`.
 * - A FORWARD_JOIN walk ends at a node already at `activeMax`: that node keeps the new node as a
 *   candidate instead of dropping a working peer. The contact starts at most `activeTarget` walks
 *   (the paper: one per active peer), so a join through a hub does not flood the new node.
 * - Every request is answered (`hv.nbr.re`, also for JOIN): a peer is active only once both sides
 *   agreed, and an open session that is not accepted within `requestTimeoutMs` is closed. Every
 *   accepting answer (to a JOIN or a NEIGHBOR request) carries up to 4 of the acceptor's peers,
 *   which the requester keeps as candidates (the paper's newcomer has none until its first
 *   shuffle; a node whose only neighbour then fails would be cut off for good).
 * - A JOIN whose answer never came (lost, timed out, session gone) is retried as a JOIN, through
 *   the same contact after its backoff or another candidate, until the node has an active peer:
 *   only a JOIN starts the FORWARD_JOIN walks that give a newcomer several neighbours.
 * - A node with an active peer but fewer than `activeTarget` usable (not failed) candidates
 *   shuffles early: a few seconds after it gains a peer, then on a doubling period up to the
 *   normal one while it stays short. A shuffle's answer carries at least the nominal shuffle
 *   size (1 + ka + kp), so a young node that sent only itself still learns several candidates.
 * - Discovery feeds candidates (`addCandidate`, `forget`). The paper drops a peer that failed; we
 *   keep it as a candidate behind a jittered exponential backoff (cap 60 s), drop failed
 *   candidates first when the passive view is full, and leave them out of shuffles and of refusal
 *   alternatives: a node cut off for a while finds its way back instead of ending with no
 *   candidate at all.
 * - At most `maxConcurrentConnects` (2) of our requests are in flight at once.
 * - Healing probes. Two components that both sit at `activeTarget` would never merge: each half
 *   refilled from its own side and nothing dials across. So a candidate lost to a failure (connect
 *   failed, session lost, request timed out; not one that refused us or dropped us alive) is
 *   probed again when its backoff ends even at or above `activeTarget`, while the active view plus
 *   attempts is below `activeMax`: at most ONE probe in flight per node, an ordinary low-priority
 *   NEIGHBOR request (the peer may refuse at its `activeMax`; a refused probe is not probed again).
 *   An accepted probe joins the active view, so the degree may rise up to `activeMax`. A candidate
 *   is probed while it has failed at most `maxProbeFailures` (10) times in a row: with the 60 s
 *   backoff cap that covers a partition of about 3 to 6 minutes, then a dead peer costs nothing
 *   more at target (it stays an ordinary candidate below target).
 * - The host may say a candidate reappeared (`addCandidate(peer, { reappeared: true })`: heard
 *   again after a silence, e.g. multicast beacons after a healed partition): its failures are
 *   cleared and it is the next probe target (same one-at-a-time, below-`activeMax` rule), which
 *   heals a partition longer than the probe budget.
 * - Idle is idle: at or above `activeTarget` only the shuffle timer runs (60 s ± 50%), and the
 *   active view changes only on a failure, a join or an explicit request, never to rebalance.
 *   With no failed candidate there is no probe; probes stop at `maxProbeFailures`.
 *
 * Clusters (an optional ClusterPolicy, see clusters.ts): nodes of one subnet or label form a
 * cluster whose bridges (elected by the host) hold the links to other clusters, so traffic
 * between clusters crosses few long links (two-level gossip as in Astrolabe and the super-peer
 * designs, cited in clusters.ts). Without a policy, or when every peer is in this node's cluster,
 * none of this applies and the node behaves exactly as above.
 * - A non-bridge fills its active view from its own cluster. A node cut off from its cluster (no
 *   peer, attempt or ready candidate there; or alone in it) takes other clusters' nodes as any
 *   node would; once it has a peer in its cluster a non-bridge drops its inter-cluster links
 *   (alive) and a bridge keeps at most twice `bridgeLinks`. The same holds for an inter-cluster
 *   request answered after the node lost its role (a bridge no more, or no longer cut off): it
 *   withdraws instead of taking the link. A node (a bridge too) with peers but none in its own
 *   cluster asks a candidate of its cluster even at target (up to activeMax).
 * - A bridge also asks for `bridgeLinks` (2) inter-cluster links, even at target (up to
 *   activeMax), preferring clusters it has no link to.
 * - An inter-cluster NEIGHBOR or JOIN is refused "full, try" this cluster's bridges by a
 *   non-bridge that has a peer in its cluster, and by a bridge holding `bridgeLinks` such links
 *   (up to twice as many for a cluster it has no link to yet, so clusters do not pair off into
 *   islands; high priority is always accepted, as in the paper).
 * - A full passive view keeps a few inter-cluster candidates, so a node elected bridge after a
 *   failover can reach other clusters at once.
 */
import { EventEmitter } from 'node:events';
import type { Clock, Random, TimerHandle } from '../../kernel/clock';
import { silentLogger, type Logger } from '../../kernel/log';
import { Backoff, type BackoffOptions } from '../backoff';
import type { ClusterPolicy, MembershipLinks, MembershipMessage, PeerRef } from './types';

export interface HyParViewOptions {
  self: PeerRef;
  clock: Clock;
  random: Random;
  links: MembershipLinks;
  logger?: Logger;
  /** Low watermark: below it the node promotes passive candidates. */
  activeTarget?: number;
  /** High watermark: low-priority NEIGHBOR requests are refused at it. */
  activeMax?: number;
  passiveMax?: number;
  /** Active random walk length (JOIN, SHUFFLE). */
  arwl?: number;
  /** Passive random walk length: where a FORWARD_JOIN leaves the new node as a candidate. */
  prwl?: number;
  /** Mean shuffle period (jittered ±50%); 0 disables shuffles. */
  shuffleIntervalMs?: number;
  shuffleActive?: number;
  shufflePassive?: number;
  maxConcurrentConnects?: number;
  /** Per-candidate redial backoff after a failure. */
  backoff?: BackoffOptions;
  /** An open session whose peer is not accepted as active within this is closed. */
  requestTimeoutMs?: number;
  /**
   * A candidate lost to failures is probed at or above activeTarget while it failed at most this
   * often in a row (default 10); 0: only candidates the host says reappeared are probed.
   */
  probeFailures?: number;
  /** Clusters and bridges; without it every peer counts as one cluster. */
  cluster?: ClusterPolicy;
  /** Inter-cluster links a bridge asks for (default 2). */
  bridgeLinks?: number;
}

/** Active view changes. */
export interface HyParViewEvents {
  up: [peerId: string];
  down: [peerId: string];
}

export interface HyParViewStats {
  /** The watermarks in force (so a host or a report can judge the view sizes). */
  activeTarget: number;
  activeMax: number;
  /** JOINs accepted as the contact. */
  joins: number;
  /** FORWARD_JOINs received. */
  forwardJoins: number;
  /** NEIGHBOR requests received. */
  neighborRequests: number;
  /** NEIGHBOR requests this node refused (full). */
  refused: number;
  /** Our requests that a full peer refused. */
  refusedByPeers: number;
  /** Shuffles this node started. */
  shuffles: number;
  /** Shuffle walks that ended here (answered to their origin). */
  shufflesAnswered: number;
  /** NEIGHBOR attempts started from the passive view. */
  promotions: number;
  /** JOINs sent again (through a candidate) after a JOIN that got no answer, while no peer was active. */
  joinRetries: number;
  /** Healing probes started at or above activeTarget (a lost or reappeared candidate). */
  probes: number;
  connectFailures: number;
  requestTimeouts: number;
  /** Inter-cluster requests refused with this cluster's bridges to try instead. */
  redirected: number;
  /** Inter-cluster links this node dropped, or withdrew from when accepted, once it had a peer in its own cluster (beyond a bridge's share). */
  shed: number;
}

export const hyParViewDefaults = {
  activeTarget: 6,
  activeMax: 12,
  passiveMax: 30,
  arwl: 6,
  prwl: 3,
  shuffleIntervalMs: 60_000,
  shuffleActive: 3,
  shufflePassive: 4,
  maxConcurrentConnects: 2,
  backoff: { baseMs: 1_000, capMs: 60_000 },
  requestTimeoutMs: 10_000,
  bridgeLinks: 2,
} as const;

/** Bounds on what a peer may send us. */
const maxIdLength = 128;
const maxListLength = 64;
const maxWireTtl = 255;
/** Peers offered by an answer to a request (refusal or acceptance). */
const maxAlternatives = 4;
/** A candidate lost to failures is probed at or above activeTarget while it failed at most this often in a row. */
const maxProbeFailures = 10;
/** First early shuffle, while the passive view is short of candidates (jittered ±50%, doubling each time). */
const earlyShuffleMs = 2_000;
/** Inter-cluster candidates a full passive view does not evict while it holds at most this many. */
const remoteReserve = 4;
/** The empty set, shared (no allocation where nothing is reserved). */
const noIds: ReadonlySet<string> = new Set();

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxIdLength;
}

function isTtl(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxWireTtl;
}

/** A copy with only the known fields, so nothing else a peer sent travels further. */
function toPeerRef(value: unknown): PeerRef | undefined {
  if (!isFields(value) || !isShortString(value.id) || !isShortString(value.addr)) return undefined;
  if (value.cluster === undefined) return { id: value.id, addr: value.addr };
  return isShortString(value.cluster) ? { id: value.id, addr: value.addr, cluster: value.cluster } : undefined;
}

function toPeerList(value: unknown): PeerRef[] | undefined {
  if (!Array.isArray(value) || value.length > maxListLength) return undefined;
  const peers: PeerRef[] = [];
  for (const item of value) {
    const peer = toPeerRef(item);
    if (!peer) return undefined;
    peers.push(peer);
  }
  return peers;
}

/** The message, rebuilt from validated fields, or undefined when anything is off. */
export function parseMembershipMessage(value: unknown): MembershipMessage | undefined {
  if (!isFields(value)) return undefined;
  switch (value.t) {
    case 'hv.join': {
      const peer = toPeerRef(value.peer);
      return peer && { t: 'hv.join', peer };
    }
    case 'hv.fjoin': {
      const peer = toPeerRef(value.peer);
      return peer && isTtl(value.ttl) ? { t: 'hv.fjoin', peer, ttl: value.ttl } : undefined;
    }
    case 'hv.nbr': {
      const peer = toPeerRef(value.peer);
      return peer && typeof value.high === 'boolean' ? { t: 'hv.nbr', peer, high: value.high } : undefined;
    }
    case 'hv.nbr.re': {
      const peers = toPeerList(value.try);
      return peers && typeof value.ok === 'boolean' ? { t: 'hv.nbr.re', ok: value.ok, try: peers } : undefined;
    }
    case 'hv.disc':
      return typeof value.alive === 'boolean' ? { t: 'hv.disc', alive: value.alive } : undefined;
    case 'hv.shuf': {
      const origin = toPeerRef(value.origin);
      const peers = toPeerList(value.peers);
      return origin && peers && isTtl(value.ttl) ? { t: 'hv.shuf', origin, peers, ttl: value.ttl } : undefined;
    }
    case 'hv.shuf.re': {
      const peers = toPeerList(value.peers);
      return peers && { t: 'hv.shuf.re', peers };
    }
    default:
      return undefined;
  }
}

/** A connection this node started to get a peer into its active view. */
interface Attempt {
  peer: PeerRef;
  kind: 'join' | 'neighbor';
  /** The request went out; waiting for `hv.nbr.re`. */
  requested: boolean;
  /** A healing probe (started at or above activeTarget): at most one in flight. */
  probe: boolean;
}

interface Failure {
  backoff: Backoff;
  /** Monotonic time before which the candidate is not dialed again. */
  notBefore: number;
  /** Lost to a failure (not a refusal or an alive disconnect): worth a healing probe. */
  lost: boolean;
}

/** What the host knows about a candidate it reports. */
export interface CandidateHint {
  /** Heard again after a silence (a healed partition): its failures no longer count, probe it next. */
  reappeared?: boolean;
}

function integerAtLeast(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) throw new RangeError(`hyparview: ${name} must be an integer >= ${minimum}, got ${value}`);
  return value;
}

export class HyParView extends EventEmitter<HyParViewEvents> {
  private readonly self: PeerRef;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly links: MembershipLinks;
  private readonly logger: Logger;
  private readonly activeTarget: number;
  private readonly activeMax: number;
  private readonly passiveMax: number;
  private readonly arwl: number;
  private readonly prwl: number;
  private readonly shuffleIntervalMs: number;
  private readonly shuffleActive: number;
  private readonly shufflePassive: number;
  private readonly maxConcurrentConnects: number;
  private readonly backoffOptions: BackoffOptions;
  private readonly requestTimeoutMs: number;
  private readonly probeFailures: number;
  private readonly cluster: ClusterPolicy | undefined;
  /** This node's cluster (undefined without a policy). */
  private readonly home: string | undefined;
  private readonly bridgeLinks: number;

  private readonly active = new Map<string, PeerRef>();
  /** Insertion-ordered; bounded by passiveMax. */
  private readonly passive = new Map<string, PeerRef>();
  /** Peers with an open session, as the host reported them. */
  private readonly sessions = new Set<string>();
  private readonly attempts = new Map<string, Attempt>();
  /** Per peer not (yet) active: when its session or our attempt gives up. */
  private readonly deadlines = new Map<string, TimerHandle>();
  /** Oldest first, bounded: see recordFailure. */
  private readonly failures = new Map<string, Failure>();
  /** Candidates the host said reappeared: the next probe targets (ids; pruned to the passive view). */
  private readonly reappeared = new Set<string>();
  /** Ids we sent in the shuffle still waiting for its answer: the first to drop when it comes. */
  private shuffleSent: Set<string> | undefined;
  private shuffleTimer: TimerHandle | undefined;
  /** Monotonic time the shuffle timer fires. */
  private shuffleAt = Infinity;
  /** Consecutive shuffles started with a short passive view: the early period doubles with each. */
  private earlyShuffles = 0;
  /** join() was called and no peer has been active since: failed JOINs are retried as JOINs. */
  private joining = false;
  private retry: { timer: TimerHandle; at: number } | undefined;
  private running = false;
  private stopped = false;
  private readonly counters: Omit<HyParViewStats, 'activeTarget' | 'activeMax'> = {
    joins: 0,
    forwardJoins: 0,
    neighborRequests: 0,
    refused: 0,
    refusedByPeers: 0,
    shuffles: 0,
    shufflesAnswered: 0,
    promotions: 0,
    joinRetries: 0,
    probes: 0,
    connectFailures: 0,
    requestTimeouts: 0,
    redirected: 0,
    shed: 0,
  };

  constructor(options: HyParViewOptions) {
    super();
    const self = toPeerRef(options.self);
    if (!self) throw new TypeError('hyparview: self needs an id and an addr of 1 to 128 characters');
    this.self = self;
    this.clock = options.clock;
    this.random = options.random;
    this.links = options.links;
    this.logger = (options.logger ?? silentLogger).child('hyparview');
    const d = hyParViewDefaults;
    this.activeTarget = integerAtLeast('activeTarget', options.activeTarget ?? d.activeTarget, 1);
    this.activeMax = integerAtLeast('activeMax', options.activeMax ?? Math.max(d.activeMax, this.activeTarget), this.activeTarget);
    this.passiveMax = integerAtLeast('passiveMax', options.passiveMax ?? d.passiveMax, 1);
    this.arwl = integerAtLeast('arwl', options.arwl ?? d.arwl, 0);
    this.prwl = integerAtLeast('prwl', options.prwl ?? d.prwl, 0);
    this.shuffleIntervalMs = integerAtLeast('shuffleIntervalMs', options.shuffleIntervalMs ?? d.shuffleIntervalMs, 0);
    this.shuffleActive = integerAtLeast('shuffleActive', options.shuffleActive ?? d.shuffleActive, 0);
    this.shufflePassive = integerAtLeast('shufflePassive', options.shufflePassive ?? d.shufflePassive, 0);
    this.maxConcurrentConnects = integerAtLeast('maxConcurrentConnects', options.maxConcurrentConnects ?? d.maxConcurrentConnects, 1);
    this.backoffOptions = options.backoff ?? d.backoff;
    integerAtLeast('backoff.baseMs', this.backoffOptions.baseMs, 1);
    integerAtLeast('backoff.capMs', this.backoffOptions.capMs, this.backoffOptions.baseMs);
    this.requestTimeoutMs = integerAtLeast('requestTimeoutMs', options.requestTimeoutMs ?? d.requestTimeoutMs, 1);
    this.probeFailures = options.probeFailures ?? maxProbeFailures;
    this.cluster = options.cluster;
    this.home = options.cluster?.clusterOf(self);
    this.bridgeLinks = integerAtLeast('bridgeLinks', options.bridgeLinks ?? d.bridgeLinks, 1);
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.scheduleShuffle();
    this.promote();
  }

  /**
   * Final: cancels every timer and forgets attempts in flight. Says nothing to peers and emits
   * nothing: the host closes its sessions (peers then see a failure, or the host's own goodbye).
   */
  stop(): void {
    this.running = false;
    this.stopped = true;
    this.cancelShuffle();
    this.cancelRetry();
    for (const timer of this.deadlines.values()) timer.cancel();
    this.deadlines.clear();
    this.attempts.clear();
    this.sessions.clear();
    this.reappeared.clear();
    this.shuffleSent = undefined;
    this.joining = false;
  }

  /**
   * Connects to `contact` and sends `hv.join` once the session is up. Needs start() first. Until a
   * peer is active, a JOIN that gets no answer is sent again (after the contact's backoff, or
   * through another candidate).
   */
  join(contact: PeerRef): void {
    const peer = toPeerRef(contact);
    if (!this.running || !peer || peer.id === this.self.id || this.active.has(peer.id) || this.attempts.has(peer.id)) {
      this.logger.debug(`join ignored (${this.running ? 'invalid, self, active or already joining' : 'not started'})`);
      return;
    }
    if (this.active.size === 0) this.joining = true;
    this.startAttempt(peer, 'join');
  }

  /**
   * A candidate heard of outside the protocol (a discovery beacon): its address is authoritative.
   * `reappeared`: heard again after a silence; its failures are forgotten and it is probed next,
   * even at or above activeTarget (one probe at a time, below activeMax).
   */
  addCandidate(candidate: PeerRef, hint: CandidateHint = {}): void {
    const peer = toPeerRef(candidate);
    if (!peer || peer.id === this.self.id || this.active.has(peer.id)) return;
    if (this.passive.has(peer.id)) this.passive.set(peer.id, peer);
    else this.addPassive(peer);
    if (hint.reappeared === true && this.passive.has(peer.id)) {
      this.failures.delete(peer.id);
      if (!this.attempts.has(peer.id)) this.reappeared.add(peer.id);
      for (const id of this.reappeared) if (!this.passive.has(id)) this.reappeared.delete(id);
    }
    this.promote();
  }

  /** The candidate left (its goodbye): forget it, and its failures, so a restart starts afresh. */
  forget(peerId: string): void {
    this.passive.delete(peerId);
    this.failures.delete(peerId);
    this.reappeared.delete(peerId);
  }

  /**
   * Host: this node's cluster changed (a member came or went, so the bridges may have): a node no
   * longer a bridge leaves its inter-cluster links to the new ones, a new bridge asks for its own.
   */
  clusterChanged(): void {
    if (!this.running) return;
    this.shedRemote();
    this.promote();
  }

  /** Host: a session with `peerId` opened (`outbound`: the host dialed it). */
  sessionUp(peerId: string, outbound: boolean): void {
    if (!this.running || peerId === this.self.id) return;
    this.sessions.add(peerId);
    if (this.active.has(peerId)) return; // the host merged a duplicate session
    const attempt = this.attempts.get(peerId);
    if (attempt) {
      // Also when the host merged our dial into the peer's inbound session.
      if (!attempt.requested) this.sendRequest(attempt);
      return;
    }
    if (outbound) this.logger.debug(`outbound session with ${peerId} that no attempt asked for`);
    this.armDeadline(peerId);
  }

  /** Host: the session with `peerId` is gone (a failure, or the peer closed it). */
  sessionDown(peerId: string): void {
    if (!this.running) return;
    const hadSession = this.sessions.delete(peerId);
    const peer = this.active.get(peerId);
    if (peer) {
      this.clearDeadline(peerId);
      this.removeActive(peerId);
      this.recordFailure(peerId);
      this.addPassive(peer);
      this.promote();
      return;
    }
    if (this.attempts.has(peerId)) {
      this.failAttempt(peerId);
      return;
    }
    if (hadSession) this.clearDeadline(peerId);
  }

  /** Host: our links.connect(peer) did not open. */
  connectFailed(peerId: string): void {
    if (!this.running) return;
    const attempt = this.attempts.get(peerId);
    if (!attempt || attempt.requested) return;
    if (this.sessions.has(peerId)) {
      // The peer's own session came in meanwhile: ask over that one.
      this.sendRequest(attempt);
      return;
    }
    this.counters.connectFailures++;
    this.failAttempt(peerId);
  }

  /** Validates and handles a membership message; false when malformed (the host closes the session). */
  receive(from: string, message: unknown): boolean {
    const parsed = parseMembershipMessage(message);
    if (!parsed) return false;
    // Requests speak for their sender only: a peer cannot join or ask on behalf of another.
    if ((parsed.t === 'hv.join' || parsed.t === 'hv.nbr') && parsed.peer.id !== from) return false;
    if (!this.running || from === this.self.id) return true;
    this.dispatch(from, parsed);
    return true;
  }

  activePeers(): string[] {
    return [...this.active.keys()];
  }

  passivePeers(): PeerRef[] {
    return [...this.passive.values()].map((peer) => ({ ...peer }));
  }

  isActive(peerId: string): boolean {
    return this.active.has(peerId);
  }

  /** How the membership knows a peer (active or candidate), with the cluster label it sent. */
  peerRef(peerId: string): PeerRef | undefined {
    const peer = this.active.get(peerId) ?? this.passive.get(peerId) ?? this.attempts.get(peerId)?.peer;
    return peer && { ...peer };
  }

  stats(): HyParViewStats {
    return { activeTarget: this.activeTarget, activeMax: this.activeMax, ...this.counters };
  }

  private dispatch(from: string, message: MembershipMessage): void {
    switch (message.t) {
      case 'hv.join':
        return this.onJoin(from, message.peer);
      case 'hv.fjoin':
        return this.onForwardJoin(from, message.peer, Math.min(message.ttl, this.arwl));
      case 'hv.nbr':
        return this.onNeighbor(from, message.peer, message.high);
      case 'hv.nbr.re':
        return this.onNeighborReply(from, message.ok, message.try);
      case 'hv.disc':
        return this.onDisconnect(from, message.alive);
      case 'hv.shuf':
        return this.onShuffle(from, message.origin, message.peers, Math.min(message.ttl, this.arwl));
      case 'hv.shuf.re':
        return this.onShuffleReply(message.peers);
    }
  }

  private onJoin(from: string, peer: PeerRef): void {
    if (!this.sessions.has(from)) return;
    if (!this.active.has(from)) {
      // A JOIN is a node with no peer at all: high priority.
      if (this.refusesRemote(peer, true)) return this.redirect(from, peer);
      this.counters.joins++;
      if (this.active.size >= this.activeMax) this.dropRandomActive(from);
      this.makeActive(peer);
      const walkers = this.sample([...this.active.keys()].filter((id) => id !== from), this.activeTarget);
      for (const id of walkers) this.links.send(id, { t: 'hv.fjoin', peer, ttl: this.arwl });
    }
    // A newcomer's passive view is empty until its first shuffle: a few peers now spare it from
    // being cut off if its first neighbours fail before then.
    this.links.send(from, { t: 'hv.nbr.re', ok: true, try: this.alternatives(from) });
  }

  private onForwardJoin(from: string, peer: PeerRef, ttl: number): void {
    if (!this.active.has(from)) return;
    this.counters.forwardJoins++;
    if (peer.id === this.self.id || this.active.has(peer.id)) return;
    const next = ttl > 0 ? this.pickRandom([...this.active.keys()].filter((id) => id !== from && id !== peer.id)) : undefined;
    if (next === undefined) {
      this.endJoinWalk(peer);
      return;
    }
    if (ttl === this.prwl) this.addPassive(peer);
    this.links.send(next, { t: 'hv.fjoin', peer, ttl: ttl - 1 });
  }

  /** The walk ends here: invite the new node, unless that would drop a working peer or exceed the dial limit. */
  private endJoinWalk(peer: PeerRef): void {
    if (this.attempts.has(peer.id)) return;
    if (this.active.size >= this.activeMax || this.attempts.size >= this.maxConcurrentConnects || (this.isRemote(peer) && this.remoteWanted() <= 0)) {
      this.addPassive(peer);
      return;
    }
    this.startAttempt(peer, 'neighbor');
  }

  private onNeighbor(from: string, peer: PeerRef, high: boolean): void {
    if (!this.sessions.has(from)) return;
    this.counters.neighborRequests++;
    if (this.active.has(from)) {
      this.links.send(from, { t: 'hv.nbr.re', ok: true, try: this.alternatives(from) });
      return;
    }
    if (this.refusesRemote(peer, high)) return this.redirect(from, peer);
    if (this.active.size >= this.activeMax && !high && !(this.isRemote(peer) && this.makeRoomForRemote())) {
      this.counters.refused++;
      this.links.send(from, { t: 'hv.nbr.re', ok: false, try: this.alternatives(from) });
      // Alive and looking: a good candidate. Its session closes on its side or at our deadline.
      this.addPassive(peer);
      return;
    }
    if (this.active.size >= this.activeMax) this.dropRandomActive(from);
    this.makeActive(peer);
    // As for a JOIN: the requester may know nobody else (a newcomer whose JOIN was lost, a node
    // whose candidates all failed), and this peer may be gone before its first shuffle.
    this.links.send(from, { t: 'hv.nbr.re', ok: true, try: this.alternatives(from) });
  }

  private onNeighborReply(from: string, ok: boolean, alternatives: PeerRef[]): void {
    const attempt = this.attempts.get(from);
    // An answer we no longer wait for (e.g. the peer's own request made it active already).
    if (!attempt?.requested) return;
    if (ok) {
      // Offered by every acceptance: taken while there is room (or a failed entry to replace),
      // so that frequent acceptances do not churn a full passive view.
      for (const peer of alternatives) this.addPassive(peer, undefined, false);
      this.acceptAnswer(attempt);
      return;
    }
    // Refused: the requester is looking for peers, these are its next tries.
    for (const peer of alternatives) this.addPassive(peer);
    this.counters.refusedByPeers++;
    this.failAttempt(from, false);
  }

  private acceptAnswer(attempt: Attempt): void {
    const unwanted = this.isRemote(attempt.peer) && this.remoteHeld(false) >= this.remoteKept();
    if (this.active.size < this.activeMax && !unwanted) {
      this.makeActive(attempt.peer);
      this.promote();
      return;
    }
    // Inbound requests filled us while this one was in flight, or it asked another cluster as a
    // bridge (or cut off) and has since lost that role: withdraw, keep the peer as candidate.
    // shedRemote runs only when the role changes or a peer of its own cluster comes up, so a link
    // taken after both would stay for good.
    const peerId = attempt.peer.id;
    this.attempts.delete(peerId);
    if (unwanted) this.counters.shed++;
    this.links.send(peerId, { t: 'hv.disc', alive: true });
    this.closeSession(peerId);
    this.addPassive(attempt.peer);
    this.promote();
  }

  private onDisconnect(from: string, alive: boolean): void {
    const peer = this.active.get(from);
    if (peer) {
      this.removeActive(from);
      if (alive) this.addPassive(peer);
    } else if (!this.attempts.delete(from) && !this.sessions.has(from)) {
      return;
    }
    // The peer chose to drop us: do not ask it again right away; if it is leaving, forget it.
    if (alive) this.recordFailure(from, false);
    else this.forget(from);
    this.closeSession(from);
    this.promote();
  }

  private onShuffle(from: string, origin: PeerRef, peers: PeerRef[], ttl: number): void {
    if (!this.active.has(from) || origin.id === this.self.id) return;
    const next = ttl > 0 ? this.pickRandom([...this.active.keys()].filter((id) => id !== from && id !== origin.id)) : undefined;
    if (next !== undefined) {
      this.links.send(next, { t: 'hv.shuf', origin, peers, ttl: ttl - 1 });
      return;
    }
    this.counters.shufflesAnswered++;
    const received = [origin, ...peers];
    const receivedIds = new Set(received.map((peer) => peer.id));
    // At least the nominal size: a young origin sends little (itself alone) and needs the most.
    const replySize = Math.max(received.length, 1 + this.shuffleActive + this.shufflePassive);
    const reply = this.sample(this.healthyPassive().filter((peer) => !receivedIds.has(peer.id)), replySize);
    this.links.sendTo(origin, { t: 'hv.shuf.re', peers: reply });
    const sentIds = new Set(reply.map((peer) => peer.id));
    for (const peer of received) this.addPassive(peer, sentIds);
  }

  /** Only the answer to our own pending shuffle is taken, so nobody can fill our passive view unasked. */
  private onShuffleReply(peers: PeerRef[]): void {
    const sent = this.shuffleSent;
    if (!sent) return;
    this.shuffleSent = undefined;
    for (const peer of peers) this.addPassive(peer, sent);
    // Enough candidates now: back to the normal period rather than one more early shuffle.
    if (this.earlyShuffles > 0 && !this.needsCandidates()) {
      this.earlyShuffles = 0;
      this.scheduleShuffle();
    }
    this.promote();
  }

  /** The next shuffle: the normal period, or the early one while the passive view is short. */
  private scheduleShuffle(): void {
    if (this.shuffleIntervalMs === 0 || !this.running) return;
    this.cancelShuffle();
    const delay = Math.round(this.shufflePeriod() * (0.5 + this.random.next()));
    this.shuffleAt = this.clock.monotonic() + delay;
    this.shuffleTimer = this.clock.setTimeout(() => {
      this.shuffleTimer = undefined;
      this.shuffleAt = Infinity;
      this.shuffle();
      this.scheduleShuffle();
    }, delay);
  }

  private cancelShuffle(): void {
    this.shuffleTimer?.cancel();
    this.shuffleTimer = undefined;
    this.shuffleAt = Infinity;
  }

  /** Mean delay to the next shuffle (before jitter). */
  private shufflePeriod(): number {
    if (!this.needsCandidates()) return this.shuffleIntervalMs;
    return Math.min(this.shuffleIntervalMs, earlyShuffleMs * 2 ** Math.min(this.earlyShuffles, 30));
  }

  /** Has a peer to shuffle with, and fewer usable candidates than it may need to replace its peers. */
  private needsCandidates(): boolean {
    return this.active.size > 0 && this.healthyPassiveCount() < this.activeTarget;
  }

  /** A peer came up: if the passive view is short, bring the shuffle forward to the early period. */
  private shuffleSoonIfShort(): void {
    if (this.shuffleIntervalMs === 0 || !this.running || !this.needsCandidates()) return;
    const latest = this.clock.monotonic() + 1.5 * this.shufflePeriod();
    if (this.shuffleAt > latest) this.scheduleShuffle();
  }

  private shuffle(): void {
    const target = this.pickRandom([...this.active.keys()]);
    if (target !== undefined) {
      this.earlyShuffles = this.healthyPassiveCount() < this.activeTarget ? this.earlyShuffles + 1 : 0;
      const activeSample = this.sample([...this.active.values()].filter((peer) => peer.id !== target), this.shuffleActive);
      const passiveSample = this.sample(this.healthyPassive(), this.shufflePassive);
      const peers = [...activeSample, ...passiveSample];
      this.shuffleSent = new Set(peers.map((peer) => peer.id));
      this.counters.shuffles++;
      this.links.send(target, { t: 'hv.shuf', origin: this.self, peers, ttl: this.arwl });
    }
    // The one periodic chance to notice new candidates when below target with nothing scheduled.
    this.promote();
  }

  /** Starts NEIGHBOR attempts until the target is covered, the dial limit is reached or no candidate is ready. */
  private promote(): void {
    if (!this.running) return;
    let missing = this.activeTarget - this.active.size - this.attempts.size;
    while (missing > 0 && this.attempts.size < this.maxConcurrentConnects) {
      const candidate = this.pickCandidate();
      if (!candidate) break;
      // A NEIGHBOR request starts no FORWARD_JOIN walk: a node still joining asks to join again.
      if (this.joining && this.active.size === 0 && !this.joinInFlight()) {
        this.counters.joinRetries++;
        this.startAttempt(candidate, 'join');
      } else {
        this.counters.promotions++;
        this.startAttempt(candidate, 'neighbor');
      }
      missing--;
    }
    // A bridge keeps its inter-cluster links even at target (up to activeMax).
    while (this.bridgeShort() && this.attempts.size < this.maxConcurrentConnects) {
      const candidate = this.pickCandidate(true);
      if (!candidate) break;
      if (this.active.size + this.attempts.size >= this.activeMax && !this.makeRoomForRemote()) break;
      this.counters.promotions++;
      this.startAttempt(candidate, 'neighbor');
    }
    // Cut off from its own cluster (it took other clusters' nodes, or as a bridge filled its view
    // with inter-cluster links), a node at target would stay so for good. It asks a node of its own
    // cluster too: a non-bridge then leaves the inter-cluster links to the bridges (shedRemote),
    // and a bridge needs that link anyway, as its cluster's events for a room the other clusters
    // have no member of never cross to reach it the long way round (interest.ts).
    if (this.cluster && this.active.size > 0 && this.cutOff() && this.active.size + this.attempts.size < this.activeMax && this.attempts.size < this.maxConcurrentConnects) {
      const local = this.pickFrom('none');
      if (local) {
        this.counters.promotions++;
        this.startAttempt(local, 'neighbor');
      }
    }
    if (this.mayProbe()) {
      const candidate = this.pickProbe();
      if (candidate) {
        this.counters.probes++;
        this.startAttempt(candidate, 'neighbor', true);
      }
    }
    this.scheduleRetry();
  }

  /** At or above target (below it, promotion dials), below activeMax, a free dial slot and no probe in flight. */
  private mayProbe(): boolean {
    const busy = this.active.size + this.attempts.size;
    if (!this.running || busy < this.activeTarget || busy >= this.activeMax || this.attempts.size >= this.maxConcurrentConnects) return false;
    for (const attempt of this.attempts.values()) if (attempt.probe) return false;
    return true;
  }

  /** The failure record of a candidate worth a healing probe (lost, probe budget left, not dialed or active). */
  private probeable(id: string): Failure | undefined {
    if (this.attempts.has(id) || this.active.has(id)) return undefined;
    const failure = this.failures.get(id);
    return failure?.lost === true && failure.backoff.attempts <= this.probeFailures ? failure : undefined;
  }

  /** A candidate the host said reappeared first; else a lost one whose backoff is over. */
  private pickProbe(): PeerRef | undefined {
    // Not another cluster's node unless this node wants such a link (a bridge short of them).
    const remoteOk = this.remoteWanted() > 0;
    for (const id of this.reappeared) {
      const peer = this.passive.get(id);
      if (peer && !this.attempts.has(id) && !this.active.has(id) && (remoteOk || !this.isRemote(peer))) return peer;
    }
    const now = this.clock.monotonic();
    const due: PeerRef[] = [];
    for (const peer of this.passive.values()) {
      if (!remoteOk && this.isRemote(peer)) continue;
      const failure = this.probeable(peer.id);
      if (failure && failure.notBefore <= now) due.push(peer);
    }
    return this.pickRandom(due);
  }

  private joinInFlight(): boolean {
    for (const attempt of this.attempts.values()) if (attempt.kind === 'join') return true;
    return false;
  }

  /**
   * Never-failed candidates first; failed ones only once their backoff is over. With clusters:
   * another cluster's node only while this node wants such a link, or (second pass) while it is
   * cut off from its own cluster; `remoteOnly` (a bridge short of inter-cluster links): only
   * those, from a cluster it has no link to when it can.
   */
  private pickCandidate(remoteOnly = false): PeerRef | undefined {
    const picked = this.pickFrom(remoteOnly ? 'only' : this.remoteWanted() > 0 ? 'allowed' : 'none');
    return picked ?? (!remoteOnly && this.cutOff() ? this.pickFrom('allowed') : undefined);
  }

  private pickFrom(remote: 'none' | 'allowed' | 'only'): PeerRef | undefined {
    const now = this.clock.monotonic();
    const fresh: PeerRef[] = [];
    const retryable: PeerRef[] = [];
    for (const peer of this.passive.values()) {
      if (this.attempts.has(peer.id) || this.active.has(peer.id)) continue;
      if (remote !== 'allowed' && this.isRemote(peer) !== (remote === 'only')) continue;
      const failure = this.failures.get(peer.id);
      if (!failure) fresh.push(peer);
      else if (failure.notBefore <= now) retryable.push(peer);
    }
    const pool = fresh.length > 0 ? fresh : retryable;
    if (remote !== 'only') return this.pickRandom(pool);
    const linked = this.remoteClusters();
    const unlinked = pool.filter((peer) => !linked.has(this.cluster!.clusterOf(peer)));
    return this.pickRandom(unlinked.length > 0 ? unlinked : pool);
  }

  /** Another cluster's node (never, without clusters). */
  private isRemote(peer: PeerRef): boolean {
    return this.cluster !== undefined && this.cluster.clusterOf(peer) !== this.home;
  }

  /** Inter-cluster links held or being asked for. */
  private remoteHeld(includeAttempts = true): number {
    let held = 0;
    for (const peer of this.active.values()) if (this.isRemote(peer)) held++;
    if (includeAttempts) for (const attempt of this.attempts.values()) if (this.isRemote(attempt.peer)) held++;
    return held;
  }

  /** The clusters this node has (or is asking for) a link to, other than its own. */
  private remoteClusters(): Set<string> {
    const clusters = new Set<string>();
    const policy = this.cluster;
    if (!policy) return clusters;
    for (const peer of [...this.active.values(), ...[...this.attempts.values()].map((attempt) => attempt.peer)]) {
      if (this.isRemote(peer)) clusters.add(policy.clusterOf(peer));
    }
    return clusters;
  }

  /** How many more inter-cluster links this node asks for: any number without clusters, a bridge up to bridgeLinks, else none. */
  private remoteWanted(): number {
    const policy = this.cluster;
    if (!policy) return Infinity;
    return policy.isBridge() ? this.bridgeLinks - this.remoteHeld() : 0;
  }

  /** A bridge with fewer inter-cluster links (held or asked for) than bridgeLinks. */
  private bridgeShort(): boolean {
    return this.cluster?.isBridge() === true && this.remoteWanted() > 0;
  }

  /** No peer and no attempt in its own cluster (alone in it, or cut off): it takes other clusters' nodes as any node would. */
  private cutOff(): boolean {
    if (!this.cluster) return false;
    for (const peer of this.active.values()) if (!this.isRemote(peer)) return false;
    for (const attempt of this.attempts.values()) if (!this.isRemote(attempt.peer)) return false;
    return true;
  }

  /**
   * Whether to refuse an inter-cluster request: a non-bridge does once it has a peer in its own
   * cluster; a bridge at bridgeLinks such links (twice that for a cluster it has no link to),
   * unless the request is high priority.
   */
  private refusesRemote(peer: PeerRef, high: boolean): boolean {
    const policy = this.cluster;
    if (!policy || !this.isRemote(peer)) return false;
    if (!policy.isBridge()) return !this.cutOff();
    if (high || this.cutOff()) return false;
    const held = this.remoteHeld(false);
    if (held < this.bridgeLinks) return false;
    return held >= 2 * this.bridgeLinks || this.remoteClusters().has(policy.clusterOf(peer));
  }

  /** "Full, try" this cluster's bridges; the requester stays a candidate (an inter-cluster one for the reserve). */
  private redirect(from: string, peer: PeerRef): void {
    this.counters.redirected++;
    const bridges = this.cluster!.bridges().filter((bridge) => bridge.id !== from).slice(0, maxAlternatives);
    this.links.send(from, { t: 'hv.nbr.re', ok: false, try: bridges.length > 0 ? bridges : this.alternatives(from) });
    this.addPassive(peer);
  }

  /**
   * Once it has a peer in its own cluster, a non-bridge leaves its inter-cluster links to the
   * bridges, and a bridge keeps at most twice bridgeLinks (both alive: they stay candidates).
   */
  private shedRemote(): boolean {
    let keep = this.remoteKept();
    if (keep === Infinity) return false;
    const before = this.active.size;
    for (const peer of [...this.active.values()]) {
      if (!this.isRemote(peer) || keep-- > 0) continue;
      this.counters.shed++;
      this.links.send(peer.id, { t: 'hv.disc', alive: true });
      this.removeActive(peer.id);
      this.closeSession(peer.id);
      this.addPassive(peer);
    }
    return this.active.size < before;
  }

  /**
   * Inter-cluster links this node keeps: all of them until a peer of its own cluster is active (an
   * attempt in flight may still fail, and shedding first could leave it with no peer), then twice
   * bridgeLinks for a bridge and none for a non-bridge.
   */
  private remoteKept(): number {
    if (!this.cluster) return Infinity;
    let home = false;
    for (const peer of this.active.values()) if (!this.isRemote(peer)) home = true;
    if (!home) return Infinity;
    return this.cluster.isBridge() ? 2 * this.bridgeLinks : 0;
  }

  /**
   * A timer only with a free dial slot and a candidate waiting out its backoff: below target any
   * failed candidate, else (no probe in flight, below activeMax) a probeable one.
   */
  private scheduleRetry(): void {
    const belowTarget = this.active.size + this.attempts.size < this.activeTarget;
    let earliest: number | undefined;
    if (belowTarget && this.attempts.size < this.maxConcurrentConnects) earliest = this.earliestBackoffEnd('any');
    else if (this.bridgeShort() && this.attempts.size < this.maxConcurrentConnects) earliest = this.earliestBackoffEnd('remote');
    if (earliest === undefined && !belowTarget && this.mayProbe()) earliest = this.earliestBackoffEnd('probe');
    if (earliest === undefined) {
      this.cancelRetry();
      return;
    }
    if (this.retry && this.retry.at <= earliest) return;
    this.cancelRetry();
    const at = earliest;
    const timer = this.clock.setTimeout(() => {
      this.retry = undefined;
      this.promote();
    }, Math.max(0, at - this.clock.monotonic()));
    this.retry = { timer, at };
  }

  private earliestBackoffEnd(which: 'any' | 'probe' | 'remote'): number | undefined {
    const now = this.clock.monotonic();
    let earliest: number | undefined;
    for (const [id, peer] of this.passive) {
      if (which === 'remote' && !this.isRemote(peer)) continue;
      const notBefore = which === 'probe' ? this.probeable(id)?.notBefore : this.failures.get(id)?.notBefore;
      if (notBefore === undefined || notBefore <= now || this.attempts.has(id)) continue;
      if (earliest === undefined || notBefore < earliest) earliest = notBefore;
    }
    return earliest;
  }

  private cancelRetry(): void {
    this.retry?.timer.cancel();
    this.retry = undefined;
  }

  private startAttempt(peer: PeerRef, kind: Attempt['kind'], probe = false): void {
    const attempt: Attempt = { peer, kind, requested: false, probe };
    this.reappeared.delete(peer.id);
    this.attempts.set(peer.id, attempt);
    if (this.sessions.has(peer.id)) {
      this.sendRequest(attempt);
      return;
    }
    this.armDeadline(peer.id);
    this.links.connect(peer);
  }

  private sendRequest(attempt: Attempt): void {
    attempt.requested = true;
    this.armDeadline(attempt.peer.id);
    const message: MembershipMessage =
      attempt.kind === 'join' ? { t: 'hv.join', peer: this.self } : { t: 'hv.nbr', peer: this.self, high: this.active.size === 0 };
    if (!this.links.send(attempt.peer.id, message)) this.failAttempt(attempt.peer.id);
  }

  /** `lost`: a failure (dial, session, timeout) rather than a refusal. */
  private failAttempt(peerId: string, lost = true): void {
    const attempt = this.attempts.get(peerId);
    if (!attempt) return;
    this.attempts.delete(peerId);
    this.recordFailure(peerId, lost);
    // A failed join leaves the contact as a candidate: promotion keeps trying it after its backoff.
    if (attempt.kind === 'join') this.addPassive(attempt.peer);
    this.closeSession(peerId);
    this.promote();
  }

  private armDeadline(peerId: string): void {
    this.clearDeadline(peerId);
    this.deadlines.set(peerId, this.clock.setTimeout(() => this.onDeadline(peerId), this.requestTimeoutMs));
  }

  private clearDeadline(peerId: string): void {
    this.deadlines.get(peerId)?.cancel();
    this.deadlines.delete(peerId);
  }

  private onDeadline(peerId: string): void {
    this.deadlines.delete(peerId);
    if (this.active.has(peerId)) return;
    this.counters.requestTimeouts++;
    this.logger.debug(`${peerId} not accepted within ${this.requestTimeoutMs} ms: closing`);
    if (this.attempts.has(peerId)) {
      // Aborts a dial that never reported back; an open session is closed by failAttempt.
      if (!this.sessions.has(peerId)) this.links.disconnect(peerId);
      this.failAttempt(peerId);
      return;
    }
    this.closeSession(peerId);
  }

  /** Closes our side; the host reports nothing more for this peer. */
  private closeSession(peerId: string): void {
    this.clearDeadline(peerId);
    if (this.sessions.delete(peerId)) this.links.disconnect(peerId);
  }

  private makeActive(peer: PeerRef): void {
    this.clearDeadline(peer.id);
    this.attempts.delete(peer.id);
    this.passive.delete(peer.id);
    this.failures.delete(peer.id);
    this.active.set(peer.id, peer);
    this.joining = false;
    this.logger.debug(`active + ${peer.id} (${this.active.size})`);
    this.shuffleSoonIfShort();
    this.emit('up', peer.id);
    if (!this.isRemote(peer) && this.shedRemote()) this.promote();
  }

  private removeActive(peerId: string): void {
    if (!this.active.delete(peerId)) return;
    this.logger.debug(`active - ${peerId} (${this.active.size})`);
    this.emit('down', peerId);
  }

  /**
   * A bridge full of its own cluster's peers drops one of them (alive) for an inter-cluster link:
   * they have other peers in the cluster, the other clusters have only its bridges. False when it
   * has none to drop.
   */
  private makeRoomForRemote(): boolean {
    const local = [...this.active.values()].filter((peer) => !this.isRemote(peer));
    if (local.length === 0) return false;
    this.dropRandomActive(undefined, local);
    return true;
  }

  /** Makes room as the paper does: the dropped peer is told it may come back (alive) and stays a candidate. */
  private dropRandomActive(keep: string | undefined, among: readonly PeerRef[] = [...this.active.values()]): void {
    const victim = this.pickRandom(among.map((peer) => peer.id).filter((id) => id !== keep));
    if (victim === undefined) return;
    const peer = this.active.get(victim)!;
    this.links.send(victim, { t: 'hv.disc', alive: true });
    this.removeActive(victim);
    this.closeSession(victim);
    this.addPassive(peer);
  }

  /**
   * Adds a candidate; when full, drops first an id from `preferDrop`, then a failed candidate, then
   * any (`evictHealthy` false: only a failed one, else the new candidate is not kept).
   */
  private addPassive(peer: PeerRef, preferDrop?: ReadonlySet<string>, evictHealthy = true): void {
    if (peer.id === this.self.id || this.active.has(peer.id) || this.passive.has(peer.id)) return;
    if (this.passive.size >= this.passiveMax && !this.evictPassive(preferDrop, evictHealthy)) return;
    this.passive.set(peer.id, peer);
  }

  /** False when nothing was dropped (only possible with `evictHealthy` false). */
  private evictPassive(preferDrop: ReadonlySet<string> | undefined, evictHealthy: boolean): boolean {
    const reserved = this.reservedRemote();
    // One pass (this runs on every candidate added to a full view: a hot path of the simulator).
    const idle: string[] = [];
    const sent: string[] = [];
    const failed: string[] = [];
    for (const id of this.passive.keys()) {
      if (this.attempts.has(id) || reserved.has(id)) continue;
      idle.push(id);
      if (preferDrop?.has(id)) sent.push(id);
      if (this.failures.has(id)) failed.push(id);
    }
    if (!evictHealthy && failed.length === 0) return false;
    const pool = sent.length > 0 ? sent : failed.length > 0 ? failed : idle;
    const victim = this.pickRandom(pool.length > 0 ? pool : [...this.passive.keys()]);
    if (victim !== undefined) this.passive.delete(victim);
    return true;
  }

  /** Inter-cluster candidates not to evict: all of them while there are at most remoteReserve. */
  private reservedRemote(): ReadonlySet<string> {
    if (!this.cluster) return noIds;
    const remote: string[] = [];
    for (const peer of this.passive.values()) if (this.isRemote(peer)) remote.push(peer.id);
    return remote.length > 0 && remote.length <= remoteReserve ? new Set(remote) : noIds;
  }

  /** Up to 4 peers for a requester to keep as candidates or try instead: known alive, not the requester. */
  private alternatives(requester: string): PeerRef[] {
    const known = [...this.active.values(), ...this.healthyPassive()].filter((peer) => peer.id !== requester);
    return this.sample(known, maxAlternatives);
  }

  /** Passive entries that have not failed: the ones worth passing on to others. */
  private healthyPassive(): PeerRef[] {
    const healthy: PeerRef[] = [];
    for (const peer of this.passive.values()) if (!this.failures.has(peer.id)) healthy.push(peer);
    return healthy;
  }

  private healthyPassiveCount(): number {
    let count = 0;
    for (const id of this.passive.keys()) if (!this.failures.has(id)) count++;
    return count;
  }

  /** `lost`: the peer may be gone or cut off (worth a healing probe); false: it refused or dropped us, alive. */
  private recordFailure(peerId: string, lost = true): void {
    const failure = this.failures.get(peerId) ?? { backoff: new Backoff(this.random, this.backoffOptions), notBefore: 0, lost };
    failure.notBefore = this.clock.monotonic() + failure.backoff.next();
    failure.lost = lost;
    // Re-inserted so the map stays oldest-first for pruning.
    this.failures.delete(peerId);
    this.failures.set(peerId, failure);
    this.pruneFailures();
  }

  /** Keeps the records of current candidates; forgets the stalest others first. */
  private pruneFailures(): void {
    const limit = 2 * (this.passiveMax + this.activeMax);
    for (const id of this.failures.keys()) {
      if (this.failures.size <= limit) return;
      if (!this.passive.has(id) && !this.attempts.has(id)) this.failures.delete(id);
    }
    for (const id of this.failures.keys()) {
      if (this.failures.size <= limit) return;
      this.failures.delete(id);
    }
  }

  private pickRandom<T>(items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined;
    return items[Math.min(items.length - 1, Math.floor(this.random.next() * items.length))];
  }

  /** Up to `count` distinct items, uniformly (partial Fisher-Yates). */
  private sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const picked: T[] = [];
    while (picked.length < count && pool.length > 0) {
      const index = Math.min(pool.length - 1, Math.floor(this.random.next() * pool.length));
      picked.push(pool[index]!);
      pool[index] = pool[pool.length - 1]!;
      pool.pop();
    }
    return picked;
  }
}
