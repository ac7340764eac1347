/**
 * The overlay's vocabulary, shared by its two protocols and by their two hosts (the node's mesh
 * network and the in-process simulator). The protocols never touch a socket: a host gives them
 * links, an injected clock and injected randomness, so the same code runs in a real node and in
 * a deterministic simulation of 10,000 nodes.
 *
 * - Membership: HyParView (Leitão, Pereira, Rodrigues, "HyParView: a membership protocol for
 *   reliable gossip-based broadcast", DSN 2007): a small symmetric active view (the sessions this
 *   node keeps) and a larger passive view (candidates to replace a lost active peer).
 * - Broadcast: Plumtree (Leitão, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007):
 *   eager push along a spanning tree, lazy IHAVE announcements on the other links, GRAFT to repair.
 */

import type { BroadcastControl, MembershipMessage, PeerRef } from '../../../../protocol/overlay';

export type { BroadcastControl, MembershipMessage, PeerRef };

/** What HyParView needs from its host. */
export interface MembershipLinks {
  /**
   * Opens a session with `peer` (asynchronously). The host later calls `sessionUp(peer.id)` or
   * `connectFailed(peer.id)` on the membership.
   */
  connect(peer: PeerRef): void;
  /** Closes the session with `peerId` (no further callback for it). */
  disconnect(peerId: string): void;
  /** Sends over the open session with `peerId`; false when there is none. */
  send(peerId: string, message: MembershipMessage): boolean;
  /** Sends to a node that may not be a neighbour (routed by the host); false when it cannot. */
  sendTo(peer: PeerRef, message: MembershipMessage): boolean;
}

/**
 * What HyParView needs to know about clusters (clusters.ts). The host knows its cluster's live
 * members (the discovery beacons of its subnet) and elects the bridges; when either changes it
 * calls `HyParView.clusterChanged()`.
 */
export interface ClusterPolicy {
  /** The cluster of a node, from its ref (its label, else its address). */
  clusterOf(peer: PeerRef): string;
  /** This node is one of its cluster's bridges now. */
  isBridge(): boolean;
  /** Its cluster's bridges other than this node: where an inter-cluster request is pointed. */
  bridges(): PeerRef[];
}

/** What Plumtree needs from its host. */
export interface BroadcastLinks<T> {
  /** Eager push of a message to `peerId` (the host adds hop counts, encoding). */
  push(peerId: string, item: T): void;
  /** Sends a control message to `peerId`. */
  control(peerId: string, message: BroadcastControl): void;
}
