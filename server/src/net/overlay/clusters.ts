/**
 * Clusters: which nodes are "close", and which of them hold the links to other clusters.
 *
 * A node's cluster key is an explicit label when the user configured one (`--cluster NAME`, the
 * setting `personaMesh.network.cluster`), else the /24 of its IPv4 listen address. Why /24: it is
 * the subnet of nearly every office, home and lab LAN, and it is what the discovery beacons reach
 * anyway (multicast with TTL 1 does not cross a router), so the nodes a node hears beacons from
 * are the nodes of its cluster. A /24 is only a guess at "one broadcast domain, sub-millisecond
 * RTT": a /16 campus network or two floors on one /23 set the same label on every node of a site
 * instead. Anything that is not IPv4 (IPv6, a name) falls back to the address's host part, so
 * every node on one machine (loopback) is one cluster: a single-subnet LAN stays one cluster and
 * behaves exactly as without clusters.
 *
 * Bridges: the `count` live members of a cluster with the lowest rendezvous hash of
 * (cluster key, node id) are its bridges (highest-random-weight hashing: Thaler & Ravishankar,
 * "Using name-based mappings to increase hit rates", IEEE/ACM ToN 1998). Every node that knows
 * the same members elects the same bridges with no message exchanged; when a bridge leaves only
 * its own place changes (the next member by hash takes it, the other bridge stays), which is the
 * failover. The two levels (clusters whose few bridges carry the traffic between them) follow the
 * hierarchical gossip of Astrolabe (van Renesse, Birman, Vogels, ACM TOCS 2003), where each zone
 * elects representatives by a deterministic rule over its membership, and the super-peer designs
 * (Yang & Garcia-Molina, "Designing a super-peer network", ICDE 2003) where two redundant
 * super-peers per cluster keep it reachable when one fails.
 */
import { createHash } from 'node:crypto';
import type { PeerRef } from './types';

/** Bridges per cluster: two, so a cluster stays reachable while one is replaced. */
export const defaultBridges = 2;

/** Longest explicit label accepted (it travels in every PeerRef). */
export const maxClusterLabelLength = 64;

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The host part of `host:port`, `[v6]:port` or a bare host. */
function hostOf(address: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const colon = address.lastIndexOf(':');
  // One colon: host:port; several: a bare IPv6 address.
  return colon >= 0 && address.indexOf(':') === colon ? address.slice(0, colon) : address;
}

/** A configured label, trimmed; undefined when empty; throws when too long (a user's typo should be seen). */
export function clusterLabel(value: string | undefined): string | undefined {
  const label = value?.trim();
  if (!label) return undefined;
  if (label.length > maxClusterLabelLength) throw new RangeError(`cluster label longer than ${maxClusterLabelLength} characters`);
  return label;
}

/** The cluster of a node: its explicit label, else the /24 of its IPv4 address (`10.1.2.0/24`), else its host. */
export function clusterKey(address: string, label?: string): string {
  if (label !== undefined) return label;
  const host = hostOf(address);
  const octets = ipv4.exec(host);
  if (octets && octets.slice(1).every((octet) => Number(octet) <= 255)) return `${octets[1]}.${octets[2]}.${octets[3]}.0/24`;
  return host;
}

/** The cluster a PeerRef says it belongs to: its label when it carries one, else from its address. */
export function clusterOfRef(peer: PeerRef): string {
  return peer.cluster ?? clusterKey(peer.addr);
}

/** Rendezvous weight of `nodeId` in `cluster` (lower wins); a hex string so ties cannot happen between distinct ids. */
export function rendezvousWeight(cluster: string, nodeId: string): string {
  return createHash('sha256').update(cluster).update('\0').update(nodeId).digest('hex');
}

/**
 * The bridges of `cluster` among `members` (ids, self included when it is a member): the `count`
 * lowest rendezvous weights, lowest first. Order-independent: every node with the same member set
 * gets the same list.
 */
export function electBridges(cluster: string, members: Iterable<string>, count = defaultBridges): string[] {
  return lowestWeights([...new Set(members)].map((id) => ({ id, weight: rendezvousWeight(cluster, id) })), count);
}

/** The ids of the `count` lowest weights, lowest first (for a caller that keeps the weights it hashed). */
export function lowestWeights(weighted: Array<{ id: string; weight: string }>, count = defaultBridges): string[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bridges must be an integer >= 1, got ${count}`);
  const sorted = [...weighted].sort((a, b) => (a.weight < b.weight ? -1 : a.weight > b.weight ? 1 : 0));
  return sorted.slice(0, count).map((entry) => entry.id);
}
