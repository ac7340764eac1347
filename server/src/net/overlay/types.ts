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

/** A node as the overlay knows it: its id and where a session with it can be opened. */
export interface PeerRef {
  id: string;
  /** `host:port` in the node; any string the host understands in the simulator. */
  addr: string;
}

/** HyParView messages, sent over an open session (`t` values are short: they travel often). */
export type MembershipMessage =
  /** A new node asks its contact to let it in. */
  | { t: 'hv.join'; peer: PeerRef }
  /** A random walk that adds `peer` to an active view when `ttl` reaches 0 (ARWL) and to passive views at PRWL. */
  | { t: 'hv.fjoin'; peer: PeerRef; ttl: number }
  /** Asks the receiver to keep the sender in its active view; `high` when the sender has no active peer at all. */
  | { t: 'hv.nbr'; peer: PeerRef; high: boolean }
  /** The answer: accepted, or refused because the receiver is full, with other peers to try. */
  | { t: 'hv.nbr.re'; ok: boolean; try: PeerRef[] }
  /** The sender drops the receiver from its active view (`alive`: keep it as a passive candidate). */
  | { t: 'hv.disc'; alive: boolean }
  /** A shuffle walking the overlay to refresh passive views. */
  | { t: 'hv.shuf'; origin: PeerRef; peers: PeerRef[]; ttl: number }
  /** The shuffle's answer, sent to its origin (which may not be a neighbour). */
  | { t: 'hv.shuf.re'; peers: PeerRef[] };

/** Plumtree control messages (the eager payload itself travels as the host's own message). */
export type BroadcastControl =
  /** Lazy push: message ids this node delivered, per root (origin). */
  | { t: 'pt.ihave'; ids: Array<[root: string, id: string]> }
  /** Asks the receiver to send these messages of `root` and to push that root's traffic eagerly again. */
  | { t: 'pt.graft'; root: string; ids: string[] }
  /** Asks the receiver to stop pushing `root`'s messages eagerly to the sender (lazy instead). */
  | { t: 'pt.prune'; root: string };

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

/** What Plumtree needs from its host. */
export interface BroadcastLinks<T> {
  /** Eager push of a message to `peerId` (the host adds hop counts, encoding). */
  push(peerId: string, item: T): void;
  /** Sends a control message to `peerId`. */
  control(peerId: string, message: BroadcastControl): void;
}
