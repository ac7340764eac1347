/**
 * Plumtree broadcast: Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees" (SRDS 2007), as a
 * pure state machine. It never touches a socket: the host hands it links, a clock and its dedup
 * (`has`), and feeds it what arrives. The same code runs in the node and in the simulator.
 *
 * The paper in one paragraph: every link starts eager (payload pushed on it). A node that gets a
 * copy it already had moves the sender to its lazy set and sends it PRUNE, so duplicates carve the
 * overlay down to a spanning tree. Lazy links carry only IHAVE(ids), batched. A node that hears
 * IHAVE for an id it lacks waits `timeout1` for the eager copy, then GRAFTs the announcer (which
 * answers with the payload and makes the link eager again, repairing the tree), then the next
 * announcer every `timeout2`.
 *
 * Departures from the paper's single shared tree, after riak_core's plumtree broadcast
 * (riak_core_broadcast.erl): one tree per root (the message's origin), so each origin's messages
 * follow its own shortest-path tree; in a small full mesh that is the star of direct links and a
 * message reaches everyone in one hop. Only lazy(root) is stored: eager(root) is the current
 * neighbours minus lazy(root), so a new neighbour is eager for every root (the paper's initial
 * state). A lazy set is kept once made, even empty (a star's centre has no lazy link, and a new
 * copy of the template below would undo its star): only a root the LRU (`maxRoots`) forgot is
 * new again.
 *
 * Template trees for new roots. With a tree per root, a root's first message flooded every link:
 * about the mean degree in copies per delivery (9 at 1,000 nodes). But the tree is undirected:
 * a PRUNE makes the link lazy on both sides, a GRAFT or a new message's push eager on both. So
 * the eager links of a settled root form a spanning tree, and a push along a spanning tree from
 * ANY node reaches every node once. A root new to a node therefore starts from a copy of a
 * template, the lazy set of the known root with the smallest id (the paper's shared tree,
 * borrowed): on a LAN every node announces its presence, so the nodes know the same roots and
 * copy the same tree. Where they do not (a node that just joined and has no tree to copy, so
 * floods; a root some know and others not yet), a link that one side thinks eager carries a duplicate and is pruned (copied entries
 * count as not pruned yet), and a link that both think lazy carries an IHAVE, and the GRAFT
 * repairs the tree: agreement saves copies, delivery never depends on it. The root and its
 * neighbours (fewer than `floodHops` = 2 hops away) still push the first message on every link:
 * a tree path is up to twice the distance, and the ~degree² entry points into the template keep
 * first messages near the shortest paths (at 1,000 nodes with only the root on every link, hops
 * p99 was 9, the target 8). Then section 3.8 below reshapes the new root's tree towards its own
 * shortest paths within a few messages. In a small full mesh every node is the root's neighbour,
 * so a root's first message still floods ((n-1)(n-2) duplicates, once per root) and leaves its
 * star. The tree of the last root a node sent on measured as well in the simulator (10 speakers),
 * but on real nodes, where every node's presence makes it a root, neighbours' last roots differ
 * and the copies leave holes: at 25 processes, 6 of 20 paced messages of a new root took 0.5-0.8 s
 * to reach everyone (GRAFTs), against 4 with the smallest id, the first four, as when first
 * messages flooded (that delay, with no GRAFT, is not Plumtree's: see the issue #14 note).
 *
 * Shorter trees (the paper's section 3.8 optimisation): the host tells `receive` how many hops
 * each copy travelled from its root, and every IHAVE entry carries the announcer's own count for
 * that message (`[root, id, hops]`, 0 at the root). A node that got message m eagerly over h_eager
 * hops and hears IHAVE(m) from lazy peer L with h_lazy + 1 + `hopThreshold` < h_eager swaps the
 * two links for m's root: GRAFT to L with no ids (link eager, nothing to send now) and PRUNE to the
 * peer m came from. The same check runs when the IHAVE came first and the eager copy arrives
 * while it is still awaited. Without it, a tree repaired by GRAFTs under churn only ever grows
 * longer (a graft takes whichever announcer answers, however far from the root it is); a missing
 * message is likewise grafted from its nearest announcer first. In a static overlay every swap
 * shortens a node's distance, so they settle, and a tie never swaps. The threshold is 0 (swap for
 * a gain of one hop): in the 1,000-node simulation it left half the tree excess of threshold 1
 * for about 1 % more control messages (a swap costs a GRAFT, a PRUNE and one duplicate).
 *
 * Fewer IHAVEs: on an idle node every IHAVE received is a wake-up, and wake-ups were most of what
 * a delivery cost (real processes, 50 nodes: 10.5 wake-ups and 6.6 announced ids per delivery and
 * node). Two lazy neighbours mostly both have a message and would announce it to each other; a
 * node does not announce a message to a peer that showed it holds it (its IHAVE or a duplicate
 * came first), unless its own path is shorter (which section 3.8 needs the peer to hear). The
 * nodes flush on a shared grid of the wall clock (`alignFlushes`, every `ihaveFlushMs`): a node's
 * lazy neighbours then announce a message within a millisecond of each other and of its own flush,
 * one wake-up for all of them where random flushes woke it once for each (25 real processes, same
 * sitting: 5.3 main-thread wake-ups and 3.0 ms of CPU per delivery and node, against 7.9 and 3.6;
 * 4.0 announced ids against 3.5, since neither side of a link goes first). Clocks a LAN keeps in
 * step (NTP) are close enough; skewed ones flush as if at random.
 *
 * Parameters (defaults, `plumtreeDefaults`): IHAVEs flushed 100-200 ms after the first is queued
 * (the paper batches lazy push without a figure); timeout1 400 ms and timeout2 200 ms (LAN round trips are ~1 ms, the
 * margin is for loaded nodes and long eager paths); 2048 messages kept at most 60 s to answer
 * GRAFTs; 4096 roots; 256 ids per control message; 4096 awaited ids with 8 announcers each; a
 * lazy path replaces the eager one when it is shorter (threshold 0).
 * Idle cost: no timer is armed unless an IHAVE is queued or an id is awaited.
 * TTLs and encoding are the host's: items are opaque, and the host measures their hops.
 */
import type { Clock, Random, TimerHandle } from '../../kernel/clock';
import { silentLogger, type Logger } from '../../kernel/log';
import { BoundedMap } from '../boundedMap';
import type { BroadcastControl, BroadcastLinks } from './types';

export interface PlumtreeOptions<T> {
  self: string;
  clock: Clock;
  links: BroadcastLinks<T>;
  logger?: Logger;
  /** Has this node already delivered (or dropped as seen) message `id` of `root`? The host's dedup answers. */
  has(root: string, id: string): boolean;
  /**
   * Lazy push batching: the first IHAVE queued waits this long, plus up to as long again at random
   * when `random` is given, and leaves with every IHAVE queued by then.
   */
  ihaveFlushMs?: number;
  /** Spreads the nodes' flushes (see `ihaveFlushMs`); none without it (the unit tests). */
  random?: Random;
  /**
   * Flushes at the next multiple of `ihaveFlushMs` of the wall clock at least `ihaveFlushMs` away
   * instead of at random: the neighbours' IHAVEs for a message then arrive together.
   */
  alignFlushes?: boolean;
  /** The paper's timeout1: after an IHAVE for a missing id, how long to wait for the eager copy before GRAFT. */
  graftTimeoutMs?: number;
  /** The paper's timeout2: how long to wait after a GRAFT before grafting the next announcer. */
  graftRetryMs?: number;
  /** Messages kept to answer GRAFTs... */
  cacheSize?: number;
  /** ...for at most this long. */
  cacheMs?: number;
  /** Roots (origins) whose lazy set is kept, least recently used forgotten first. */
  maxRoots?: number;
  /** Ids per control message, sent and accepted. */
  maxIhaveIds?: number;
  /** Ids awaited at once after IHAVEs; further ones are ignored until some resolve. */
  maxMissing?: number;
  /**
   * The paper's threshold (section 3.8): a lazy peer announcing a message over h_lazy hops
   * replaces the eager one it came from over h_eager hops when h_lazy + 1 + threshold < h_eager.
   */
  hopThreshold?: number;
}

export interface PlumtreeStats {
  /** Roots whose tree this node keeps (a lazy set, empty when every link is eager). */
  roots: number;
  /** Messages cached for GRAFTs. */
  cached: number;
  /** Payloads pushed (tree pushes and GRAFT answers). */
  eagerPushes: number;
  /** Ids announced in IHAVEs. */
  ihaveSent: number;
  /** Ids not announced to a peer that had shown it holds them (and over a path no longer than ours). */
  ihaveSkipped: number;
  /** GRAFT messages sent. */
  grafts: number;
  /** PRUNE messages sent. */
  prunes: number;
  /** Ids awaited after an IHAVE (each a logical timer; one clock timer serves them all). */
  missingTimers: number;
  /** Eager links swapped for a lazy one that announced a shorter path (section 3.8). */
  shortcuts: number;
}

export const plumtreeDefaults = {
  ihaveFlushMs: 100,
  graftTimeoutMs: 400,
  graftRetryMs: 200,
  cacheSize: 2048,
  cacheMs: 60_000,
  maxRoots: 4096,
  maxIhaveIds: 256,
  maxMissing: 4096,
  hopThreshold: 0,
} as const;

/** Announcers remembered per awaited id: beyond a few, more alternatives do not help. */
const maxAnnouncers = 8;
/** Node ids are 52 characters and router ids at most 128: anything longer is not ours. */
const maxIdLength = 256;
/**
 * Hop counts in IHAVEs, sent (clamped) and accepted: the node's envelopes accept at most 16 hops,
 * the simulator has no budget; past this the comparison no longer matters.
 */
export const maxHops = 255;
/**
 * A root's first message is pushed on every link by the nodes fewer than this many hops from it
 * (the root and its neighbours), and follows the template tree beyond: see the header.
 */
const floodHops = 2;

interface Cached<T> {
  item: T;
  at: number;
  /** Hops this copy travelled from its root (0 for our own), or the announced path we grafted since. */
  hops: number;
  /** The peer it came from (ourselves for our own): our parent in its root's tree. */
  from: string;
  /** Peers that showed they hold it (an IHAVE, a duplicate), with the hops it took to reach them. */
  holders?: Map<string, number>;
}

interface Missing {
  root: string;
  id: string;
  /**
   * Peers that announced it and have not been grafted for it yet, nearest to the root first (in
   * order of announcement among equals): a GRAFT makes the link eager, so it should be the shortest.
   */
  announcers: Array<{ peer: string; hops: number }>;
  /** When to graft the next announcer (or give up when none is left). */
  due: number;
  /** The announcer closest to the root (first of equals), and its hop count, should the eager copy come the long way. */
  nearest: string;
  nearestHops: number;
}

/** An IHAVE entry: a message and the announcer's hop count for it. */
type Announcement = [root: string, id: string, hops: number];

/** Length-prefixed, so no choice of root and id can collide with another. */
function keyOf(root: string, id: string): string {
  return `${root.length}:${root}${id}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxIdLength;
}

// The list checks below run on every IHAVE and GRAFT: plain loops, no callback per entry.
function isIdList(value: unknown, maxIds: number): value is string[] {
  if (!Array.isArray(value) || value.length > maxIds) return false;
  for (const entry of value) if (!isId(entry)) return false;
  return true;
}

function isHops(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxHops;
}

function isAnnouncementList(value: unknown, maxIds: number): value is Announcement[] {
  if (!Array.isArray(value) || value.length > maxIds) return false;
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3 || !isId(entry[0]) || !isId(entry[1]) || !isHops(entry[2])) return false;
  }
  return true;
}

/** Shape check of a control message from the wire; extra fields are tolerated (newer peers). */
export function isBroadcastControl(value: unknown, maxIds: number = plumtreeDefaults.maxIhaveIds): value is BroadcastControl {
  if (!isRecord(value)) return false;
  switch (value.t) {
    case 'pt.ihave':
      return isAnnouncementList(value.ids, maxIds);
    case 'pt.graft':
      return isId(value.root) && isIdList(value.ids, maxIds);
    case 'pt.prune':
      return isId(value.root);
    default:
      return false;
  }
}

export class Plumtree<T> {
  private readonly self: string;
  private readonly clock: Clock;
  private readonly links: BroadcastLinks<T>;
  private readonly log: Logger;
  private readonly ihaveFlushMs: number;
  private readonly graftTimeoutMs: number;
  private readonly graftRetryMs: number;
  private readonly cacheMs: number;
  private nextExpiry = -Infinity;
  private readonly maxIhaveIds: number;
  private readonly maxMissing: number;
  private readonly hopThreshold: number;

  private readonly neighbors = new Set<string>();
  /**
   * Per root, the peers that get IHAVEs instead of payloads. The value says whether we already
   * sent that peer a PRUNE since it became lazy: copies it pushed before the PRUNE reached it
   * must not each trigger another one.
   */
  private readonly lazy: BoundedMap<string, Map<string, boolean>>;
  private readonly cache: BoundedMap<string, Cached<T>>;
  private readonly missing = new Map<string, Missing>();
  private readonly ihaveQueue = new Map<string, Announcement[]>();
  private flushTimer: TimerHandle | undefined;
  private graftTimer: TimerHandle | undefined;
  private graftTimerAt = Infinity;
  private stopped = false;
  /** The timers' callbacks, made once: every broadcast arms the flush timer on every node. */
  private readonly onFlushTimer = () => this.flush();
  private readonly onGraftTimerFired = () => this.onGraftTimer();
  private readonly counts = { eagerPushes: 0, ihaveSent: 0, ihaveSkipped: 0, grafts: 0, prunes: 0, shortcuts: 0 };

  constructor(private readonly options: PlumtreeOptions<T>) {
    this.self = options.self;
    this.clock = options.clock;
    this.links = options.links;
    this.log = options.logger ?? silentLogger;
    this.ihaveFlushMs = options.ihaveFlushMs ?? plumtreeDefaults.ihaveFlushMs;
    this.graftTimeoutMs = options.graftTimeoutMs ?? plumtreeDefaults.graftTimeoutMs;
    this.graftRetryMs = options.graftRetryMs ?? plumtreeDefaults.graftRetryMs;
    this.cacheMs = options.cacheMs ?? plumtreeDefaults.cacheMs;
    this.maxIhaveIds = options.maxIhaveIds ?? plumtreeDefaults.maxIhaveIds;
    this.maxMissing = options.maxMissing ?? plumtreeDefaults.maxMissing;
    this.hopThreshold = options.hopThreshold ?? plumtreeDefaults.hopThreshold;
    this.lazy = new BoundedMap(options.maxRoots ?? plumtreeDefaults.maxRoots);
    this.cache = new BoundedMap(options.cacheSize ?? plumtreeDefaults.cacheSize);
  }

  // ---- membership ----

  /** A session with `peerId` is up: it is eager for every root until it proves redundant. */
  neighborUp(peerId: string): void {
    if (this.stopped || peerId === this.self) return;
    this.neighbors.add(peerId);
  }

  neighborDown(peerId: string): void {
    if (!this.neighbors.delete(peerId)) return;
    for (const [, peers] of this.lazy.entries()) peers.delete(peerId);
    // Awaited ids fall back on their other announcers, or are given up at their next deadline.
    for (const entry of this.missing.values()) {
      const at = entry.announcers.findIndex((announcer) => announcer.peer === peerId);
      if (at >= 0) entry.announcers.splice(at, 1);
    }
    this.ihaveQueue.delete(peerId);
    if (this.ihaveQueue.size === 0) this.cancelFlush();
  }

  // ---- payloads ----

  /** A message of our own (root = self). */
  broadcast(id: string, item: T): void {
    if (this.stopped) return;
    this.disseminate(this.self, this.self, id, item, 0);
  }

  /**
   * An eager copy arrived from `from`. `isNew`: the host's dedup said it was new (the host
   * delivers it). `hops`: how many hops this copy travelled from `root` (1 when `from` is the root).
   */
  receive(from: string, root: string, id: string, item: T, isNew: boolean, hops: number): void {
    if (this.stopped) return;
    const travelled = Number.isFinite(hops) ? Math.max(1, Math.round(hops)) : maxHops;
    if (!isNew) {
      this.onDuplicate(from, root, id, travelled);
      return;
    }
    // The paper moves the sender of a new message to eager: it is our parent in root's tree (made
    // first if the root is new to us, so the parent stays eager whatever the template says).
    this.lazyFor(root, travelled).delete(from);
    const awaited = this.missing.size > 0 ? this.missing.get(keyOf(root, id)) : undefined;
    this.disseminate(from, root, id, item, travelled);
    // It was announced first: if an announcer is much closer to the root, the tree should go through it.
    if (awaited) this.shortcut(root, id, awaited.nearest, awaited.nearestHops);
  }

  private disseminate(from: string, root: string, id: string, item: T, hops: number): void {
    // With one neighbour at most, no peer can ever GRAFT this message from us (whoever else has it
    // got it through that neighbour): a two-node mesh pays nothing for the tree.
    if (this.neighbors.size > 1 || this.missing.size > 0) {
      const key = keyOf(root, id);
      if (this.neighbors.size > 1) {
        const now = this.clock.monotonic();
        this.cacheItem(key, { item, at: now, hops, from }, now);
      }
      this.resolved(key);
    }
    // Also refreshes the root's place in the LRU: a root that keeps talking keeps its tree.
    const lazy = this.lazyFor(root);
    // One entry for every lazy peer's batch: entries are never changed once queued.
    let announcement: Announcement | undefined;
    for (const peer of this.neighbors) {
      if (peer === from || peer === root) continue;
      if (lazy.has(peer)) this.queueIhave(peer, (announcement ??= [root, id, Math.min(hops, maxHops)]));
      else this.push(peer, item);
    }
  }

  /**
   * Section 3.8: `announcer` has message `id` of `root` over `hops` hops. If that path is shorter
   * than ours by more than the threshold, it becomes our eager link for root (GRAFT without ids)
   * and the peer we got the message from becomes lazy (PRUNE).
   */
  private shortcut(root: string, id: string, announcer: string, hops: number): void {
    const cached = this.cached(root, id, this.clock.monotonic());
    if (!cached || hops + 1 + this.hopThreshold >= cached.hops) return;
    if (announcer === cached.from || !this.neighbors.has(announcer)) return;
    const parent = cached.from;
    // From now on this message counts as reached over the shorter path: a later announcer must beat that.
    cached.hops = hops + 1;
    cached.from = announcer;
    this.counts.shortcuts++;
    this.sendGraft(announcer, root, []);
    if (parent !== this.self && this.neighbors.has(parent)) this.prune(root, parent);
  }

  private push(peer: string, item: T): void {
    this.counts.eagerPushes++;
    this.links.push(peer, item);
  }

  /**
   * A redundant copy: that link is not on root's tree, so ask the sender to go lazy. Unless this
   * copy came a shorter way than the one delivered (on a loaded node a relayed copy can be read
   * before the root's own): then that way becomes the tree's and the first copy's sender goes lazy,
   * as section 3.8 does for an IHAVE. Otherwise the root's direct link is pruned, and every later
   * message of the root waits on the relay, or on an IHAVE and a GRAFT if the relay drops it.
   */
  private onDuplicate(from: string, root: string, id: string, travelled: number): void {
    if (!this.neighbors.has(from)) return;
    this.noteHolder(root, id, from, travelled - 1);
    const cached = this.cached(root, id, this.clock.monotonic());
    if (cached && cached.from !== from && travelled + this.hopThreshold < cached.hops) {
      const parent = cached.from;
      cached.hops = travelled;
      cached.from = from;
      this.counts.shortcuts++;
      // A GRAFT even though `from` pushes to us now: it may be pruning us at this moment (it got
      // our copy as a duplicate), and the GRAFT keeps its side eager whatever the order. Without
      // it, that crossing left nodes with no eager parent: a root's messages 2 to 4 came by
      // IHAVE and GRAFT, 0.5-0.7 s late, at 25 processes.
      this.sendGraft(from, root, []);
      if (parent !== this.self && this.neighbors.has(parent)) this.prune(root, parent);
      return;
    }
    this.prune(root, from);
  }

  private prune(root: string, peer: string): void {
    const lazy = this.lazyFor(root);
    if (lazy.get(peer) === true) return;
    lazy.set(peer, true);
    this.counts.prunes++;
    this.links.control(peer, { t: 'pt.prune', root });
  }

  // ---- control ----

  /** A control message from `from`; false if malformed (the host closes that session). */
  receiveControl(from: string, message: unknown): boolean {
    if (!isBroadcastControl(message, this.maxIhaveIds)) {
      this.log.debug(`malformed broadcast control from ${from.slice(0, 7)}`);
      return false;
    }
    // A peer we hold no session with cannot be pushed to nor grafted: nothing to record.
    if (this.stopped || !this.neighbors.has(from)) return true;
    switch (message.t) {
      case 'pt.ihave':
        this.onIhave(from, message.ids);
        break;
      case 'pt.graft':
        this.onGraft(from, message.root, message.ids);
        break;
      case 'pt.prune':
        this.onPrune(from, message.root);
        break;
    }
    return true;
  }

  private onPrune(from: string, root: string): void {
    const lazy = this.lazyFor(root);
    // Keeps a `true` (we pruned it too): a copy still in flight from it needs no second PRUNE.
    if (!lazy.has(from)) lazy.set(from, false);
  }

  private onGraft(from: string, root: string, ids: readonly string[]): void {
    this.makeEager(root, from);
    const now = this.clock.monotonic();
    for (const id of ids) {
      const cached = this.cached(root, id, now);
      if (cached) this.push(from, cached.item);
    }
  }

  private onIhave(from: string, ids: readonly Announcement[]): void {
    for (const [root, id, hops] of ids) {
      if (root === this.self) continue;
      if (this.options.has(root, id)) {
        this.shortcut(root, id, from, hops);
        this.noteHolder(root, id, from, hops);
      }
      else this.noteMissing(from, root, id, hops);
    }
  }

  // ---- lazy push (IHAVE batching) ----

  private queueIhave(peer: string, announcement: Announcement): void {
    let queue = this.ihaveQueue.get(peer);
    if (!queue) {
      queue = [];
      this.ihaveQueue.set(peer, queue);
    }
    queue.push(announcement);
    if (queue.length >= this.maxIhaveIds) {
      // A full batch leaves now: waiting would only grow memory and the message.
      this.ihaveQueue.delete(peer);
      this.sendIhave(peer, queue);
      if (this.ihaveQueue.size === 0) this.cancelFlush();
      return;
    }
    this.flushTimer ??= this.clock.setTimeout(this.onFlushTimer, this.flushDelayMs());
  }

  private flushDelayMs(): number {
    if (this.options.alignFlushes) {
      const now = this.clock.now();
      return Math.ceil((now + this.ihaveFlushMs) / this.ihaveFlushMs) * this.ihaveFlushMs - now;
    }
    return this.ihaveFlushMs * (1 + (this.options.random?.next() ?? 0));
  }

  private flush(): void {
    this.flushTimer = undefined;
    const queues = [...this.ihaveQueue];
    this.ihaveQueue.clear();
    for (const [peer, ids] of queues) this.sendIhave(peer, ids);
  }

  /**
   * Every IHAVE costs its receiver a wake-up, the main cost of a delivery on an idle node. Two
   * lazy neighbours both have most messages, and each would announce them to the other: the one
   * whose flush comes second (the flushes are spread at random) skips what the first announced,
   * unless its own path is shorter, which the other needs to hear (section 3.8).
   */
  private sendIhave(peer: string, ids: Announcement[]): void {
    const wanted = ids.filter(([root, id, hops]) => {
      const holderHops = this.cache.get(keyOf(root, id))?.holders?.get(peer);
      return holderHops === undefined || hops + 1 + this.hopThreshold < holderHops;
    });
    this.counts.ihaveSkipped += ids.length - wanted.length;
    if (wanted.length === 0) return;
    this.counts.ihaveSent += wanted.length;
    this.links.control(peer, { t: 'pt.ihave', ids: wanted });
  }

  /** `peer` has message `id` of `root`, `hops` from it: no IHAVE of ours could tell it more (see sendIhave). */
  private noteHolder(root: string, id: string, peer: string, hops: number): void {
    const cached = this.cache.get(keyOf(root, id));
    if (!cached) return;
    cached.holders ??= new Map();
    cached.holders.set(peer, Math.min(hops, cached.holders.get(peer) ?? maxHops));
  }

  private cancelFlush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
  }

  // ---- missing messages (IHAVE → GRAFT) ----

  private noteMissing(announcer: string, root: string, id: string, hops: number): void {
    const key = keyOf(root, id);
    let entry = this.missing.get(key);
    if (!entry) {
      if (this.missing.size >= this.maxMissing) return;
      entry = { root, id, announcers: [], due: this.clock.monotonic() + this.graftTimeoutMs, nearest: announcer, nearestHops: hops };
      this.missing.set(key, entry);
      this.armGraftTimer(entry.due);
    } else if (hops < entry.nearestHops) {
      entry.nearest = announcer;
      entry.nearestHops = hops;
    }
    const { announcers } = entry;
    if (announcers.some((known) => known.peer === announcer)) return;
    let at = announcers.length;
    while (at > 0 && announcers[at - 1]!.hops > hops) at--;
    // Full: a nearer announcer takes the place of the farthest.
    if (at < maxAnnouncers) announcers.splice(at, 0, { peer: announcer, hops });
    if (announcers.length > maxAnnouncers) announcers.pop();
  }

  /** The message arrived: stop waiting for it, and disarm when nothing else is awaited. */
  private resolved(key: string): void {
    if (this.missing.delete(key) && this.missing.size === 0) this.cancelGraftTimer();
  }

  /**
   * One clock timer serves every awaited id, armed for the earliest deadline: an IHAVE batch of
   * 256 ids costs one timer, and ids due together are grafted in one message per announcer.
   */
  private armGraftTimer(at: number): void {
    if (at >= this.graftTimerAt) return;
    this.graftTimer?.cancel();
    this.graftTimerAt = at;
    this.graftTimer = this.clock.setTimeout(this.onGraftTimerFired, Math.max(0, at - this.clock.monotonic()));
  }

  private cancelGraftTimer(): void {
    this.graftTimer?.cancel();
    this.graftTimer = undefined;
    this.graftTimerAt = Infinity;
  }

  private onGraftTimer(): void {
    this.graftTimer = undefined;
    this.graftTimerAt = Infinity;
    const now = this.clock.monotonic();
    const grafts = this.dueGrafts(now);
    for (const [peer, byRoot] of grafts) {
      for (const [root, ids] of byRoot) this.sendGraft(peer, root, ids);
    }
    let next = Infinity;
    for (const entry of this.missing.values()) next = Math.min(next, entry.due);
    if (next < Infinity) this.armGraftTimer(next);
  }

  /** Picks the next announcer of every overdue id, grouped by announcer and root. */
  private dueGrafts(now: number): Map<string, Map<string, string[]>> {
    const grafts = new Map<string, Map<string, string[]>>();
    for (const [key, entry] of this.missing) {
      if (this.options.has(entry.root, entry.id)) {
        // Delivered by another way (the host's own repair): nothing to ask for.
        this.missing.delete(key);
        continue;
      }
      if (entry.due > now) continue;
      const announcer = entry.announcers.shift()?.peer;
      if (announcer === undefined) {
        this.missing.delete(key);
        this.log.debug(`gave up on ${entry.id} of ${entry.root.slice(0, 7)}: no announcer left`);
        continue;
      }
      entry.due = now + this.graftRetryMs;
      let byRoot = grafts.get(announcer);
      if (!byRoot) grafts.set(announcer, (byRoot = new Map<string, string[]>()));
      let ids = byRoot.get(entry.root);
      if (!ids) byRoot.set(entry.root, (ids = []));
      ids.push(entry.id);
    }
    return grafts;
  }

  private sendGraft(peer: string, root: string, ids: string[]): void {
    // The paper: grafting a peer makes its link eager again, which repairs the tree for what follows.
    this.makeEager(root, peer);
    // At least one message: an empty list (section 3.8) only makes the link eager.
    let start = 0;
    do {
      this.counts.grafts++;
      this.links.control(peer, { t: 'pt.graft', root, ids: ids.slice(start, start + this.maxIhaveIds) });
      start += this.maxIhaveIds;
    } while (start < ids.length);
  }

  // ---- state helpers ----

  /**
   * Root's lazy set, made on first use. It starts empty (eager on every link: the paper's initial
   * state) for our own root and for a root whose message reached us in fewer than `floodHops`;
   * otherwise as a copy of the template, the tree of the known root with the smallest id.
   * `hops`: how far that root's message travelled to us, unknown (as far as can be) when a
   * control message or a GRAFT makes the set.
   */
  private lazyFor(root: string, hops = maxHops): Map<string, boolean> {
    let lazy = this.lazy.get(root);
    if (!lazy) {
      lazy = new Map<string, boolean>();
      // A scan of at most maxRoots, once per root new to this node.
      let smallest: string | undefined;
      if (root !== this.self && hops >= floodHops) for (const [known] of this.lazy.entries()) if (smallest === undefined || known < smallest) smallest = known;
      const template = smallest === undefined ? undefined : this.lazy.get(smallest);
      // `false`: no PRUNE sent for this root yet, so a peer whose own template made our link
      // eager gets one at its first duplicate.
      if (template) for (const peer of template.keys()) lazy.set(peer, false);
    }
    this.lazy.set(root, lazy);
    return lazy;
  }

  private makeEager(root: string, peer: string): void {
    this.lazyFor(root).delete(peer);
  }

  private cacheItem(key: string, entry: Cached<T>, now: number): void {
    this.expireCache(now);
    this.cache.set(key, entry);
  }

  private cached(root: string, id: string, now: number): Cached<T> | undefined {
    this.expireCache(now);
    const entry = this.cache.get(keyOf(root, id));
    return entry && entry.at > now - this.cacheMs ? entry : undefined;
  }

  /**
   * Entries are in insertion order, hence in age order: drops from the oldest while too old. On
   * the hot path at most once a second (`force` for stats); lookups check the age themselves.
   */
  private expireCache(now: number, force = false): void {
    if (!force && now < this.nextExpiry) return;
    this.nextExpiry = now + 1000;
    const oldest = now - this.cacheMs;
    for (const [key, entry] of this.cache.entries()) {
      if (entry.at > oldest) break;
      this.cache.delete(key);
    }
  }

  // ---- lifecycle ----

  /** Cancels every timer and forgets what was queued or awaited; later calls do nothing. */
  stop(): void {
    this.stopped = true;
    this.cancelFlush();
    this.cancelGraftTimer();
    this.ihaveQueue.clear();
    this.missing.clear();
    this.cache.clear();
    this.lazy.clear();
    this.neighbors.clear();
  }

  stats(): PlumtreeStats {
    this.expireCache(this.clock.monotonic(), true);
    return {
      roots: this.lazy.size,
      cached: this.cache.size,
      ...this.counts,
      missingTimers: this.missing.size,
    };
  }
}
