/**
 * The bounded-degree overlay on real sockets (in process, loopback multicast): with small
 * watermarks, 14 nodes keep a few sessions each and still form one mesh; every broadcast event
 * reaches every node exactly once over several hops; a node at its high watermark refuses more.
 */
import assert from 'node:assert/strict';
import type { MeshMessage } from '../../../server/src/net/meshNetwork';
import { waitPast } from '../../support/until';
import { freshPort, makeNode, settled, stopAll, waitFor, type TestNode } from './support/meshHarness';

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

describe('the overlay: bounded sessions, events over several hops (in process, loopback)', function () {
  this.timeout(60_000);
  // Seen once in CI (2026-12-07 evening): a node still above its high watermark 20 s after the
  // join; not reproduced in 6 local runs, 3 of them beside a busy core (issue #14 note).
  this.retries(1);
  let nodes: TestNode[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('14 nodes with watermarks 2-3: at most 3 sessions each, one connected mesh, each event delivered once everywhere', async () => {
    const port = freshPort();
    nodes = Array.from({ length: 14 }, (_, i) => makeNode(port, { name: `o${i}`, tuning: { overlay: { activeTarget: 2, activeMax: 3 } } }));
    const received = nodes.map(() => [] as MeshMessage[]);
    nodes.forEach((node, i) => node.mesh.subscribe('/chat/room/lobby/', (m) => received[i]!.push(m)));
    for (const node of nodes) await node.mesh.start();
    await waitFor('one connected mesh, every node at its low watermark', () => connected(nodes) && nodes.every((node) => node.mesh.upPeers().length >= 2), 30_000);
    // Sessions not accepted into the active view are closed within the request timeout (10 s).
    await waitFor('no node above its high watermark', () => nodes.every((node) => node.mesh.upPeers().length <= 3), 20_000);
    assert.ok(connected(nodes), 'still one mesh');
    const sessions = nodes.map((node) => node.mesh.upPeers().length);
    assert.ok(sessions.reduce((a, b) => a + b, 0) / 2 < (14 * 13) / 2, 'far from a full mesh');

    for (let i = 0; i < nodes.length; i++) nodes[i]!.mesh.publish('/chat/room/lobby/events/message', { text: `hello from ${i}` });
    await waitFor('every node has the 13 others', () => received.every((list) => list.length >= 13), 10_000);
    // And nothing more arrives: every copy still in flight, over any number of hops, has been read.
    await settled(nodes);
    received.forEach((list, i) => {
      assert.equal(list.length, 13, `node ${i} got ${list.length}`);
      assert.equal(new Set(list.map((m) => m.from)).size, 13);
    });
    // Some arrived over more than one hop: the relaying counters prove it.
    const forwarded = nodes.reduce((sum, node) => sum + (node.mesh.stats().counters['router.forwarded'] ?? 0), 0);
    assert.ok(forwarded > 0, 'events were relayed');
    // Order per sender holds over several hops.
    for (let k = 0; k < 5; k++) nodes[0]!.mesh.publish('/chat/room/lobby/events/message', { n: k });
    await waitFor('the 5 ordered events everywhere', () => received.slice(1).every((list) => list.filter((m) => (m.body as { n?: number }).n !== undefined).length === 5), 10_000);
    for (const list of received.slice(1)) {
      assert.deepEqual(list.filter((m) => (m.body as { n?: number }).n !== undefined).map((m) => (m.body as { n: number }).n), [0, 1, 2, 3, 4]);
    }
  });

  it('a node at its high watermark refuses a new neighbour and points it elsewhere; the newcomer still joins', async () => {
    const port = freshPort();
    nodes = Array.from({ length: 4 }, (_, i) => makeNode(port, { name: `f${i}`, tuning: { overlay: { activeTarget: 3, activeMax: 3 } } }));
    for (const node of nodes) await node.mesh.start();
    await waitFor('4 nodes in a full mesh of 3 sessions each', () => nodes.every((node) => node.mesh.upPeers().length === 3), 20_000);
    const late = makeNode(port, { name: 'late', tuning: { overlay: { activeTarget: 2, activeMax: 3 } } });
    nodes.push(late);
    await late.mesh.start();
    await waitFor('the newcomer keeps at least one session', () => late.mesh.upPeers().length >= 1, 30_000);
    // A wall-time wait: past the overlay's request timeout (HyParView's requestTimeoutMs, 10 s), a
    // session neither side accepted into its active view has been closed: only agreed sessions remain.
    await waitPast(11_000, 'the overlay request timeout (10 s)');
    assert.ok(nodes.every((node) => node.mesh.upPeers().length <= 3), `sessions: ${nodes.map((node) => node.mesh.upPeers().length).join(', ')}`);
    assert.ok(connected(nodes));
    const refused = nodes.slice(0, 4).reduce((sum, node) => sum + (node.mesh.stats().overlay?.membership.refused ?? 0), 0);
    const dropped = nodes.slice(0, 4).reduce((sum, node) => sum + (node.mesh.stats().counters['overlay.active.down'] ?? 0), 0);
    assert.ok(refused + dropped > 0, 'a full node refused or made room');
  });
});
