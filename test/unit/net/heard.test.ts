import assert from 'node:assert/strict';
import { HeardLog, routedPeers, routeOf, viaWindowMs } from '../../../server/src/net/heard';
import type { PeerInfo } from '../../../server/src/net/peerTable';

describe('net/heard', () => {
  it('a peer is direct with a session, via while heard within the window (hops only from relayed envelopes that are recent), then unreachable', () => {
    const log = new HeardLog();
    assert.deepEqual(routeOf(false, log.get('C'), 0), { route: 'unreachable' });
    log.note('C', 1000, 3);
    assert.deepEqual(routeOf(true, log.get('C'), 1000), { route: 'direct' });
    assert.deepEqual(routeOf(false, log.get('C'), 1000), { route: 'via', hops: 3 });
    // Heard again by multicast (no hop count): still via, the relayed hop count stands while recent.
    log.note('C', 1000 + viaWindowMs, undefined);
    assert.deepEqual(routeOf(false, log.get('C'), 1000 + viaWindowMs), { route: 'via', hops: 3 });
    assert.deepEqual(routeOf(false, log.get('C'), 1001 + viaWindowMs), { route: 'via' }, 'an old hop count is not shown');
    assert.deepEqual(routeOf(false, log.get('C'), 1001 + 2 * viaWindowMs), { route: 'unreachable' });
    log.note('C', 5 * viaWindowMs, 2);
    assert.deepEqual(routeOf(false, log.get('C'), 5 * viaWindowMs), { route: 'via', hops: 2 }, 'the last relayed envelope counts');
    log.forget('C');
    assert.deepEqual(routeOf(false, log.get('C'), 5 * viaWindowMs), { route: 'unreachable' });
  });

  it('updates one entry per origin in place, and holds at most its capacity (the first heard go first)', () => {
    const log = new HeardLog(2);
    log.note('A', 1, 2);
    const entry = log.get('A');
    log.note('A', 2, 4);
    assert.equal(log.get('A'), entry, 'no new entry per envelope');
    assert.deepEqual({ ...entry }, { at: 2, relayedAt: 2, hops: 4, via: undefined });
    log.note('B', 3);
    log.note('C', 4, 2);
    assert.deepEqual([...log.entries()].map(([origin]) => origin), ['B', 'C']);
  });

  it('lists the peer table with routes, and adds the nodes heard only through relays (nameless, last seen when heard)', () => {
    const wall = 1_700_000_000_000;
    const now = 500_000;
    const peer = (nodeId: string, state: PeerInfo['state'], lastSeen: number): PeerInfo => ({ nodeId, name: nodeId.toLowerCase(), state, lastSeen, since: 0, multicast: true });
    const log = new HeardLog();
    log.note('B', now - 1000);
    log.note('C', now - 2000, 2);
    log.note('D', now - 3000, 3);
    log.note('E', now - viaWindowMs - 1, 4);
    const peers = routedPeers([peer('B', 'up', wall - 500), peer('C', 'down', wall - 60_000), peer('F', 'discovered', wall - 10)], log, now, wall);
    assert.deepEqual(
      peers.map(({ nodeId, name, route, hops, lastSeen }) => ({ nodeId, name, route, hops, lastSeen })),
      [
        { nodeId: 'B', name: 'b', route: 'direct', hops: undefined, lastSeen: wall - 500 },
        { nodeId: 'C', name: 'c', route: 'via', hops: 2, lastSeen: wall - 2000 },
        { nodeId: 'F', name: 'f', route: 'unreachable', hops: undefined, lastSeen: wall - 10 },
        { nodeId: 'D', name: '', route: 'via', hops: 3, lastSeen: wall - 3000 },
        { nodeId: 'E', name: '', route: 'unreachable', hops: undefined, lastSeen: wall - viaWindowMs - 1 },
      ],
    );
  });

  it('learns the next hop back to an origin: a shorter path replaces the known one, a longer one only once it is 30 s old', () => {
    const log = new HeardLog();
    assert.equal(log.nextHop('O', 0), undefined);
    log.note('O', 1000, 3, 'B');
    assert.equal(log.nextHop('O', 1000), 'B');
    log.note('O', 2000, 4, 'C');
    assert.equal(log.nextHop('O', 2000), 'B', 'a longer path does not replace a fresh shorter one');
    log.note('O', 3000, 2, 'C');
    assert.equal(log.nextHop('O', 3000), 'C', 'a shorter path does');
    log.note('O', 40_000, 5, 'D');
    assert.equal(log.nextHop('O', 40_000), 'D', 'the known path went quiet for 30 s: the newer one wins');
    log.note('O', 41_000);
    assert.equal(log.nextHop('O', 41_000), 'D', 'a direct envelope (no hops) leaves the route alone');
    assert.equal(log.nextHop('O', 40_000 + viaWindowMs + 1), undefined, 'nothing relayed for the via window: no route');
  });
});
