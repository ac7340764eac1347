/**
 * Node ↔ node overlay messages (see net/overlay/): HyParView membership (Leitão, Pereira,
 * Rodrigues, DSN 2007) and Plumtree broadcast control (SRDS 2007). They travel inside a session as
 * `{t: 'ov', m}` (protocol/mesh.ts); Plumtree's eager payload is the ordinary `env` message.
 */

/** A node as the overlay knows it: its id and where a session with it can be opened. */
export interface PeerRef {
  id: string;
  /** `host:port` in the node; any string the host understands in the simulator. */
  addr: string;
  /**
   * The node's cluster when it was configured explicitly (`--cluster`); absent, the cluster is
   * derived from `addr` (its /24, net/overlay/clusters.ts), so nodes without a label send nothing more.
   */
  cluster?: string;
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
  /**
   * Lazy push: message ids this node delivered, per root (origin), each with the hops it travelled
   * to reach this node (0 for its own messages; an integer, at most 255). A receiver that got the
   * message over a much longer path grafts the sender (Plumtree's section 3.8).
   */
  | { t: 'pt.ihave'; ids: Array<[root: string, id: string, hops: number]> }
  /**
   * Asks the receiver to send these messages of `root` and to push that root's traffic eagerly
   * again. With no ids, only the latter: the sender found a shorter path to `root` through the
   * receiver (and pruned its former eager peer for that root).
   */
  | { t: 'pt.graft'; root: string; ids: string[] }
  /** Asks the receiver to stop pushing `root`'s messages eagerly to the sender (lazy instead). */
  | { t: 'pt.prune'; root: string };

/** Cluster interest (net/overlay/interest.ts): which rooms have members where. */
export type ClusterMessage =
  /**
   * Members' rooms (ids of rooms with a subscriber on that node), flooded within their cluster
   * when they change and sent whole when a session opens; `v` rises with every change of a member.
   */
  | { t: 'cl.rooms'; recs: Array<[id: string, v: number, rooms: string[]]> }
  /**
   * A cluster's summary by one of its bridges (`by`), flooded to every cluster when it changes:
   * its member count, bridges, rooms with members, and the clusters it has links to.
   */
  | { t: 'cl.sum'; c: string; by: string; v: number; n: number; b: string[]; r: string[]; l: string[] };

export type OverlayMessage = MembershipMessage | BroadcastControl | ClusterMessage;
