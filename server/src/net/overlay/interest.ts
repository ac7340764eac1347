/**
 * Interest-based routing between clusters: a room's events cross an inter-cluster link only if a
 * cluster with members of that room lies behind it. Plumtree itself is untouched; the host asks
 * `wants(peer, topic)` before an eager push or a lazy announcement to a peer of another cluster.
 *
 * Two levels, as in Astrolabe's zones (van Renesse, Birman, Vogels, ACM TOCS 2003), where a
 * zone's aggregate stands for its members to the rest:
 * - Within a cluster, each member's rooms (the room ids it subscribes to) are flooded over the
 *   cluster's links: a record per member, versioned by its author, sent whole when a session
 *   opens and forwarded only when newer, so a change costs one message per link and idle costs
 *   nothing.
 * - Between clusters, each bridge holding inter-cluster links summarises its cluster (member
 *   count, bridges, rooms with members, clusters it links to) and floods the summary to every cluster only when its bridges,
 *   rooms or links changed (compared, not resent on a period; the member count rides along). Every node thus holds one small summary per
 *   cluster and, with the links, the cluster graph: a link to cluster X is wanted for room R when
 *   a cluster reachable from X without crossing this node's cluster has a member of R, or has not
 *   said yet (an unknown cluster is assumed interested, so a late summary costs traffic, never a
 *   lost event). Summaries of a cluster by authors that are no longer among its bridges are
 *   dropped when a newer summary names its bridges.
 *
 * Versions are wall-clock milliseconds (kept rising), so a node that restarts is not taken for
 * an older one of itself.
 */
import type { Clock } from '../../kernel/clock';
import type { ClusterMessage } from '../../../../protocol/overlay';

export interface InterestOptions {
  self: string;
  cluster: string;
  clock: Clock;
  /** The peers records and summaries travel to (the active view). */
  peers(): Iterable<string>;
  /** The other clusters this node holds links to (its active view's, not every open session). */
  linkedClusters(): Iterable<string>;
  /** A peer's cluster; undefined while unknown. */
  clusterOf(peerId: string): string | undefined;
  send(peerId: string, message: ClusterMessage): void;
  isBridge(): boolean;
  /** This cluster's bridges (this node included when it is one). */
  bridges(): string[];
  /** Members of this cluster this node knows of, itself included. */
  members(): number;
}

interface Summary {
  by: string;
  v: number;
  n: number;
  b: string[];
  r: ReadonlySet<string>;
  l: string[];
}

/** Bounds on what peers may make this node hold or forward. */
const maxRecords = 1024;
const maxRooms = 256;
const maxList = 64;
const maxClusters = 256;
const maxText = 128;

const roomTopic = /^\/chat\/room\/([^/]+)\//;

/** The room a topic belongs to (`/chat/room/{id}/...`), if any. */
export function roomOf(topic: string): string | undefined {
  return roomTopic.exec(topic)?.[1];
}

/** Stands for every room: a subscription to a prefix of `/chat/room/` (`/`, `/chat/`) takes them all. */
export const everyRoom = '*';

/**
 * The rooms a node's subscription prefixes take: the id of each `/chat/room/{id}/...` prefix, or
 * everyRoom for a prefix that covers every room.
 */
export function roomsOfPrefixes(prefixes: Iterable<string>): string[] {
  const rooms: string[] = [];
  for (const prefix of prefixes) {
    const room = roomOf(prefix);
    if (room !== undefined) rooms.push(room);
    else if ('/chat/room/'.startsWith(prefix)) rooms.push(everyRoom);
  }
  return rooms;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxText;
}

function isTextList(value: unknown, max: number): value is string[] {
  return Array.isArray(value) && value.length <= max && value.every(isText);
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates a cluster message; undefined when anything is off. */
export function parseClusterMessage(value: unknown): ClusterMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (m.t === 'cl.rooms') {
    if (!Array.isArray(m.recs) || m.recs.length > maxRecords) return undefined;
    const recs: Array<[string, number, string[]]> = [];
    for (const rec of m.recs as unknown[]) {
      if (!Array.isArray(rec) || rec.length !== 3 || !isText(rec[0]) || !isVersion(rec[1]) || !isTextList(rec[2], maxRooms)) return undefined;
      recs.push([rec[0], rec[1], [...rec[2]]]);
    }
    return { t: 'cl.rooms', recs };
  }
  if (m.t === 'cl.sum') {
    if (!isText(m.c) || !isText(m.by) || !isVersion(m.v) || !isVersion(m.n)) return undefined;
    if (!isTextList(m.b, maxList) || !isTextList(m.r, maxRooms) || !isTextList(m.l, maxList)) return undefined;
    return { t: 'cl.sum', c: m.c, by: m.by, v: m.v, n: m.n, b: [...m.b], r: [...m.r], l: [...m.l] };
  }
  return undefined;
}

export interface InterestStats {
  /** Members whose rooms this node knows (itself included). */
  records: number;
  /** Clusters with a summary. */
  clusters: number;
  /** Summaries this node authored (as a bridge). */
  authored: number;
}

export class ClusterInterest {
  private readonly records = new Map<string, { v: number; rooms: string[] }>();
  /** Per cluster, its summaries by author. */
  private readonly summaries = new Map<string, Map<string, Summary>>();
  private lastVersion = 0;
  /** What this node last summarised, to author a new version only on change. */
  private authoredKey = '';
  private authored = 0;

  constructor(private readonly options: InterestOptions) {
    this.records.set(options.self, { v: this.nextVersion(), rooms: [] });
  }

  /** This node's rooms changed (its room subscriptions). */
  setRooms(rooms: readonly string[]): void {
    const own = this.records.get(this.options.self)!;
    const next = [...new Set(rooms)].slice(0, maxRooms).sort();
    if (next.length === own.rooms.length && next.every((room, i) => room === own.rooms[i])) return;
    const record = { v: this.nextVersion(), rooms: next };
    this.records.set(this.options.self, record);
    this.floodRecords([[this.options.self, record.v, record.rooms]]);
    this.refresh();
  }

  /** A new link: a peer of this cluster (or not known yet) gets every member's rooms, any peer every summary. */
  peerUp(peerId: string): void {
    if (this.mayBeLocal(peerId)) this.options.send(peerId, { t: 'cl.rooms', recs: [...this.records].map(([id, record]) => [id, record.v, record.rooms]) });
    for (const [cluster, byAuthor] of this.summaries) for (const summary of byAuthor.values()) this.options.send(peerId, toMessage(cluster, summary));
    this.refresh();
  }

  /** A link closed: the links this node summarises may have changed. */
  peerDown(): void {
    this.refresh();
  }

  /** A member left the cluster (its goodbye). */
  forgetMember(id: string): void {
    if (id !== this.options.self && this.records.delete(id)) this.refresh();
  }

  /** The cluster's membership or bridges changed. */
  clusterChanged(): void {
    this.refresh();
  }

  /** A `cl.*` message; false when malformed (the host closes the session). */
  receive(from: string, value: unknown): boolean {
    const message = parseClusterMessage(value);
    if (!message) return false;
    if (message.t === 'cl.rooms') this.onRecords(from, message.recs);
    else this.onSummary(from, message);
    return true;
  }

  /**
   * Whether `topic` should travel to `peerId`: always within the cluster, for a topic that is no
   * room's, or to a peer whose cluster is unknown; across clusters only if a cluster behind that
   * peer (not reached through this one) has members of the room or has not summarised itself yet.
   */
  wants(peerId: string, topic: string): boolean {
    const far = this.options.clusterOf(peerId);
    if (far === undefined || far === this.options.cluster) return true;
    const room = roomOf(topic);
    if (room === undefined) return true;
    const seen = new Set([this.options.cluster, far]);
    const queue = [far];
    // Bounded: each cluster enters the queue once, and there are at most maxClusters + 2.
    for (let cluster = queue.shift(); cluster !== undefined; cluster = queue.shift()) {
      const byAuthor = this.summaries.get(cluster);
      if (!byAuthor || byAuthor.size === 0) return true;
      for (const summary of byAuthor.values()) {
        if (summary.r.has(room) || summary.r.has(everyRoom)) return true;
        for (const next of summary.l) {
          if (seen.has(next)) continue;
          seen.add(next);
          queue.push(next);
        }
      }
    }
    return false;
  }

  /** The rooms with members in this cluster, as far as this node knows. */
  clusterRooms(): string[] {
    const rooms = new Set<string>();
    for (const record of this.records.values()) for (const room of record.rooms) rooms.add(room);
    return [...rooms].sort();
  }

  /** Another cluster's summary as this node holds it (the union over its authors), for status and tests. */
  summaryOf(cluster: string): { members: number; bridges: string[]; rooms: string[]; links: string[] } | undefined {
    const byAuthor = this.summaries.get(cluster);
    if (!byAuthor || byAuthor.size === 0) return undefined;
    const all = [...byAuthor.values()];
    return {
      members: Math.max(...all.map((summary) => summary.n)),
      bridges: [...new Set(all.flatMap((summary) => summary.b))].sort(),
      rooms: [...new Set(all.flatMap((summary) => [...summary.r]))].sort(),
      links: [...new Set(all.flatMap((summary) => summary.l))].sort(),
    };
  }

  stats(): InterestStats {
    return { records: this.records.size, clusters: this.summaries.size, authored: this.authored };
  }

  private onRecords(from: string, recs: Array<[string, number, string[]]>): void {
    // Members' rooms stay in their cluster.
    if (!this.mayBeLocal(from)) return;
    const newer: Array<[string, number, string[]]> = [];
    for (const [id, v, rooms] of recs) {
      if (id === this.options.self) continue;
      const known = this.records.get(id);
      if (known && known.v >= v) continue;
      if (!known && this.records.size >= maxRecords) continue;
      const sorted = [...new Set(rooms)].sort();
      this.records.set(id, { v, rooms: sorted });
      newer.push([id, v, sorted]);
    }
    if (newer.length === 0) return;
    this.floodRecords(newer, from);
    this.refresh();
  }

  private onSummary(from: string, message: Extract<ClusterMessage, { t: 'cl.sum' }>): void {
    if (message.c === this.options.cluster && message.by === this.options.self) return;
    let byAuthor = this.summaries.get(message.c);
    const known = byAuthor?.get(message.by);
    if (known && known.v >= message.v) return;
    if (!byAuthor) {
      if (this.summaries.size >= maxClusters) return;
      byAuthor = new Map();
      this.summaries.set(message.c, byAuthor);
    }
    byAuthor.set(message.by, { by: message.by, v: message.v, n: message.n, b: message.b, r: new Set(message.r), l: message.l });
    // The newest word on a cluster's bridges: summaries by former bridges no longer count.
    for (const author of [...byAuthor.keys()]) if (!message.b.includes(author)) byAuthor.delete(author);
    for (const peer of this.options.peers()) if (peer !== from) this.options.send(peer, message);
  }

  /** As a bridge, authors a new summary of this cluster when its content changed, and floods it. */
  private refresh(): void {
    const options = this.options;
    if (!options.isBridge()) {
      // No longer a bridge: its summaries are the new bridges' to make.
      this.authoredKey = '';
      this.summaries.get(options.cluster)?.delete(options.self);
      return;
    }
    const links = [...new Set(options.linkedClusters())].filter((cluster) => cluster !== options.cluster);
    // Only a bridge with inter-cluster links speaks for its cluster: a LAN of one cluster floods nothing.
    if (links.length === 0) return;
    const content = { n: options.members(), b: [...options.bridges()].sort().slice(0, maxList), r: this.clusterRooms().slice(0, maxRooms), l: links.sort().slice(0, maxList) };
    // The member count rides along: a change of it alone is no news worth a mesh-wide flood.
    const key = JSON.stringify([content.b, content.r, content.l]);
    if (key === this.authoredKey) return;
    this.authoredKey = key;
    this.authored++;
    const summary: Summary = { by: options.self, v: this.nextVersion(), n: content.n, b: content.b, r: new Set(content.r), l: content.l };
    let own = this.summaries.get(options.cluster);
    if (!own) {
      own = new Map();
      this.summaries.set(options.cluster, own);
    }
    own.set(options.self, summary);
    const message = toMessage(options.cluster, summary);
    for (const peer of options.peers()) options.send(peer, message);
  }

  private floodRecords(recs: Array<[string, number, string[]]>, except?: string): void {
    for (const peer of this.options.peers()) if (peer !== except && this.mayBeLocal(peer)) this.options.send(peer, { t: 'cl.rooms', recs });
  }

  /** A peer of this cluster, or one whose cluster is not known yet (its records may be ours). */
  private mayBeLocal(peerId: string): boolean {
    const cluster = this.options.clusterOf(peerId);
    return cluster === undefined || cluster === this.options.cluster;
  }

  private nextVersion(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Math.floor(this.options.clock.now()));
    return this.lastVersion;
  }
}

function toMessage(cluster: string, summary: Summary): ClusterMessage {
  return { t: 'cl.sum', c: cluster, by: summary.by, v: summary.v, n: summary.n, b: summary.b, r: [...summary.r], l: summary.l };
}
