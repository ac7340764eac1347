/**
 * What the Peers view shows of a mesh with the overlay, on real sockets (in process, loopback):
 * in a line A-B-C-D (trust lists forbid every other session), A reaches B directly and C and D
 * through relays, with the hops their envelopes travelled.
 */
import assert from 'node:assert/strict';
import type { RoutedPeer } from '../../../server/src/net/heard';
import { generateIdentity, type Identity } from '../../../server/src/kernel/identity';
import { makeNode, stopAll, waitFor, type TestNode } from './support/meshHarness';

describe('peers and their routes over the overlay (in process, loopback)', function () {
  this.timeout(60_000);
  let nodes: TestNode[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  /** A line A-B-C-D: trust lists forbid every other session. */
  async function startLine(): Promise<{ ids: [Identity, Identity, Identity, Identity]; nodes: [TestNode, TestNode, TestNode, TestNode] }> {
    const [a, b, c, d] = [0, 1, 2, 3].map(() => generateIdentity().identity) as [Identity, Identity, Identity, Identity];
    const line = (identity: Identity, neighbours: Identity[], staticPeers: string[] = []) =>
      makeNode(undefined, { identity, name: `n-${identity.nodeId.slice(0, 4)}`, trustedNodes: neighbours.map((n) => n.nodeId), staticPeers, tuning: { overlay: { activeTarget: 1, activeMax: 2 } } });
    const B = line(b, [a, c]);
    nodes = [B];
    await B.mesh.start();
    const C = line(c, [b, d], [B.mesh.listenAddress]);
    nodes.push(C);
    await C.mesh.start();
    const A = line(a, [b], [B.mesh.listenAddress]);
    const D = line(d, [c], [C.mesh.listenAddress]);
    nodes.push(A, D);
    await A.mesh.start();
    await D.mesh.start();
    await waitFor('the line is up', () => A.mesh.upPeers().length === 1 && D.mesh.upPeers().length === 1 && B.mesh.upPeers().length === 2 && C.mesh.upPeers().length === 2, 20_000);
    return { ids: [a, b, c, d], nodes: [A, B, C, D] };
  }

  it('in a line A-B-C-D, A sees B direct, C via 2 hops and D via 3 hops; a neighbour that stops is unreachable at once', async () => {
    const { ids: [, b, c, d], nodes: [A, B, C, D] } = await startLine();
    nodes = [A, B, C, D];

    const route = (nodeId: string): Pick<RoutedPeer, 'route' | 'hops'> | undefined => {
      const peer = A.mesh.peers().find((p) => p.nodeId === nodeId);
      return peer && { route: peer.route, ...(peer.hops !== undefined ? { hops: peer.hops } : {}) };
    };
    assert.deepEqual(route(b.nodeId), { route: 'direct' });
    const got = new Set<string>();
    A.mesh.subscribe('/chat/room/lobby/', (m) => got.add(m.from));
    // Relays forward every broadcast, subscribed or not; publish again until A has one of each.
    await waitFor('A hears C and D through the relays', () => {
      if (!got.has(c.nodeId)) C.mesh.publish('/chat/room/lobby/events/message', { text: 'from C' });
      if (!got.has(d.nodeId)) D.mesh.publish('/chat/room/lobby/events/message', { text: 'from D' });
      return got.has(c.nodeId) && got.has(d.nodeId);
    }, 10_000);
    assert.deepEqual(route(c.nodeId), { route: 'via', hops: 2 });
    assert.deepEqual(route(d.nodeId), { route: 'via', hops: 3 });
    assert.equal(A.mesh.upPeers().includes(d.nodeId), false, 'A has no session with D');

    // B, heard a moment ago, says goodbye on its session: unreachable at once, not after the via window.
    await waitFor('A hears B', () => {
      if (!got.has(b.nodeId)) B.mesh.publish('/chat/room/lobby/events/message', { text: 'from B' });
      return got.has(b.nodeId);
    }, 10_000);
    await B.mesh.stop();
    await waitFor('A sees B gone', () => route(b.nodeId)?.route === 'unreachable', 10_000);
  });

  it('a remote command reaches a quiet node three hops away (no route known: flooded once, the answer comes back along the learned path)', async () => {
    const { ids: [a, , , d], nodes: [A, B, C, D] } = await startLine();
    nodes = [A, B, C, D];
    D.mesh.registerMethod('test.where', (_params, { from }) => ({ at: d.nodeId, from }));
    D.mesh.allowMethods('*', ['test.where']);

    const answer = (await A.mesh.call(d.nodeId, 'test.where', {}, { timeoutMs: 5000 })) as { at: string; from: string };
    assert.deepEqual(answer, { at: d.nodeId, from: a.nodeId });
    assert.ok((A.mesh.stats().counters['router.addressed-flooded'] ?? 0) >= 1, 'A knew no route and flooded the first call');
    // The way back is known now: the next call goes along it, without flooding.
    const flooded = ['router.addressed-flooded', 'router.relayed'].map((k) => (B.mesh.stats().counters[k] ?? 0) + (C.mesh.stats().counters[k] ?? 0));
    const again = (await A.mesh.call(d.nodeId, 'test.where', {}, { timeoutMs: 5000 })) as { at: string };
    assert.equal(again.at, d.nodeId);
    assert.equal(A.mesh.stats().counters['router.addressed-flooded'], 1, 'the second call used the learned route');
    const after = ['router.addressed-flooded', 'router.relayed'].map((k) => (B.mesh.stats().counters[k] ?? 0) + (C.mesh.stats().counters[k] ?? 0));
    assert.equal(after[0], flooded[0], 'no relay flooded the second call');
    assert.ok(after[1]! > flooded[1]!, 'the relays passed it on along the route');
  });
});
