/**
 * Routing of envelopes over sessions.
 *
 * - Local subscriptions by topic prefix; the set of prefixes is announced to peers (in `hello`,
 *   then `subs` changes), so a peer is sent only what it subscribed to.
 * - Every envelope has (origin, seq); duplicates are dropped and per-sender order kept with
 *   bounded memory (dedup.ts). Then each origin's budget for the topic's family is taken
 *   (inboundLimits.ts): past it an envelope is neither delivered nor forwarded.
 * - With a broadcast tree (the overlay's Plumtree, overlay/plumtree.ts), published and received
 *   events go where the tree says, over several hops (each hop takes one from `hops`), and every
 *   node relays every broadcast event whether or not it subscribed: with a bounded number of
 *   sessions per node, most peers are reached only through others.
 * - Without one, forwarding with a hop limit: a node forwards an envelope it received from F to a
 *   subscribed peer C that is not a neighbour of the origin, and only if it is the smallest node id
 *   among the common neighbours of F and C that it knows of (from peer exchange), so in a steady
 *   topology exactly one path carries each envelope. In a full mesh nothing is forwarded.
 * - Addressed envelopes (`to`: remote commands, and events for one node such as anti-entropy
 *   requests) go directly, or through a neighbour of the destination. They are de-duplicated but
 *   not held to per-sender order: a request must not be dropped because a later envelope of its
 *   sender came first by another route.
 * - Every envelope received notes when its origin was heard and, when it came through relays,
 *   how many hops it travelled (heard.ts): what the Peers view says about peers without a session.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { maxEnvelopeHops, nodeIdPattern, type Envelope, type Priority } from '../../../protocol/mesh';
import { encodeSessionMessage, isRecord } from './codec';
import type { Counters } from './counters';
import { Dedup } from './dedup';
import { broadcastIdOf, orderClassOf, orderKey, parseBroadcastId, type OrderClass } from './orderClass';
import { HeardLog } from './heard';
import { InboundLimiter, type InboundLimit } from './inboundLimits';

export interface RouterLinks {
  upPeers(): Iterable<string>;
  isUp(nodeId: string): boolean;
  sendEncoded(nodeId: string, bytes: Buffer, priority: Priority): boolean;
}

export interface RouterOptions {
  nodeId: string;
  clock: Clock;
  counters: Counters;
  logger: Logger;
  links: RouterLinks;
  hopLimit?: number;
  maxOrigins?: number;
  /** Budgets per origin and topic family (default: inboundLimits.ts). */
  inboundLimits?: readonly InboundLimit[];
}

export type EnvelopeHandler = (envelope: Envelope) => void;

/** Spreads broadcast envelopes (the overlay's Plumtree); pushes go back through `Router.push`. */
export interface BroadcastTree {
  /** A new envelope of ours. */
  publish(envelope: Envelope, priority: Priority): void;
  /** A broadcast envelope from `from`: `isNew` false for a copy we had, or one we drop as late. */
  received(from: string, envelope: Envelope, isNew: boolean): void;
}

export interface RouterEvents {
  /** An envelope for every local subscriber (after dedup and order). */
  deliver: [Envelope];
  /** An addressed `rpc` envelope for this node (remote commands). */
  addressed: [Envelope, from: string];
  /** Our set of subscribed prefixes changed; the facade tells the peers. */
  'subs-changed': [add: string[], remove: string[]];
}

export const maxTopicLength = 512;
const idLowRange = 36 ** 4;

/** The last origin that passed the pattern: a batch mostly carries one sender's envelopes. */
let lastValidOrigin = '';

function isNodeId(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (value === lastValidOrigin) return true;
  if (!nodeIdPattern.test(value)) return false;
  lastValidOrigin = value;
  return true;
}

export function isEnvelope(value: unknown): value is Envelope {
  if (!isRecord(value)) return false;
  const { type, id, origin, seq, ts, topic, hops, to, fast, prio } = value;
  return (
    (type === 'event' || type === 'rpc') &&
    typeof id === 'string' && id.length <= 128 &&
    isNodeId(origin) &&
    typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 &&
    typeof ts === 'number' && Number.isFinite(ts) &&
    typeof topic === 'string' && topic.startsWith('/') && topic.length <= maxTopicLength &&
    (hops === undefined || (typeof hops === 'number' && Number.isInteger(hops) && hops >= 0 && hops <= maxEnvelopeHops)) &&
    (to === undefined || (typeof to === 'string' && nodeIdPattern.test(to))) &&
    (fast === undefined || typeof fast === 'boolean') &&
    (prio === undefined || prio === 'control' || prio === 'bulk')
  );
}

export function topicMatches(prefix: string, topic: string): boolean {
  return topic.startsWith(prefix);
}

export class Router extends EventEmitter<RouterEvents> {
  private seq: number;
  private readonly local = new Map<string, Set<EnvelopeHandler>>();
  private readonly peerSubs = new Map<string, Set<string>>();
  private readonly peerNeighbors = new Map<string, Set<string>>();
  private readonly reliableDedup: Dedup;
  private readonly fastDedup: Dedup;
  private readonly addressedDedup: Dedup;
  /** Addressed envelopes relayed for others: a flooded one arrives by several paths. */
  private readonly relayDedup: Dedup;
  private readonly hopLimit: number;
  private readonly inbound: InboundLimiter;
  private readonly idPrefix: string;
  /** `seq.toString(36)` in two parts: the high digits change once every 36^4 seqs. */
  private idHigh = -1;
  private idHighText = '';
  private tree: BroadcastTree | undefined;
  /** When each origin was last heard and over how many hops (read by the Peers view). */
  readonly heard = new HeardLog();

  constructor(private readonly options: RouterOptions) {
    super();
    // Seqs start from the wall clock in µs: they keep rising across restarts without state.
    this.seq = Math.floor(options.clock.now() * 1000);
    this.hopLimit = options.hopLimit ?? 3;
    this.inbound = new InboundLimiter(options.clock, options.inboundLimits);
    this.idPrefix = `${options.nodeId.slice(0, 12)}:`;
    this.reliableDedup = new Dedup(options.maxOrigins ?? 65536, 256, true);
    this.fastDedup = new Dedup(options.maxOrigins ?? 65536, 1024, false);
    // Remote commands have their own at-most-once memory; this only drops relayed copies.
    this.addressedDedup = new Dedup(options.maxOrigins ?? 65536, 1024, false);
    this.relayDedup = new Dedup(options.maxOrigins ?? 65536, 1024, false);
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Next sequence number of this origin. */
  nextSeq(): number {
    return ++this.seq;
  }

  createEnvelope(type: Envelope['type'], topic: string, body: unknown, to?: string): Envelope {
    const seq = this.nextSeq();
    const envelope: Envelope = { type, id: this.idPrefix + this.seqText(seq), origin: this.options.nodeId, seq, ts: this.options.clock.now(), topic, body, hops: this.hopLimit };
    if (to) envelope.to = to;
    return envelope;
  }

  /** Same text as `seq.toString(36)`, without converting a large double on every event. */
  private seqText(seq: number): string {
    const high = Math.floor(seq / idLowRange);
    if (high === 0) return seq.toString(36);
    if (high !== this.idHigh) {
      this.idHigh = high;
      this.idHighText = high.toString(36);
    }
    return this.idHighText + (seq - high * idLowRange).toString(36).padStart(4, '0');
  }

  /** From now on broadcast events go through `tree` (set once, before the first session). */
  useTree(tree: BroadcastTree): void {
    this.tree = tree;
  }

  /** The name of a broadcast envelope in IHAVE and GRAFT: its seq and order class (orderClass.ts). */
  static broadcastId(envelope: Envelope): string {
    return broadcastIdOf(envelope.seq, orderClassOf(envelope));
  }

  /** Has this node seen broadcast `id` (see broadcastId) of `origin`, or would it refuse it? */
  seenBroadcast(origin: string, id: string): boolean {
    const parsed = parseBroadcastId(id);
    if (!parsed) return true;
    return this.reliableDedup.seen(orderKey(origin, parsed.orderClass), parsed.seq, parsed.orderClass !== 'unordered');
  }

  /**
   * How many hops a received broadcast envelope travelled from its origin (for the tree's choice
   * of shorter paths): the origin's own push keeps all `hops` and each relay takes one, so with
   * the origin's budget B it is B + 1 − hops. B is taken to be our `hopLimit`, since the nodes of
   * a mesh share their tuning; a peer with another budget only skews that comparison (at least 1).
   */
  travelled(envelope: Envelope): number {
    return Math.max(1, this.hopLimit + 1 - (envelope.hops ?? 0));
  }

  /**
   * Sends a broadcast envelope to one peer for the tree: one hop less than it has (our own ones
   * leave with all their hops). False when it has none left or the peer is not up.
   */
  push(peer: string, envelope: Envelope, bytes: Buffer | undefined): Buffer | undefined {
    const own = envelope.origin === this.options.nodeId;
    if (!own && (envelope.hops ?? 0) <= 1) return bytes;
    const encoded = bytes ?? encodeSessionMessage({ t: 'env', e: own ? envelope : { ...envelope, hops: (envelope.hops ?? 1) - 1 } });
    if (this.options.links.sendEncoded(peer, encoded, envelope.prio ?? 'chat')) this.options.counters.add(own ? 'router.pushed' : 'router.forwarded');
    return encoded;
  }

  // ---- subscriptions ----

  subscribe(prefix: string, handler: EnvelopeHandler): () => void {
    if (!prefix.startsWith('/') || prefix.length > maxTopicLength) throw new RangeError(`a topic prefix starts with '/' and has at most ${maxTopicLength} characters`);
    let handlers = this.local.get(prefix);
    const added = !handlers;
    if (!handlers) {
      handlers = new Set();
      this.local.set(prefix, handlers);
    }
    handlers.add(handler);
    if (added) this.emit('subs-changed', [prefix], []);
    return () => {
      const set = this.local.get(prefix);
      if (!set?.delete(handler) || set.size > 0) return;
      this.local.delete(prefix);
      this.emit('subs-changed', [], [prefix]);
    };
  }

  localPrefixes(): string[] {
    return [...this.local.keys()];
  }

  setPeerSubs(peer: string, subs: readonly string[]): void {
    this.peerSubs.set(peer, new Set(subs.slice(0, 1024)));
  }

  updatePeerSubs(peer: string, add: readonly string[], remove: readonly string[]): void {
    const subs = this.peerSubs.get(peer) ?? new Set<string>();
    for (const prefix of remove) subs.delete(prefix);
    for (const prefix of add) if (subs.size < 1024) subs.add(prefix);
    this.peerSubs.set(peer, subs);
  }

  setPeerNeighbors(peer: string, neighbors: readonly string[]): void {
    this.peerNeighbors.set(peer, new Set(neighbors));
  }

  removePeer(peer: string): void {
    this.peerSubs.delete(peer);
    this.peerNeighbors.delete(peer);
  }

  peerSubscribed(peer: string, topic: string): boolean {
    const subs = this.peerSubs.get(peer);
    if (!subs) return false;
    for (const prefix of subs) if (topicMatches(prefix, topic)) return true;
    return false;
  }

  localSubscribed(topic: string): boolean {
    for (const prefix of this.local.keys()) if (topicMatches(prefix, topic)) return true;
    return false;
  }

  // ---- sending ----

  /**
   * Sends a new envelope to every subscribed peer (except `exclude`), or hands it to the broadcast
   * tree. Returns how many peers it was queued for directly (0 through the tree). `echo` also
   * delivers it to our own subscribers.
   */
  publish(envelope: Envelope, priority: Priority, options: { echo?: boolean; exclude?: (peer: string) => boolean } = {}): number {
    // Encoded once, on the first peer that wants it (none, when the fast lane reached them all).
    let bytes: Buffer | undefined;
    let sent = 0;
    if (priority === 'chat') delete envelope.prio;
    else envelope.prio = priority;
    if (this.tree && !envelope.fast) {
      this.tree.publish(envelope, priority);
      this.options.counters.add('router.published');
      if (options.echo) this.deliverLocal(envelope);
      return 0;
    }
    for (const peer of this.options.links.upPeers()) {
      if (options.exclude?.(peer) || !this.peerSubscribed(peer, envelope.topic)) continue;
      bytes ??= encodeSessionMessage({ t: 'env', e: envelope });
      if (this.options.links.sendEncoded(peer, bytes, priority)) sent++;
    }
    this.options.counters.add('router.published');
    if (options.echo) this.deliverLocal(envelope);
    return sent;
  }

  /**
   * Sends an addressed envelope towards `envelope.to`: over its session; else through a neighbour
   * that has one; else back along the path its own envelopes came by (heard.ts); else, with no
   * route known, to every neighbour but `from` (each relay passes a copy on once, within the hop
   * limit), which also teaches the target and the relays the way back for the answer. False when
   * it could go nowhere.
   */
  sendAddressed(envelope: Envelope, priority: Priority = 'control', from?: string): boolean {
    const to = envelope.to!;
    if (this.options.links.isUp(to)) return this.options.links.sendEncoded(to, encodeSessionMessage({ t: 'env', e: envelope }), priority);
    if ((envelope.hops ?? 0) <= 1) return false;
    const forwarded = encodeSessionMessage({ t: 'env', e: { ...envelope, hops: (envelope.hops ?? 1) - 1 } });
    const learned = this.heard.nextHop(to, this.options.clock.monotonic());
    const via = this.relayFor(to, from) ?? (learned !== undefined && learned !== from && this.options.links.isUp(learned) ? learned : undefined);
    if (via) {
      this.options.counters.add('router.relayed');
      return this.options.links.sendEncoded(via, forwarded, priority);
    }
    let sent = 0;
    for (const peer of this.options.links.upPeers()) if (peer !== from && this.options.links.sendEncoded(peer, forwarded, priority)) sent++;
    if (sent > 0) this.options.counters.add('router.addressed-flooded');
    return sent > 0;
  }

  /** The smallest up neighbour (not `exclude`) that says it has a session with `to`. */
  private relayFor(to: string, exclude?: string): string | undefined {
    let best: string | undefined;
    for (const peer of this.options.links.upPeers()) {
      if (peer === exclude || !this.peerNeighbors.get(peer)?.has(to)) continue;
      if (best === undefined || peer < best) best = peer;
    }
    return best;
  }

  // ---- receiving ----

  /**
   * Handles an envelope received from peer `from` (or from the fast lane, `fast`). Returns false
   * if it is malformed (the caller closes that session).
   */
  receive(from: string, value: unknown, fast = false): boolean {
    if (!isEnvelope(value)) {
      this.options.counters.add('router.malformed');
      return false;
    }
    const envelope = value;
    if (envelope.origin === this.options.nodeId) {
      this.options.counters.add('router.own');
      return true;
    }
    // A copy that is a duplicate or over budget still shows the path to its origin works.
    const relayed = from !== envelope.origin;
    this.heard.note(envelope.origin, this.options.clock.monotonic(), relayed ? this.travelled(envelope) : undefined, relayed && !fast ? from : undefined);
    if (envelope.to !== undefined) {
      if (envelope.to === this.options.nodeId) {
        if (!this.checkFresh(envelope, fast ? this.fastDedup : this.addressedDedup, envelope.prio)) return true;
        if (!this.withinBudget(envelope)) return true;
        // An addressed event (anti-entropy, genome requests) goes to the local subscribers: it is
        // deduplicated but never dropped as "late", since a reply that overtook it must not void it.
        if (envelope.type === 'event') this.deliverLocal(envelope);
        else this.emit('addressed', envelope, from);
        return true;
      }
      // A flooded copy (no route was known) comes by several paths: pass each on once.
      const relayVerdict = this.relayDedup.accept(envelope.origin, envelope.seq);
      if (relayVerdict === 'duplicate' || relayVerdict === 'late') {
        this.options.counters.add('router.relay-duplicate');
        return true;
      }
      if (!this.sendAddressed(envelope, 'control', from)) this.options.counters.add('router.no-route');
      return true;
    }
    if (!this.checkFresh(envelope, fast ? this.fastDedup : this.reliableDedup, orderClassOf(envelope))) {
      if (this.tree && !fast) this.tree.received(from, envelope, false);
      return true;
    }
    if (!this.withinBudget(envelope)) return true;
    // Pass it on before handling it here: the next hop need not wait for this node to verify and
    // store it (what is forwarded does not depend on that).
    if (!fast) {
      if (this.tree) this.tree.received(from, envelope, true);
      else this.forward(from, envelope);
    }
    this.deliverLocal(envelope);
    return true;
  }

  /** Takes from the origin's budget; an envelope over it is neither delivered nor forwarded. */
  private withinBudget(envelope: Envelope): boolean {
    if (this.inbound.allow(envelope.origin, envelope.topic)) return true;
    this.options.counters.add('router.over-limit');
    for (const drop of this.inbound.takeReport()) {
      this.options.logger.warn(`dropped ${drop.count.toLocaleString('en-US')} envelope${drop.count === 1 ? '' : 's'} on ${drop.prefix} from ${drop.origin.slice(0, 7)}: over its limit of ${drop.perMinute.toLocaleString('en-US')} a minute`);
    }
    return false;
  }

  /** Each order class of an origin has an order of its own (orderClass.ts); `unordered` only de-duplicates. */
  private checkFresh(envelope: Envelope, dedup: Dedup, orderClass: OrderClass): boolean {
    const verdict = dedup.accept(orderKey(envelope.origin, orderClass), envelope.seq, orderClass === 'unordered' ? false : undefined);
    if (verdict === 'new') return true;
    if (verdict === 'reordered') {
      this.options.counters.add('router.reordered');
      return true;
    }
    this.options.counters.add(`router.${verdict}`);
    return false;
  }

  deliverLocal(envelope: Envelope): void {
    let delivered = false;
    for (const [prefix, handlers] of this.local) {
      if (!topicMatches(prefix, envelope.topic)) continue;
      for (const handler of handlers) {
        delivered = true;
        try {
          handler(envelope);
        } catch (error) {
          this.options.counters.add('router.handler-error');
          this.options.logger.error(`subscriber of ${prefix} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    if (delivered) {
      this.options.counters.add('router.delivered');
      this.emit('deliver', envelope);
    }
  }

  private forward(from: string, envelope: Envelope): void {
    const hops = envelope.hops ?? 0;
    if (hops <= 1) return;
    const originNeighbors = this.peerNeighbors.get(envelope.origin);
    const fromNeighbors = this.peerNeighbors.get(from);
    let bytes: Buffer | undefined;
    for (const peer of this.options.links.upPeers()) {
      if (peer === from || peer === envelope.origin || !this.peerSubscribed(peer, envelope.topic)) continue;
      const peerNeighbors = this.peerNeighbors.get(peer);
      // The peer hears the origin directly: nothing to do.
      if (peerNeighbors?.has(envelope.origin) || originNeighbors?.has(peer)) continue;
      if (!peerNeighbors || !fromNeighbors) continue;
      if (!this.designatedForwarder(fromNeighbors, peerNeighbors)) continue;
      bytes ??= encodeSessionMessage({ t: 'env', e: { ...envelope, hops: hops - 1 } });
      if (this.options.links.sendEncoded(peer, bytes, envelope.prio ?? 'chat')) this.options.counters.add('router.forwarded');
    }
  }

  /** True when we are the smallest node id among the common neighbours of `from` and `to`. */
  private designatedForwarder(fromNeighbors: Set<string>, toNeighbors: Set<string>): boolean {
    const self = this.options.nodeId;
    for (const candidate of toNeighbors) {
      if (candidate < self && fromNeighbors.has(candidate)) return false;
    }
    return true;
  }
}
