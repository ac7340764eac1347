/**
 * When each origin was last heard, and over how many hops: with a bounded number of sessions,
 * most peers are reached through relays, and only the envelopes they send tell this node that
 * the overlay still reaches them (the Peers view's "via, 3 hops"). One entry per origin, updated
 * in place for every envelope (no allocation once an origin is known), no timers: the age of an
 * entry is judged when someone asks.
 */
import type { PeerRoute } from '../../../protocol/status';
import { BoundedMap } from './boundedMap';
import type { PeerInfo } from './peerTable';

/** An origin heard within this window (monotonic ms) counts as reached through the mesh. */
export const viaWindowMs = 120_000;

export interface Heard {
  /** Monotonic ms of the last envelope from it, over any path (a session, relays, multicast). */
  at: number;
  /** Monotonic ms of the last envelope from it that came through relays (-Infinity: never). */
  relayedAt: number;
  /** Hops that envelope travelled (2: one relay between us). */
  hops: number;
  /**
   * The neighbour the shortest recent relayed envelope came from: the next hop back to the origin
   * (reverse-path learning, as AODV's reverse routes or a learning bridge).
   */
  via: string | undefined;
}

/** A shorter route replaces the one known; a longer one only once the known one is this old. */
const routeRefreshMs = 30_000;

export class HeardLog {
  private readonly origins: BoundedMap<string, Heard>;

  constructor(capacity = 4096) {
    this.origins = new BoundedMap(capacity);
  }

  /** An envelope of `origin` arrived at `now`: through relays when `hops` is given, from neighbour `via`. */
  note(origin: string, now: number, hops?: number, via?: string): void {
    let heard = this.origins.get(origin);
    if (!heard) {
      heard = { at: now, relayedAt: -Infinity, hops: 0, via: undefined };
      this.origins.set(origin, heard);
    }
    heard.at = now;
    if (hops !== undefined) {
      if (via !== undefined && (heard.via === undefined || hops <= heard.hops || now - heard.relayedAt > routeRefreshMs)) heard.via = via;
      heard.relayedAt = now;
      heard.hops = hops;
    }
  }

  /** The neighbour to send towards `origin` through, if a relayed envelope of it came recently. */
  nextHop(origin: string, now: number): string | undefined {
    const heard = this.origins.get(origin);
    return heard && now - heard.relayedAt <= viaWindowMs ? heard.via : undefined;
  }

  get(origin: string): Readonly<Heard> | undefined {
    return this.origins.get(origin);
  }

  /** The peer left (it said goodbye): its last envelopes no longer mean it can be reached. */
  forget(origin: string): void {
    this.origins.delete(origin);
  }

  entries(): IterableIterator<[string, Readonly<Heard>]> {
    return this.origins.entries();
  }
}

/**
 * The route to a peer at monotonic `now`: `direct` with a session; `via` when heard within
 * {@link viaWindowMs}, with the hop count of its last relayed envelope if that is recent too.
 */
export function routeOf(sessionUp: boolean, heard: Readonly<Heard> | undefined, now: number): { route: PeerRoute; hops?: number } {
  if (sessionUp) return { route: 'direct' };
  if (!heard || now - heard.at > viaWindowMs) return { route: 'unreachable' };
  return now - heard.relayedAt <= viaWindowMs ? { route: 'via', hops: heard.hops } : { route: 'via' };
}

/** A peer and how this node reaches it. */
export interface RoutedPeer extends PeerInfo {
  route: PeerRoute;
  /** For `via`: hops its last relayed envelope travelled, when that was recent. */
  hops?: number;
}

/**
 * The peer table with routes, and the origins `heard` knows that the table does not (nodes
 * beyond multicast's reach, found by no beacon: nameless here). `now` is monotonic, `wall` the
 * wall clock at the same instant.
 */
export function routedPeers(table: readonly PeerInfo[], heard: Pick<HeardLog, 'get' | 'entries'>, now: number, wall: number): RoutedPeer[] {
  const wallOf = (entry: Readonly<Heard>) => Math.round(wall - (now - entry.at));
  const listed = new Set<string>();
  const peers = table.map((peer): RoutedPeer => {
    listed.add(peer.nodeId);
    const entry = heard.get(peer.nodeId);
    // Relayed envelopes do not touch the peer table (hot path): its last-seen may be older than they are.
    const lastSeen = entry ? Math.max(peer.lastSeen, wallOf(entry)) : peer.lastSeen;
    return { ...peer, lastSeen, ...routeOf(peer.state === 'up', entry, now) };
  });
  for (const [nodeId, entry] of heard.entries()) {
    if (listed.has(nodeId)) continue;
    const seen = wallOf(entry);
    peers.push({ nodeId, name: '', state: 'discovered', lastSeen: seen, since: seen, multicast: false, ...routeOf(false, entry, now) });
  }
  return peers;
}
