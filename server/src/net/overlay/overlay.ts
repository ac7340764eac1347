/**
 * The overlay in a node: HyParView (hyparview.ts) chooses the few sessions this node keeps, and
 * Plumtree (plumtree.ts) spreads broadcast events over them, so a mesh of a hundred nodes costs
 * each node a handful of sessions instead of N−1. This file is the glue between the two protocols
 * and the node's session manager and router: the protocols themselves never touch a socket (the
 * simulator runs them unchanged).
 *
 * - Candidates come from multicast beacons and peer exchange; a candidate heard again after a
 *   silence (a healed partition, a woken laptop) starts afresh, without its old backoff.
 * - A static peer (`--peer`) is the contact of a HyParView join once its session is up.
 * - Membership messages and Plumtree's control travel as `{t: 'ov', m}`; the eager payload is the
 *   ordinary `env` message, so a two-node mesh sends exactly what it sent before.
 * - Clusters (clusters.ts): the members of this node's cluster are the nodes whose beacons it
 *   hears with the same cluster key (multicast with TTL 1 stays in the subnet); the bridges elected
 *   over them hold the inter-cluster links (hyparview.ts). Only with a cluster key that means
 *   something: an explicit label, or a concrete IPv4 address (not 0.0.0.0, which a node without
 *   discovery may advertise); otherwise membership runs without clusters, as before.
 * - Interest (interest.ts): a room's events, pushed or announced lazily, cross to a peer of another
 *   cluster only when a cluster behind it has members of the room. Plumtree does not know: the
 *   links it is given here skip the push, or the announced ids, the far side has no use for.
 */
import type { Clock, Random } from '../../kernel/clock';
import type { Logger } from '../../kernel/log';
import type { Envelope, Priority, SessionMessage } from '../../../../protocol/mesh';
import type { OverlayMessage, PeerRef } from '../../../../protocol/overlay';
import { BoundedMap } from '../boundedMap';
import type { Counters } from '../counters';
import { Router, type BroadcastTree } from '../router';
import { clusterKey, clusterOfRef } from './clusters';
import { ClusterView } from './clusterView';
import { HyParView, type HyParViewStats } from './hyparview';
import { ClusterInterest, roomsOfPrefixes, type InterestStats } from './interest';
import { Plumtree, type PlumtreeStats } from './plumtree';

/** What the overlay needs of the session manager. */
export interface OverlaySessions {
  connect(nodeId: string, addr: string): 'up' | 'dialing';
  disconnect(nodeId: string, reason: string): void;
  send(nodeId: string, message: SessionMessage, priority: Priority): boolean;
  isUp(nodeId: string): boolean;
}

export interface OverlayOptions {
  nodeId: string;
  clock: Clock;
  random: Random;
  logger: Logger;
  counters: Counters;
  sessions: OverlaySessions;
  router: Router;
  /** Sessions kept at least (default 6) and accepted at most (default 12; a hub takes hundreds). */
  activeTarget?: number;
  activeMax?: number;
  /** An explicit cluster label (`--cluster`); without one, the /24 of the advertised address. */
  cluster?: string;
}

/** How a candidate was found. */
export interface CandidateSource {
  /** Heard again after a silence: its old failures no longer count, and it is probed next even at target. */
  fresh?: boolean;
  /** Its own beacon (not hearsay from peer exchange): it is alive, and counts in its cluster's membership. */
  beacon?: boolean;
}

interface Item {
  envelope: Envelope;
  /** The envelope encoded for the next hop, made on the first push and reused. */
  bytes?: Buffer;
}

export interface OverlayStats {
  active: number;
  passive: number;
  membership: HyParViewStats;
  broadcast: PlumtreeStats;
  /** This node's cluster and its bridges (undefined: clusters off, see the file's comment). */
  cluster?: { name: string; bridge: boolean; members: number; interest: InterestStats };
}

const addressPattern = /^[0-9a-fA-F.:[\]]+:\d{1,5}$/;
/** Topics of recent broadcasts by (root, id), to judge the ids of a lazy announcement. */
const maxTopics = 4096;

export class Overlay implements BroadcastTree {
  private membership: HyParView | undefined;
  private clusters: ClusterView | undefined;
  private interest: ClusterInterest | undefined;
  private readonly topics = new BoundedMap<string, string>(maxTopics);
  /**
   * This node holds an active link to another cluster: only then does it filter by interest or
   * remember topics for lazy announcements (a node of one cluster pays nothing per event).
   */
  private crossing = false;
  private readonly onSubsChanged = (): void => this.interest?.setRooms(roomsOfPrefixes(this.options.router.localPrefixes()));
  private readonly tree: Plumtree<Item>;
  private readonly pendingCandidates: Array<{ peer: PeerRef; source: CandidateSource }> = [];

  constructor(private readonly options: OverlayOptions) {
    this.tree = new Plumtree<Item>({
      self: options.nodeId,
      clock: options.clock,
      random: options.random,
      alignFlushes: true,
      logger: options.logger.child('plumtree'),
      has: (root, id) => options.router.seenBroadcast(root, id),
      links: {
        push: (peer, item) => {
          if (this.crossing && this.interest?.wants(peer, item.envelope.topic) === false) {
            options.counters.add('overlay.interest.skipped');
            return;
          }
          item.bytes = options.router.push(peer, item.envelope, item.bytes);
        },
        control: (peer, message) => {
          const wanted = message.t === 'pt.ihave' && this.crossing ? { ...message, ids: message.ids.filter(([root, id]) => this.announces(peer, root, id)) } : message;
          if (wanted.t === 'pt.ihave' && wanted.ids.length === 0) return;
          options.sessions.send(peer, { t: 'ov', m: wanted }, 'control');
        },
      },
    });
  }

  /** Starts membership once the node knows the address it accepts sessions on. */
  start(listenAddress: string): void {
    const { options } = this;
    const self: PeerRef = options.cluster === undefined ? { id: options.nodeId, addr: listenAddress } : { id: options.nodeId, addr: listenAddress, cluster: options.cluster };
    const clusters = meaningfulCluster(self) ? new ClusterView({ self, clock: options.clock }) : undefined;
    this.clusters = clusters;
    const membership = new HyParView({
      self,
      cluster: clusters && {
        clusterOf: clusterOfRef,
        isBridge: () => clusters.isBridge() === true,
        bridges: () => clusters.otherBridges(),
      },
      clock: options.clock,
      random: options.random,
      logger: options.logger.child('hyparview'),
      activeTarget: options.activeTarget,
      activeMax: options.activeMax,
      // On a LAN the beacons say when a lost peer is back (the `reappeared` hint). Probing every
      // lost candidate on its backoff cost a handshake a probe and, with a hundred nodes short of
      // CPU while joining, kept sessions churning (538 changes in a quiet minute).
      probeFailures: 0,
      links: {
        connect: (peer) => this.connect(peer),
        disconnect: (peerId) => options.sessions.disconnect(peerId, 'overlay'),
        send: (peerId, message) => options.sessions.send(peerId, { t: 'ov', m: message }, 'control'),
        // Shuffle answers go to the shuffle's origin only when a session with it is open: passive
        // views are refreshed by beacons on a LAN anyway.
        sendTo: (peer, message) => options.sessions.isUp(peer.id) && options.sessions.send(peer.id, { t: 'ov', m: message }, 'control'),
      },
    });
    // Interest travels over the active view only: sessions being agreed on may be refused.
    membership.on('up', (peer) => {
      options.counters.add('overlay.active.up');
      this.updateCrossing();
      this.interest?.peerUp(peer);
    });
    membership.on('down', () => {
      options.counters.add('overlay.active.down');
      this.updateCrossing();
      this.interest?.peerDown();
    });
    this.membership = membership;
    if (clusters) {
      this.interest = new ClusterInterest({
        self: options.nodeId,
        cluster: clusters.cluster,
        clock: options.clock,
        peers: () => membership.activePeers(),
        linkedClusters: () => membership.activePeers().flatMap((peer) => this.clusterOf(peer) ?? []),
        clusterOf: (peer) => this.clusterOf(peer),
        send: (peer, message) => void options.sessions.send(peer, { t: 'ov', m: message }, 'control'),
        isBridge: () => clusters.isBridge() === true,
        bridges: () => clusters.bridgeIds(),
        members: () => clusters.size(),
      });
      options.router.on('subs-changed', this.onSubsChanged);
      this.onSubsChanged();
    }
    membership.start();
    for (const { peer, source } of this.pendingCandidates.splice(0)) this.candidate(peer, source);
  }

  stop(): void {
    this.options.router.off('subs-changed', this.onSubsChanged);
    this.membership?.stop();
    this.tree.stop();
  }

  /** A peer we could keep a session with. */
  candidate(peer: PeerRef, source: CandidateSource = {}): void {
    if (!addressPattern.test(peer.addr)) return;
    const membership = this.membership;
    if (!membership) {
      this.pendingCandidates.push({ peer, source });
      return;
    }
    if (source.beacon === true && this.clusters?.heard(peer)) this.bridgesChanged();
    membership.addCandidate(this.withLabel(peer), { reappeared: source.fresh === true });
  }

  /**
   * Peer exchange passes on addresses only: a peer whose beacon carried an explicit label keeps it,
   * or it would be taken for a member of its address's /24.
   */
  private withLabel(peer: PeerRef): PeerRef {
    if (peer.cluster !== undefined) return peer;
    const known = this.clusters?.clusterOf(peer.id);
    return known !== undefined && known !== clusterKey(peer.addr) ? { ...peer, cluster: known } : peer;
  }

  /** The peer said goodbye. */
  forget(peerId: string): void {
    this.membership?.forget(peerId);
    this.interest?.forgetMember(peerId);
    if (this.clusters?.gone(peerId)) this.bridgesChanged();
  }

  /** This node's cluster (undefined while clusters are off). */
  cluster(): string | undefined {
    return this.clusters?.cluster;
  }

  /**
   * The cluster of a peer: as its beacons said, else as the membership knows it (a node of another
   * subnet is never heard by beacons); undefined when unknown or clusters are off.
   */
  clusterOf(peerId: string): string | undefined {
    const clusters = this.clusters;
    if (!clusters) return undefined;
    const heard = clusters.clusterOf(peerId);
    if (heard !== undefined) return heard;
    const ref = this.membership?.peerRef(peerId);
    return ref && clusterOfRef(ref);
  }

  /**
   * Whether this node (no argument) or a member of its cluster is one of the cluster's bridges;
   * undefined for another cluster's node (only its own cluster knows) or while clusters are off.
   */
  isBridge(peerId?: string): boolean | undefined {
    return this.clusters?.isBridge(peerId);
  }

  /**
   * Every open session carries broadcasts, also one the membership has not accepted (yet): an
   * event published while a session is still being agreed on is not lost, and one that is refused
   * is closed within seconds anyway.
   */
  sessionUp(peerId: string, outbound: boolean, staticAddress?: string): void {
    this.tree.neighborUp(peerId);
    const membership = this.membership;
    if (!membership) return;
    membership.sessionUp(peerId, outbound);
    if (staticAddress !== undefined && !membership.isActive(peerId)) membership.join({ id: peerId, addr: staticAddress });
  }

  sessionDown(peerId: string): void {
    this.tree.neighborDown(peerId);
    this.membership?.sessionDown(peerId);
    // A lost session may be a bridge that crashed: members not heard for long are dropped now.
    if (this.clusters?.expire()) this.bridgesChanged();
  }

  dialFailed(peerId: string): void {
    this.membership?.connectFailed(peerId);
  }

  /** An `ov` message from a peer; false when it is malformed (the caller closes that session). */
  receive(from: string, message: OverlayMessage): boolean {
    const kind = typeof message.t === 'string' ? message.t : '';
    if (kind.startsWith('hv.')) return this.membership?.receive(from, message) ?? true;
    if (kind.startsWith('pt.')) return this.tree.receiveControl(from, message);
    if (kind.startsWith('cl.')) return this.interest?.receive(from, message) ?? true;
    return false;
  }

  stats(): OverlayStats | undefined {
    const membership = this.membership;
    if (!membership) return undefined;
    const clusters = this.clusters;
    const cluster = clusters && this.interest && { name: clusters.cluster, bridge: clusters.isBridge() === true, members: clusters.size(), interest: this.interest.stats() };
    return { active: membership.activePeers().length, passive: membership.passivePeers().length, membership: membership.stats(), broadcast: this.tree.stats(), ...(cluster ? { cluster } : {}) };
  }

  // ---- BroadcastTree (the router's side)

  publish(envelope: Envelope): void {
    const id = Router.broadcastId(envelope);
    if (this.crossing) this.topics.set(`${envelope.origin} ${id}`, envelope.topic);
    this.tree.broadcast(id, { envelope });
  }

  received(from: string, envelope: Envelope, isNew: boolean): void {
    const id = Router.broadcastId(envelope);
    if (this.crossing && isNew) this.topics.set(`${envelope.origin} ${id}`, envelope.topic);
    this.tree.receive(from, envelope.origin, id, { envelope }, isNew, this.options.router.travelled(envelope));
  }

  private updateCrossing(): void {
    const own = this.clusters?.cluster;
    this.crossing = own !== undefined && this.membership!.activePeers().some((peer) => (this.clusterOf(peer) ?? own) !== own);
  }

  /** The bridges may have changed: the membership and the interest summaries follow. */
  private bridgesChanged(): void {
    this.membership?.clusterChanged();
    this.interest?.clusterChanged();
  }

  /** Whether to announce broadcast (root, id) to `peer` lazily: as for a push; an id whose topic is forgotten is announced. */
  private announces(peer: string, root: string, id: string): boolean {
    const topic = this.topics.get(`${root} ${id}`);
    return topic === undefined || this.interest?.wants(peer, topic) !== false;
  }

  private connect(peer: PeerRef): void {
    if (!addressPattern.test(peer.addr)) {
      this.options.clock.setTimeout(() => this.membership?.connectFailed(peer.id), 0);
      return;
    }
    // Already up (a session the peer opened, or a static one): the membership hears of it at once.
    if (this.options.sessions.connect(peer.id, peer.addr) === 'up') this.options.clock.setTimeout(() => this.membership?.sessionUp(peer.id, true), 0);
  }
}

/** An explicit label, or a concrete IPv4 address: not the unspecified one, not a name or IPv6 (no /24 to speak of). */
function meaningfulCluster(self: PeerRef): boolean {
  if (self.cluster !== undefined) return true;
  const host = self.addr.slice(0, self.addr.lastIndexOf(':'));
  return /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '0.0.0.0';
}
