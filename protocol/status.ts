/** What the node reports about itself: shown by Show Status, the status bar and the chat panel. */
export type NodeState = 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped';

export interface NodeProblem {
  /** Stable code, e.g. `mesh-key-missing`, `database-corrupt`. */
  code: string;
  /** One line naming the problem and what to do about it. */
  message: string;
}

/**
 * The problem of a node refused by the mesh because another node runs on the same identity (its
 * data folder is a copy of that node's) and started earlier. The extension offers a new identity.
 */
export const duplicateIdentityProblem = 'identity-duplicate';

/** Prefix of the problem of a peer whose clock is more than 30 s off this machine's (`clock-skew:<nodeId>`). */
export const clockSkewProblem = 'clock-skew';

export interface NodeStatus {
  state: NodeState;
  /** Base32 of SHA-256 of the Ed25519 public key (52 characters). */
  nodeId: string;
  /** The same id grouped for humans, e.g. `ABCDEFG-HIJKLMN-...`. */
  nodeIdDisplay: string;
  name: string;
  version: string;
  dataDir: string;
  meshKeySet: boolean;
  peers: number;
  /** The bounded-degree overlay, once the network is up (absent when the node is not on a mesh). */
  overlay?: OverlaySummary;
  /** TCP address the node accepts sessions on, once networking is up. */
  listen?: string;
  startedAt: number;
  /** Process id of the server, so the client can tell a restart happened. */
  pid: number;
  problems: NodeProblem[];
}

/**
 * This node's place in the overlay: it keeps between `activeTarget` and `activeMax` sessions
 * (HyParView's active view) and reaches every other node through them.
 */
export interface OverlaySummary {
  /** Peers in the active view (the sessions the overlay keeps). */
  sessions: number;
  /** Known nodes it could open a session with when one is lost (the passive view). */
  candidates: number;
  activeTarget: number;
  activeMax: number;
  /** `hub`: started to take hundreds of sessions (`--role hub`). */
  role: NodeRole;
  /** Its cluster (`10.1.2.0/24`: its subnet, or the configured label) when clusters are on. */
  cluster?: string;
  /** Elected to hold its cluster's links to other clusters. */
  bridge?: boolean;
}

export type NodeRole = 'node' | 'hub';

/** How this node joins the mesh: from VS Code settings or CLI flags. */
export interface NetworkSettings {
  /** `host:port` for TCP sessions; port 0 picks any free port. */
  listen: string;
  /** Multicast discovery; `false` uses static peers and peer exchange only. */
  discovery:
    | false
    | {
        group: string;
        port: number;
        /** IPv4 address of the interface to use; empty picks the first non-internal one. */
        interface: string;
        intervalMs: number;
        /** Also beacon by UDP broadcast (networks that drop multicast). */
        broadcast: boolean;
      };
  /** `host:port` of nodes to dial directly. */
  staticPeers: string[];
  /** If not empty, only these node ids may hold sessions with this node. */
  trustedNodes: string[];
  /** This node's cluster label (net/overlay/clusters.ts); empty or absent: its subnet (/24). */
  cluster?: string;
}

export type PeerState = 'discovered' | 'connecting' | 'up' | 'down';

/**
 * How this node reaches a peer: `direct` over a session of its own; `via` other nodes (its
 * envelopes came through relays, or by multicast, within the last two minutes: the overlay
 * reaches it without a session); `unreachable` when it has not been heard from lately.
 */
export type PeerRoute = 'direct' | 'via' | 'unreachable';

export interface PeerSummary {
  nodeId: string;
  nodeIdDisplay: string;
  /** Empty when this node has only heard of it through relays (no beacon, session or announcement named it). */
  name: string;
  state: PeerState;
  route: PeerRoute;
  /** For `via`: hops its last relayed envelope travelled (2: one node between us), when known. */
  hops?: number;
  /** The cluster it belongs to (nodes close to each other: one subnet, low RTT), once clusters are formed. */
  cluster?: string;
  /** It holds its cluster's links to other clusters. */
  bridge?: boolean;
  /** It runs as a hub (takes hundreds of sessions). */
  hub?: boolean;
  addr?: string;
  rttMs?: number;
  /** Its clock minus this machine's, in ms (from the session's heartbeats). */
  clockOffsetMs?: number;
  lastSeen: number;
  downReason?: string;
}
