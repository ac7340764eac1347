/**
 * Clusters in the simulator: nodes placed in clusters (subnets behind routers: see the network's
 * interGroupLatencyMs), each cluster's live membership as its discovery beacons would show it,
 * the bridge election over that membership (clusters.ts), and the measures of the two-level shape.
 *
 * Like multicast beacons with TTL 1, a new node hears of members of its own cluster only; it
 * also knows one node of another cluster (a configured peer). A crashed member leaves its
 * cluster's membership `leaveDetectMs` later (its beacons stop), which is when the next bridge
 * takes over.
 */
import { defaultBridges, electBridges } from './clusters';
import type { EventQueue, SeededRandom } from './simClock';
import type { ClusterPolicy, PeerRef } from './types';

export interface ClusterScenario {
  /** Clusters; node i belongs to cluster i % count. */
  count: number;
  /** Bridges per cluster (default 2). */
  bridges?: number;
  /** false: nodes are placed in clusters (latency, discovery) but HyParView runs without a policy: the baseline. */
  policy: boolean;
  /** A crashed member leaves its cluster's membership this much later (missed beacons), ms. */
  leaveDetectMs: number;
  /** Members of its own cluster a new node is handed as candidates (plus one node of another cluster). */
  candidates: number;
}

/** What the clusters need of a simulated node. */
export interface ClusterMember {
  readonly id: string;
  readonly ref: PeerRef;
  readonly alive: boolean;
  readonly group?: number;
  readonly membership: { clusterChanged(): void; activePeers(): string[]; isActive(peerId: string): boolean };
}

export interface ClusterShape {
  /** Symmetric active links between live nodes of different clusters. */
  interLinks: number;
  /** The most inter-cluster link ends held by one cluster's nodes. */
  maxInterLinksPerCluster: number;
  /** Inter-cluster link ends held by nodes that are not (now) bridges. */
  nonBridgeEnds: number;
  /** Per cluster, how many of its bridges hold at least one inter-cluster link. */
  linkedBridges: number[];
}

export class SimClusters {
  private readonly members: Array<Map<string, ClusterMember>>;
  private readonly elected: string[][];
  /** Every node ever placed, by id (for the cluster of a peer named in an active view). */
  private readonly byId = new Map<string, ClusterMember>();
  private readonly bridgeCount: number;

  constructor(
    readonly options: ClusterScenario,
    private readonly queue: EventQueue,
    private readonly random: SeededRandom,
  ) {
    this.bridgeCount = options.bridges ?? defaultBridges;
    this.members = Array.from({ length: options.count }, () => new Map<string, ClusterMember>());
    this.elected = Array.from({ length: options.count }, () => []);
  }

  groupOf(index: number): number {
    return index % this.options.count;
  }

  label(group: number): string {
    return `c${group}`;
  }

  /** The policy HyParView gets, or undefined for the baseline. */
  policyFor(id: string, group: number): ClusterPolicy | undefined {
    if (!this.options.policy) return undefined;
    return {
      clusterOf: (peer) => peer.cluster ?? '',
      isBridge: () => this.elected[group]!.includes(id),
      bridges: () => this.elected[group]!.filter((bridge) => bridge !== id).map((bridge) => this.byId.get(bridge)!.ref),
    };
  }

  /** The current bridges of a cluster. */
  bridgesOf(group: number): string[] {
    return [...this.elected[group]!];
  }

  /** A new node: it joins its cluster's membership; returns the candidates its discovery hands it. */
  join(member: ClusterMember): PeerRef[] {
    const group = member.group!;
    const local = [...this.members[group]!.values()];
    const others = this.members.flatMap((members, g) => (g === group ? [] : [...members.values()]));
    this.byId.set(member.id, member);
    this.members[group]!.set(member.id, member);
    this.reelect(group);
    const candidates = this.sample(local, this.options.candidates).map((peer) => peer.ref);
    if (others.length > 0) candidates.push(others[this.random.below(others.length)]!.ref);
    return candidates;
  }

  /** A crashed node: its cluster notices when its beacons are missed. */
  leave(member: ClusterMember): void {
    const group = member.group!;
    this.queue.schedule(this.options.leaveDetectMs, () => {
      if (this.members[group]!.delete(member.id)) this.reelect(group);
    });
  }

  shape(): ClusterShape {
    let interLinks = 0;
    let nonBridgeEnds = 0;
    const perCluster = new Array<number>(this.options.count).fill(0);
    const linkedBridges = new Array<number>(this.options.count).fill(0);
    this.members.forEach((members, group) => {
      for (const member of members.values()) {
        if (!member.alive) continue;
        let ends = 0;
        for (const peerId of member.membership.activePeers()) {
          const peer = this.byId.get(peerId);
          if (!peer?.alive || peer.group === group || !peer.membership.isActive(member.id)) continue;
          ends++;
          // Each link once: from its end with the smaller id.
          if (member.id < peer.id) interLinks++;
        }
        perCluster[group]! += ends;
        if (this.elected[group]!.includes(member.id)) linkedBridges[group]! += ends > 0 ? 1 : 0;
        else nonBridgeEnds += ends;
      }
    });
    return { interLinks, maxInterLinksPerCluster: Math.max(0, ...perCluster), nonBridgeEnds, linkedBridges };
  }

  /** Tells the nodes whose bridge role changed (the others read the election when they need it). */
  private reelect(group: number): void {
    const members = this.members[group]!;
    const before = this.elected[group]!;
    const after = electBridges(this.label(group), members.keys(), this.bridgeCount);
    this.elected[group] = after;
    for (const id of new Set([...before, ...after])) {
      if (before.includes(id) && after.includes(id)) continue;
      const member = members.get(id);
      if (member?.alive) member.membership.clusterChanged();
    }
  }

  private sample<T>(items: T[], count: number): T[] {
    const pool = [...items];
    const picked: T[] = [];
    while (picked.length < count && pool.length > 0) {
      const index = this.random.below(pool.length);
      picked.push(pool[index]!);
      pool[index] = pool[pool.length - 1]!;
      pool.pop();
    }
    return picked;
  }
}
