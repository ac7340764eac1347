/**
 * What a node says about itself and its peers (Show Status, the Peers view, `persona-mesh node`'s
 * status and peers ops), read from the network: pure functions, so the root only gathers its state.
 */
import type { MeshNetwork } from '../net/meshNetwork';
import type { NodeRole, OverlaySummary, PeerSummary } from '../../../protocol/status';
import { displayNodeId } from '../kernel/identity';

/** The overlay part of the status; undefined without an overlay (a node not on the mesh yet). */
export function overlaySummary(network: MeshNetwork | undefined, role: NodeRole): OverlaySummary | undefined {
  const stats = network?.overlayStats();
  if (!network || !stats) return undefined;
  const { activeTarget, activeMax } = stats.membership;
  const cluster = network.clusterOf();
  const bridge = network.isBridge();
  return {
    sessions: stats.active,
    candidates: stats.passive,
    activeTarget,
    activeMax,
    role,
    ...(cluster !== undefined ? { cluster } : {}),
    ...(bridge !== undefined ? { bridge } : {}),
  };
}

/**
 * Every peer the network knows, direct or through relays. `humanNames` names a node heard only
 * through relays (the network's table has no name for it; the rooms it joined do).
 */
export function peerSummaries(network: MeshNetwork | undefined, humanNames: () => ReadonlyMap<string, string> | undefined): PeerSummary[] {
  const peers = network?.peers() ?? [];
  if (!network) return [];
  const names = peers.some((peer) => !peer.name) ? humanNames() : undefined;
  return peers.map((peer) => {
    const cluster = network.clusterOf(peer.nodeId);
    const bridge = network.isBridge(peer.nodeId);
    return {
      nodeId: peer.nodeId,
      nodeIdDisplay: displayNodeId(peer.nodeId),
      name: peer.name || names?.get(peer.nodeId) || '',
      state: peer.state,
      route: peer.route,
      ...(peer.hops !== undefined ? { hops: peer.hops } : {}),
      ...(cluster !== undefined ? { cluster } : {}),
      ...(bridge !== undefined ? { bridge } : {}),
      ...(peer.addr ? { addr: peer.addr } : {}),
      ...(peer.rttMs ? { rttMs: Math.round(peer.rttMs.ewma * 100) / 100 } : {}),
      ...(peer.clockOffsetMs !== undefined ? { clockOffsetMs: peer.clockOffsetMs } : {}),
      lastSeen: peer.lastSeen,
      ...(peer.downReason ? { downReason: peer.downReason } : {}),
    };
  });
}
