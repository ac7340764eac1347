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
    assert.deepEqual({ ...entry }, { at: 2, relayedAt: 2, hops: 4 });
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
});
