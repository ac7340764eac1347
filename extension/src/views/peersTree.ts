/**
 * What the Peers view shows, without VS Code (peersView.ts renders it): this node first (like
 * Syncthing's "This Device"), then its peers grouped by how this node reaches them. With the
 * overlay a node holds a handful of sessions whatever the size of the mesh, so most peers are
 * reached through others: "Through the mesh" is the normal place for them, not a fault.
 */
import type { NodeStatus, PeerRoute, PeerSummary } from '../../../protocol/status';

export type PeerItem =
  | { kind: 'node'; status: NodeStatus }
  | { kind: 'group'; route: PeerRoute; peers: PeerSummary[] }
  | { kind: 'peer'; peer: PeerSummary }
  | { kind: 'detail'; label: string; value: string; icon: string };

/** A tooltip's text: rendered as Markdown with every value escaped (peer names are not ours). */
export interface Tooltip {
  title: string;
  lines: { label: string; value: string }[];
}

/** An item as the tree shows it. */
export interface ItemView {
  id?: string;
  label: string;
  description?: string;
  /** A codicon id (ThemeIcon). */
  icon: string;
  state: 'none' | 'collapsed' | 'expanded';
  contextValue?: string;
  tooltip: Tooltip | string;
  accessibilityLabel?: string;
}

const groups: Record<PeerRoute, { label: string; icon: string; state: ItemView['state']; tooltip: string }> = {
  direct: { label: 'Direct', icon: 'plug', state: 'expanded', tooltip: 'Peers this node holds an encrypted session with.' },
  via: { label: 'Through the mesh', icon: 'type-hierarchy', state: 'expanded', tooltip: 'Peers reached through other nodes, which relay their messages: heard from within the last two minutes.' },
  unreachable: { label: 'Unreachable', icon: 'debug-disconnect', state: 'collapsed', tooltip: 'Peers not heard from in the last two minutes: gone, or cut off from this part of the mesh.' },
};
const routeOrder: readonly PeerRoute[] = ['direct', 'via', 'unreachable'];

/** The view's own description: this node's sessions against its watermarks, e.g. "7 of 6-12 sessions". */
export function sessionsText(status: NodeStatus): string | undefined {
  const overlay = status.overlay;
  if (!overlay) return undefined;
  const roles = [...(overlay.role === 'hub' ? ['hub'] : []), ...(overlay.cluster ? [`cluster ${overlay.cluster}`] : []), ...(overlay.bridge ? ['bridge'] : [])];
  return [`${overlay.sessions} of ${overlay.activeTarget}-${overlay.activeMax} sessions`, ...roles].join(' · ');
}

/** This node, then one group per route that has peers. */
export function rootItems(status: NodeStatus, peers: readonly PeerSummary[]): PeerItem[] {
  const byRoute = new Map<PeerRoute, PeerSummary[]>(routeOrder.map((route) => [route, []]));
  for (const peer of peers) byRoute.get(peer.route)?.push(peer);
  const items: PeerItem[] = [{ kind: 'node', status }];
  for (const route of routeOrder) {
    const members = byRoute.get(route)!;
    if (members.length > 0) items.push({ kind: 'group', route, peers: members.sort(peerOrder(route)) });
  }
  return items;
}

/** Named peers by name; through the mesh, the nearest first; unreachable, the most recently seen first. */
function peerOrder(route: PeerRoute): (a: PeerSummary, b: PeerSummary) => number {
  const byName = (a: PeerSummary, b: PeerSummary) => Number(!a.name) - Number(!b.name) || a.name.localeCompare(b.name) || a.nodeId.localeCompare(b.nodeId);
  if (route === 'via') return (a, b) => (a.hops ?? Infinity) - (b.hops ?? Infinity) || byName(a, b);
  if (route === 'unreachable') return (a, b) => b.lastSeen - a.lastSeen || byName(a, b);
  return byName;
}

export function childrenOf(item: PeerItem, now: number): PeerItem[] {
  switch (item.kind) {
    case 'node':
      return nodeDetails(item.status);
    case 'group':
      return item.peers.map((peer): PeerItem => ({ kind: 'peer', peer }));
    case 'peer':
      return peerDetails(item.peer, now);
    case 'detail':
      return [];
  }
}

/** `now`: wall-clock ms, for "last seen 3 min ago". */
export function viewOf(item: PeerItem, now: number): ItemView {
  switch (item.kind) {
    case 'node': {
      const { status } = item;
      return {
        id: `node:${status.nodeId}`,
        label: status.name,
        description: `this node${status.listen ? ` · ${status.listen}` : ''}`,
        icon: status.problems.length > 0 ? 'warning' : 'home',
        state: 'collapsed',
        contextValue: 'personaMesh.localNode',
        tooltip: { title: `${status.name} (this node)`, lines: nodeDetails(status).map(({ label, value }) => ({ label, value })) },
      };
    }
    case 'group': {
      const group = groups[item.route];
      return {
        id: `group:${item.route}`,
        label: `${group.label} (${item.peers.length})`,
        icon: group.icon,
        state: group.state,
        contextValue: 'personaMesh.routeGroup',
        tooltip: group.tooltip,
      };
    }
    case 'peer': {
      const { peer } = item;
      const label = peer.name || 'Unnamed node';
      const how = routeText(peer, now);
      const clock = clockOffsetText(peer);
      // A nameless peer (heard only through relays) is told apart by its id, after what matters.
      const description = [how, ...badges(peer), clock && `clock ${clock}`, peer.name ? undefined : peer.nodeIdDisplay.slice(0, 7)].filter((part) => part).join(' · ');
      return {
        id: `peer:${peer.nodeId}`,
        label,
        description,
        icon: peerIcon(peer),
        state: 'collapsed',
        // `.up`: a session to ping over (remote commands reach a peer without one only through a neighbour of it).
        contextValue: peer.route === 'direct' ? 'personaMesh.peer.up' : peer.route === 'via' ? 'personaMesh.peer.via' : 'personaMesh.peer',
        tooltip: { title: label, lines: peerDetails(peer, now).map(({ label: name, value }) => ({ label: name, value })) },
        accessibilityLabel: `Peer ${label}, ${[how, ...badges(peer)].join(', ')}`,
      };
    }
    case 'detail':
      return { label: item.label, description: item.value, icon: item.icon, state: 'none', tooltip: `${item.label}: ${item.value}` };
  }
}

function routeText(peer: PeerSummary, now: number): string {
  switch (peer.route) {
    case 'direct':
      return peer.rttMs !== undefined ? formatRtt(peer.rttMs) : 'direct';
    case 'via':
      return peer.hops !== undefined ? `via, ${hopsText(peer.hops)}` : 'via';
    case 'unreachable':
      return peer.state === 'connecting' ? 'connecting' : `last seen ${ago(now - peer.lastSeen)}`;
  }
}

/** One hop only when the origin's hop budget differs from ours (the count is an estimate then). */
function hopsText(hops: number): string {
  return `${hops} hop${hops === 1 ? '' : 's'}`;
}

function badges(peer: PeerSummary): string[] {
  return [...(peer.cluster ? [peer.cluster] : []), ...(peer.bridge ? ['bridge'] : []), ...(peer.hub ? ['hub'] : [])];
}

/** "+45 s": only a clock far enough off to matter is news (the problem list says what to do). */
function clockOffsetText(peer: PeerSummary): string | undefined {
  const offset = peer.clockOffsetMs;
  if (offset === undefined || Math.abs(offset) <= 30_000) return undefined;
  return `${offset > 0 ? '+' : '−'}${Math.round(Math.abs(offset) / 1000)} s`;
}

function peerIcon(peer: PeerSummary): string {
  if (peer.route === 'direct') return 'vm-running';
  if (peer.route === 'via') return 'vm-connect';
  return peer.state === 'connecting' ? 'loading~spin' : 'vm-outline';
}

function nodeDetails(status: NodeStatus): Extract<PeerItem, { kind: 'detail' }>[] {
  const overlay = status.overlay;
  return [
    { kind: 'detail', label: 'Node id', value: status.nodeIdDisplay, icon: 'key' },
    { kind: 'detail', label: 'State', value: status.state, icon: status.state === 'running' ? 'pass' : 'warning' },
    ...(overlay
      ? [
          {
            kind: 'detail' as const,
            label: 'Sessions',
            value: `${overlay.sessions}, keeps ${overlay.activeTarget} to ${overlay.activeMax}${overlay.role === 'hub' ? ' (a hub)' : ''}; ${overlay.candidates} candidate${overlay.candidates === 1 ? '' : 's'} to replace a lost one`,
            icon: 'type-hierarchy',
          },
          ...(overlay.cluster
            ? [
                {
                  kind: 'detail' as const,
                  label: 'Cluster',
                  value: `${overlay.cluster}${overlay.bridge ? ", a bridge: holds the cluster's links to other clusters" : ''}`,
                  icon: 'organization',
                },
              ]
            : []),
        ]
      : []),
    ...(status.listen ? [{ kind: 'detail' as const, label: 'Listening on', value: status.listen, icon: 'plug' }] : []),
    { kind: 'detail', label: 'Mesh key', value: status.meshKeySet ? 'set' : 'not set', icon: status.meshKeySet ? 'lock' : 'unlock' },
    { kind: 'detail', label: 'Data', value: status.dataDir, icon: 'database' },
    ...status.problems.map((problem) => ({ kind: 'detail' as const, label: 'Problem', value: problem.message, icon: 'error' })),
  ];
}

function peerDetails(peer: PeerSummary, now: number): Extract<PeerItem, { kind: 'detail' }>[] {
  const route = {
    direct: 'a session of its own',
    via: `through the mesh${peer.hops !== undefined ? `, ${hopsText(peer.hops)}` : ''}`,
    unreachable: 'not heard from in the last two minutes',
  }[peer.route];
  const clock = clockOffsetText(peer);
  return [
    { kind: 'detail', label: 'Node id', value: peer.nodeIdDisplay, icon: 'key' },
    { kind: 'detail', label: 'Reached', value: route, icon: peerIcon(peer) },
    ...(peer.cluster ? [{ kind: 'detail' as const, label: 'Cluster', value: peer.cluster, icon: 'organization' }] : []),
    ...(peer.bridge ? [{ kind: 'detail' as const, label: 'Bridge', value: "holds its cluster's links to other clusters", icon: 'arrow-swap' }] : []),
    ...(peer.hub ? [{ kind: 'detail' as const, label: 'Hub', value: 'takes hundreds of sessions', icon: 'server' }] : []),
    ...(peer.addr ? [{ kind: 'detail' as const, label: 'Address', value: peer.addr, icon: 'plug' }] : []),
    ...(peer.rttMs !== undefined ? [{ kind: 'detail' as const, label: 'Round trip', value: formatRtt(peer.rttMs), icon: 'pulse' }] : []),
    ...(clock ? [{ kind: 'detail' as const, label: 'Clock', value: `${clock} off this machine's`, icon: 'watch' }] : []),
    { kind: 'detail', label: 'Last seen', value: ago(now - peer.lastSeen), icon: 'clock' },
    ...(peer.downReason ? [{ kind: 'detail' as const, label: 'Down because', value: peer.downReason, icon: 'debug-disconnect' }] : []),
  ];
}

export function formatRtt(ms: number): string {
  return ms < 1 ? `${Math.round(ms * 1000)} µs` : `${ms.toFixed(1)} ms`;
}

/** "just now", "4 min ago", "3 h ago", "2 days ago". */
export function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}
