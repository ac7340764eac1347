/**
 * What a node knows of its own cluster in the real mesh: the members it hears (their beacons,
 * which with TTL 1 reach exactly its subnet, and its own sessions) and the bridges elected over
 * them (clusters.ts). A member not heard for `memberTimeoutMs` no longer counts. No timer: the
 * check runs whenever something is heard or lost, and beacons keep arriving (every 30 s at the
 * slowest), so a member that crashed is dropped at most one beacon period after its timeout.
 */
import type { Clock } from '../../kernel/clock';
import { BoundedMap } from '../boundedMap';
import { clusterOfRef, lowestWeights, rendezvousWeight } from './clusters';
import type { PeerRef } from './types';

export interface ClusterViewOptions {
  self: PeerRef;
  clock: Clock;
  /** Bridges per cluster (default 2). */
  bridges?: number;
  /** A member not heard for this long is gone (default 75 s: beacons slow to one per 30 s, two may be lost). */
  memberTimeoutMs?: number;
}

/** Clusters remembered for peers of other clusters (a bound: peers come and go). */
const maxKnownPeers = 4096;

export class ClusterView {
  readonly cluster: string;
  private readonly self: PeerRef;
  private readonly clock: Clock;
  private readonly bridgeCount: number | undefined;
  private readonly memberTimeoutMs: number;
  /** Members of this cluster other than self: their ref, rendezvous weight and when they were last heard. */
  private readonly members = new Map<string, { ref: PeerRef; weight: string; heardAt: number }>();
  private readonly selfWeight: string;
  private readonly known = new BoundedMap<string, string>(maxKnownPeers);
  private elected: string[];

  constructor(options: ClusterViewOptions) {
    this.self = options.self;
    this.clock = options.clock;
    this.cluster = clusterOfRef(options.self);
    this.bridgeCount = options.bridges;
    this.selfWeight = rendezvousWeight(this.cluster, options.self.id);
    this.memberTimeoutMs = options.memberTimeoutMs ?? 75_000;
    this.elected = [options.self.id];
  }

  /** `peer` is alive (a beacon, a session). True when this changed the bridges. */
  heard(peer: PeerRef): boolean {
    const cluster = clusterOfRef(peer);
    this.known.set(peer.id, cluster);
    if (cluster === this.cluster && peer.id !== this.self.id) {
      // A beacon every few seconds from every member: its weight is hashed once.
      const weight = this.members.get(peer.id)?.weight ?? rendezvousWeight(this.cluster, peer.id);
      this.members.set(peer.id, { ref: peer, weight, heardAt: this.clock.monotonic() });
    }
    return this.reelect();
  }

  /** `peerId` said goodbye. True when this changed the bridges. */
  gone(peerId: string): boolean {
    this.members.delete(peerId);
    return this.reelect();
  }

  /** Drops members not heard for too long. True when this changed the bridges. */
  expire(): boolean {
    return this.reelect();
  }

  /** Members heard, this node included. */
  size(): number {
    return this.members.size + 1;
  }

  /** The cluster a peer was last heard in, if it was. */
  clusterOf(peerId: string): string | undefined {
    return peerId === this.self.id ? this.cluster : this.known.get(peerId);
  }

  /** This node, or a member of its cluster, is a bridge; undefined for a node of another cluster (this node cannot know). */
  isBridge(peerId = this.self.id): boolean | undefined {
    if (peerId !== this.self.id && !this.members.has(peerId)) return this.clusterOf(peerId) === this.cluster ? false : undefined;
    return this.elected.includes(peerId);
  }

  /** The bridges' ids, this node included when it is one. */
  bridgeIds(): string[] {
    return [...this.elected];
  }

  /** The bridges other than this node, as refs to dial. */
  otherBridges(): PeerRef[] {
    return this.elected.flatMap((id) => {
      const member = this.members.get(id);
      return member ? [member.ref] : [];
    });
  }

  private reelect(): boolean {
    const now = this.clock.monotonic();
    for (const [id, member] of this.members) if (now - member.heardAt > this.memberTimeoutMs) this.members.delete(id);
    const weighted = [{ id: this.self.id, weight: this.selfWeight }, ...[...this.members].map(([id, member]) => ({ id, weight: member.weight }))];
    const next = lowestWeights(weighted, this.bridgeCount);
    const changed = next.length !== this.elected.length || next.some((id, i) => id !== this.elected[i]);
    this.elected = next;
    return changed;
  }
}
