/**
 * How often a node re-announces what every node announces (presence, its personas): the
 * interval grows with the number of announcers so that the whole mesh sends about
 * `meshPerSecond` such announcements a second, whatever its size (as RTCP scales its report
 * interval with the session's membership, RFC 3550 §6.2). With ten nodes that is the base
 * interval; with a hundred, each node announces every 100 s instead of every 10 s, and every node
 * reads one announcement a second instead of ten: on an idle node, reading them is most of what
 * it does. Receivers keep an announcement for the ttl the sender gives (3.5 intervals), so a
 * larger mesh only notices a crashed node later (at most 7 minutes); a node that stops says
 * goodbye at once.
 */
export function refreshIntervalMs(baseMs: number, announcers: number, meshPerSecond = 1, maxMs = 120_000): number {
  return Math.max(baseMs, Math.min(maxMs, Math.round((announcers / meshPerSecond) * 1000)));
}
