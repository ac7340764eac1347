/**
 * Interest between clusters, on a small hand-made topology: members' rooms flood within their
 * cluster, bridges' summaries flood everywhere, and a room's events cross a link only toward a
 * cluster (or one behind it) with members of the room.
 */
import assert from 'node:assert/strict';
import { ClusterInterest, parseClusterMessage, roomsOfPrefixes } from '../../../../server/src/net/overlay/interest';
import type { ClusterMessage } from '../../../../protocol/overlay';
import { FakeClock } from '../support/fakeClock';

const room = (id: string) => `/chat/room/${id}/events/message`;

/**
 * Nodes and links: cluster A (a1 bridge, a2), B (b1 bridge, b2), C (c1 bridge). Sessions a1-a2,
 * a1-b1, b1-b2, b1-c1: C is reached from A only through B. Messages wait in a FIFO until pump().
 */
function topology() {
  const clock = new FakeClock();
  const cluster: Record<string, string> = { a1: 'A', a2: 'A', b1: 'B', b2: 'B', c1: 'C' };
  const bridges: Record<string, string[]> = { A: ['a1'], B: ['b1'], C: ['c1'] };
  const links = new Map<string, Set<string>>(Object.keys(cluster).map((id) => [id, new Set()]));
  const queue: Array<() => void> = [];
  let sent = 0;
  const nodes = new Map<string, ClusterInterest>();
  for (const id of Object.keys(cluster)) {
    nodes.set(
      id,
      new ClusterInterest({
        self: id,
        cluster: cluster[id]!,
        clock,
        peers: () => links.get(id)!,
        linkedClusters: () => [...links.get(id)!].map((peer) => cluster[peer]!),
        clusterOf: (peer) => cluster[peer],
        send: (peer, message: ClusterMessage) => {
          sent++;
          const copy: unknown = structuredClone(message);
          queue.push(() => assert.ok(nodes.get(peer)!.receive(id, copy)));
        },
        isBridge: () => bridges[cluster[id]!]!.includes(id),
        bridges: () => bridges[cluster[id]!]!,
        members: () => Object.values(cluster).filter((c) => c === cluster[id]).length,
      }),
    );
  }
  const pump = () => {
    for (let guard = 0; queue.length > 0; guard++) {
      assert.ok(guard < 10_000, 'message storm');
      queue.shift()!();
    }
  };
  const link = (a: string, b: string) => {
    links.get(a)!.add(b);
    links.get(b)!.add(a);
    nodes.get(a)!.peerUp(b);
    nodes.get(b)!.peerUp(a);
    pump();
  };
  const node = (id: string) => nodes.get(id)!;
  return { node, link, pump, sentCount: () => sent };
}

describe('overlay interest: which rooms cross which inter-cluster links', () => {
  it("sends a room's events only toward clusters with members, also through a cluster without any", () => {
    const { node, link, pump } = topology();
    node('a2').setRooms(['r1']);
    node('c1').setRooms(['r2']);
    link('a1', 'a2');
    link('b1', 'b2');
    link('a1', 'b1');
    link('b1', 'c1');
    pump();

    // From A toward B: r2 has a member in C, behind B; r1 only in A; r3 nowhere.
    assert.equal(node('a1').wants('b1', room('r2')), true);
    assert.equal(node('a1').wants('b1', room('r1')), false);
    assert.equal(node('a1').wants('b1', room('r3')), false);
    // From B: toward A for r1 only, toward C for r2 only.
    assert.equal(node('b1').wants('a1', room('r1')), true);
    assert.equal(node('b1').wants('a1', room('r2')), false);
    assert.equal(node('b1').wants('c1', room('r2')), true);
    assert.equal(node('b1').wants('c1', room('r1')), false);
    // Within a cluster, and for topics that are no room's, everything travels.
    assert.equal(node('a1').wants('a2', room('r3')), true);
    assert.equal(node('a1').wants('b1', '/presence/participants'), true);
    assert.equal(node('a1').wants('stranger', room('r3')), true, 'a peer of an unknown cluster');
    // Summaries name the cluster's bridges, rooms and links; a member's own rooms reached its bridge.
    assert.deepEqual(node('a2').summaryOf('B'), { members: 2, bridges: ['b1'], rooms: [], links: ['A', 'C'] });
    assert.deepEqual(node('a1').clusterRooms(), ['r1']);
  });

  it('opens a link to a room as soon as a member joins it behind that link, and closes it when the member leaves', () => {
    const { node, link, pump, sentCount } = topology();
    link('a1', 'a2');
    link('b1', 'b2');
    link('a1', 'b1');
    link('b1', 'c1');
    assert.equal(node('a1').wants('b1', room('r3')), false);
    node('b2').setRooms(['r3']);
    pump();
    assert.equal(node('a1').wants('b1', room('r3')), true);
    assert.equal(node('c1').wants('b1', room('r3')), true);
    node('b2').setRooms([]);
    pump();
    assert.equal(node('a1').wants('b1', room('r3')), false);
    // Nothing changes, nothing is sent.
    const before = sentCount();
    node('b2').setRooms([]);
    pump();
    assert.equal(sentCount(), before);
  });

  it('assumes a cluster that has not summarised itself yet wants everything', () => {
    const { node, link } = topology();
    link('a1', 'b1');
    assert.equal(node('a1').wants('b1', room('r9')), false, 'B summarised: no member of r9');
    // C never linked: b1 knows nothing of it yet, but a1 is linked to b1 only. A fresh node knows no summary at all:
    assert.equal(node('c1').wants('b1', room('r9')), true);
  });

  it('reads rooms from subscription prefixes, and rejects malformed messages', () => {
    assert.deepEqual(roomsOfPrefixes(['/chat/room/lobby/', '/presence/participants', '/chat/rooms/announce', '/chat/sync/x']), ['lobby']);
    assert.deepEqual(roomsOfPrefixes(['/chat/']), ['*']);
    const { node, link } = topology();
    node('a2').setRooms(['*']);
    link('a1', 'a2');
    link('a1', 'b1');
    assert.equal(node('b1').wants('a1', room('anything')), true, 'a node subscribed to every room');
    for (const bad of [
      { t: 'cl.rooms', recs: [['x', -1, []]] },
      { t: 'cl.rooms', recs: [['x', 1, [5]]] },
      { t: 'cl.rooms', recs: 'x' },
      { t: 'cl.sum', c: 'A', by: 'a1', v: 1, n: 1, b: [], r: [], l: 'B' },
      { t: 'cl.sum', c: '', by: 'a1', v: 1, n: 1, b: [], r: [], l: [] },
      { t: 'cl.nope' },
      null,
    ]) {
      assert.equal(parseClusterMessage(bad), undefined, JSON.stringify(bad));
      assert.equal(node('a1').receive('b1', bad), false);
    }
  });
});
