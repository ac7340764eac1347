/**
 * Clusters on real sockets (in process, loopback multicast): two clusters by explicit label
 * (`--cluster`), so they need no second subnet. Sessions between the clusters are held by their
 * bridges only, everyone agrees on who the bridges are, and events still reach every node.
 */
import assert from 'node:assert/strict';
import { electBridges } from '../../../server/src/net/overlay/clusters';
import type { MeshMessage } from '../../../server/src/net/meshNetwork';
import { waitPast } from '../../support/until';
import { freshPort, makeNode, settled, stopAll, waitFor, type TestNode } from './support/meshHarness';

const labels = ['east', 'west'];

function connected(nodes: TestNode[]): boolean {
  const ids = new Map(nodes.map((node) => [node.mesh.nodeId, node]));
  const seen = new Set([nodes[0]!.mesh.nodeId]);
  const queue = [nodes[0]!];
  for (let node = queue.shift(); node; node = queue.shift()) {
    for (const peer of node.mesh.upPeers()) {
      if (seen.has(peer) || !ids.has(peer)) continue;
      seen.add(peer);
      queue.push(ids.get(peer)!);
    }
  }
  return seen.size === nodes.length;
}

describe('overlay clusters: two labelled clusters (in process, loopback)', function () {
  this.timeout(90_000);
  let nodes: TestNode[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('only bridges hold sessions across clusters, every node agrees who they are, and events reach everyone', async () => {
    const port = freshPort();
    // Watermarks 2-4 so that 5 nodes a cluster are not a full mesh.
    nodes = Array.from({ length: 10 }, (_, i) => makeNode(port, { name: `c${i}`, tuning: { overlay: { activeTarget: 2, activeMax: 4, cluster: labels[i % 2] } } }));
    const received = nodes.map(() => [] as MeshMessage[]);
    nodes.forEach((node, i) => node.mesh.subscribe('/chat/room/lobby/', (m) => received[i]!.push(m)));
    for (const node of nodes) await node.mesh.start();
    const clusterOf = (node: TestNode) => node.mesh.clusterOf()!;
    const bridges = new Map(labels.map((label) => [label, electBridges(label, nodes.filter((node) => clusterOf(node) === label).map((node) => node.mesh.nodeId))]));
    const isBridge = (node: TestNode) => bridges.get(clusterOf(node))!.includes(node.mesh.nodeId);
    const crossing = (node: TestNode) => node.mesh.upPeers().filter((peer) => node.mesh.clusterOf(peer) !== clusterOf(node));

    await waitFor('one connected mesh, every node elected the same bridges', () => connected(nodes) && nodes.every((node) => node.mesh.isBridge() === isBridge(node)), 30_000);
    await waitFor('no session across clusters but between bridges', () => nodes.every((node) => isBridge(node) || crossing(node).length === 0), 30_000);
    // A wall-time wait: past the overlay's request timeout (HyParView's requestTimeoutMs, 10 s), a
    // session neither side accepted has been closed: only sessions both sides agreed on remain.
    await waitPast(11_000, 'the overlay request timeout (10 s)');
    assert.ok(connected(nodes), 'still one mesh');
    for (const node of nodes) {
      assert.equal(clusterOf(node), labels[nodes.indexOf(node) % 2]);
      if (!isBridge(node)) assert.deepEqual(crossing(node), [], `node ${nodes.indexOf(node)} is no bridge but holds sessions to another cluster`);
      for (const peer of node.mesh.upPeers()) {
        const other = nodes.find((candidate) => candidate.mesh.nodeId === peer)!;
        // A peer of this node's cluster: the node knows whether it is a bridge; another cluster's: it does not say.
        assert.equal(node.mesh.isBridge(peer), clusterOf(other) === clusterOf(node) ? isBridge(other) : undefined);
      }
    }
    assert.ok(nodes.some((node) => crossing(node).length > 0), 'the clusters are linked');

    for (let i = 0; i < nodes.length; i++) nodes[i]!.mesh.publish('/chat/room/lobby/events/message', { text: `hello from ${i}` });
    await waitFor('every node has the 9 others', () => received.every((list) => list.length >= 9), 10_000);
    received.forEach((list, i) => assert.equal(new Set(list.map((m) => m.from)).size, 9, `node ${i}`));
  });

  it("a room's events cross to the other cluster only when it has members of the room", async () => {
    const port = freshPort();
    nodes = Array.from({ length: 8 }, (_, i) => makeNode(port, { name: `r${i}`, tuning: { overlay: { activeTarget: 2, activeMax: 4, cluster: labels[i % 2] } } }));
    const east = nodes.filter((_, i) => i % 2 === 0);
    const west = nodes.filter((_, i) => i % 2 === 1);
    const got = new Map<string, MeshMessage[]>(['lobby', 'eastside', 'westside'].map((room) => [room, []]));
    const join = (node: TestNode, room: string) => node.mesh.subscribe(`/chat/room/${room}/`, (m) => got.get(room)!.push(m));
    for (const node of nodes) join(node, 'lobby');
    join(east[1]!, 'eastside');
    join(east[2]!, 'eastside');
    join(west[3]!, 'westside');
    for (const node of nodes) await node.mesh.start();
    const summaries = (node: TestNode) => node.mesh.stats().overlay?.cluster?.interest.clusters ?? 0;
    await waitFor('one mesh, every bridge holding both clusters summaries', () => connected(nodes) && nodes.every((node) => node.mesh.isBridge() !== true || summaries(node) === 2), 30_000);
    // A wall-time wait: past the overlay's request timeout (10 s), only agreed sessions remain.
    await waitPast(11_000, 'the overlay request timeout (10 s)');
    await waitFor('still one mesh', () => connected(nodes), 10_000);

    const forwarded = (group: TestNode[]) => group.reduce((sum, node) => sum + (node.mesh.stats().counters['router.forwarded'] ?? 0), 0);
    const westBefore = forwarded(west);
    for (let k = 0; k < 5; k++) east[0]!.mesh.publish('/chat/room/eastside/events/message', { k });
    for (let k = 0; k < 5; k++) east[3]!.mesh.publish('/chat/room/westside/events/message', { k });
    for (let k = 0; k < 5; k++) east[0]!.mesh.publish('/chat/room/lobby/events/message', { k });
    await waitFor('each room has its messages at every member', () => got.get('eastside')!.length === 10 && got.get('westside')!.length === 5 && got.get('lobby')!.length === 35, 10_000);
    // Every copy in flight has been read and relayed where it would be (non-members relay too).
    await settled(nodes);
    // The west relayed the rooms it has members of; then eastside events alone cost the west nothing.
    const westAfter = forwarded(west);
    const skipped = east.reduce((sum, node) => sum + (node.mesh.stats().counters['overlay.interest.skipped'] ?? 0), 0);
    assert.ok(skipped >= 5, `east bridges held back eastside events: ${skipped}`);
    const westOnly = forwarded(west);
    for (let k = 0; k < 5; k++) east[0]!.mesh.publish('/chat/room/eastside/events/message', { k: 10 + k });
    await waitFor('5 more eastside events at its 2 members', () => got.get('eastside')!.length === 20, 10_000);
    // Had an eastside event crossed, a west node would have read and relayed it by now.
    await settled(nodes);
    assert.equal(forwarded(west), westOnly, 'no west node relayed an eastside event');
    assert.ok(westAfter > westBefore, 'the west relayed the rooms it has members of');
    assert.equal(got.get('lobby')!.length, 35);
  });
});
