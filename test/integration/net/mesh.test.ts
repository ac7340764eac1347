/**
 * Several MeshNetwork instances in one process on loopback: real TCP sessions, real multicast
 * on 127.0.0.1 (never another interface), a distinct discovery port per test.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { systemClock } from '../../../server/src/kernel/clock';
import { parseMeshKey } from '../../../server/src/kernel/meshKey';
import { RemoteCallError } from '../../../server/src/net/remoteCommands';
import { DatagramKind, rpcNotAllowedCode } from '../../../protocol/mesh';
import type { MeshMessage } from '../../../server/src/net/meshNetwork';
import { freshPort, group, makeNode, settled, stopAll, waitFor, type TestNode } from './support/meshHarness';

describe('mesh network on loopback (in process)', function () {
  this.timeout(30_000);
  let nodes: TestNode[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('5 nodes find each other, all pairs come up, and a message reaches every other node exactly once (then straight from its origin)', async () => {
    const port = freshPort();
    nodes = Array.from({ length: 5 }, (_, i) => makeNode(port, { name: `n${i}` }));
    const received = nodes.map(() => [] as MeshMessage[]);
    nodes.forEach((node, i) => node.mesh.subscribe('/chat/room/lobby/', (m) => received[i]!.push(m)));
    await Promise.all(nodes.map((node) => node.mesh.start()));
    // How fast is the discovery benchmark's business (bench/net.ts); here only that it happens.
    await waitFor('all 10 pairs up', () => nodes.every((node) => node.mesh.upPeers().length === 4), 15_000);
    // Every peer table agrees.
    for (const node of nodes) {
      assert.equal(node.mesh.peers().filter((peer) => peer.state === 'up').length, 4);
    }
    // Subscriptions made before start travel in each session's hello, read before the peer counts
    // as up; what the sessions carried since (the overlay's joins, peer exchange) is read too.
    await settled(nodes);
    nodes.forEach((node, i) => node.mesh.publish('/chat/room/lobby/events/message', { text: `hello from ${i}` }));
    await waitFor('every node has the 4 others', () => received.every((list) => list.length >= 4));
    // And nothing more arrives: every copy still in flight (the first broadcasts flood) has been
    // read, and so has every PRUNE it caused.
    await settled(nodes);
    received.forEach((list, i) => {
      assert.equal(list.length, 4, `node ${i} got ${list.length}`);
      assert.deepEqual(new Set(list.map((m) => m.from)).size, 4);
      assert.ok(!list.some((m) => m.from === nodes[i]!.mesh.nodeId));
    });
    // Each origin's first broadcast floods the overlay's links once (Plumtree builds its tree from
    // the duplicates); after that a full mesh carries each event once, straight from its origin.
    const counted = (name: string) => nodes.reduce((sum, node) => sum + (node.mesh.stats().counters[name] ?? 0), 0);
    const [duplicates, forwarded] = [counted('router.duplicate'), counted('router.forwarded')];
    nodes.forEach((node, i) => node.mesh.publish('/chat/room/lobby/events/message', { text: `again from ${i}` }));
    await waitFor('every node has the 4 others again', () => received.every((list) => list.length >= 8));
    await settled(nodes);
    received.forEach((list, i) => assert.equal(list.length, 8, `node ${i} got ${list.length}`));
    assert.equal(counted('router.duplicate'), duplicates, 'no duplicate once the trees are pruned');
    assert.equal(counted('router.forwarded'), forwarded, 'nothing relayed in a full mesh');
  });

  it('a node with the wrong mesh key gets zero sessions', async () => {
    const port = freshPort();
    const good = [makeNode(port), makeNode(port)];
    const outsider = makeNode(port, { key: parseMeshKey('pmk1-' + Buffer.alloc(32, 1).toString('base64url')) });
    nodes = [...good, outsider];
    await Promise.all(nodes.map((node) => node.mesh.start()));
    await waitFor('the two good nodes pair', () => good.every((node) => node.mesh.upPeers().length === 1));
    // The outsider also knows a good node's address directly and keeps trying.
    const outsider2 = makeNode(undefined, { key: parseMeshKey('pmk1-' + Buffer.alloc(32, 1).toString('base64url')), staticPeers: [good[0]!.mesh.listenAddress] });
    nodes.push(outsider2);
    await outsider2.mesh.start();
    // The refusals seen (beacons both ways between the outsider and the good nodes, outsider2's
    // handshake), then: none of those attempts made a session.
    const rejectedBeacons = (node: TestNode) => node.mesh.stats().counters['discovery.rejected.bad-hmac'] ?? 0;
    await waitFor('the outsider and a good node refuse each other beacons', () => rejectedBeacons(outsider) > 0 && rejectedBeacons(good[0]!) > 0);
    await waitFor('outsider2 handshake refused', () => (outsider2.mesh.stats().counters['session.closed.handshake-failed'] ?? 0) > 0);
    assert.equal(outsider.mesh.upPeers().length, 0);
    assert.equal(outsider2.mesh.upPeers().length, 0);
    assert.ok(good.every((node) => node.mesh.upPeers().length === 1));
    assert.ok((good[0]!.mesh.stats().counters['discovery.rejected.bad-hmac'] ?? 0) > 0);
    assert.ok((outsider2.mesh.stats().counters['session.closed.handshake-failed'] ?? 0) > 0);
  });

  it('ignores a replayed captured beacon', async () => {
    const port = freshPort();
    nodes = [makeNode(port), makeNode(port)];
    const spy = createSocket({ type: 'udp4', reuseAddr: true });
    const captured: Buffer[] = [];
    await new Promise<void>((resolve) => spy.bind(port, resolve));
    spy.setMulticastInterface('127.0.0.1');
    spy.addMembership(group, '127.0.0.1');
    spy.setMulticastLoopback(true);
    spy.setMulticastTTL(1);
    spy.on('message', (datagram) => {
      if (datagram[0] === DatagramKind.beacon) captured.push(datagram);
    });
    try {
      await nodes[0]!.mesh.start();
      await waitFor('a captured beacon', () => captured.length > 0);
      const fromA = captured.slice(); // only node 0 runs yet
      await nodes[1]!.mesh.start();
      await waitFor('pair up', () => nodes[1]!.mesh.upPeers().length === 1);
      // Replays are told by a later counter: node 1 must have heard a fresh beacon of node 0 first.
      await waitFor('a fresh beacon of node 0 heard', () => (nodes[1]!.mesh.stats().counters['discovery.beacon.accepted'] ?? 0) > 0);
      const before = nodes[1]!.mesh.stats().counters['discovery.rejected.replay'] ?? 0;
      for (const datagram of fromA) spy.send(datagram, port, group);
      await waitFor('replays counted', () => (nodes[1]!.mesh.stats().counters['discovery.rejected.replay'] ?? 0) >= before + fromA.length);
      assert.equal(nodes[1]!.mesh.upPeers().length, 1);
    } finally {
      await new Promise<void>((resolve) => spy.close(() => resolve()));
    }
  });

  it('refuses a remote command outside the allow-list and answers allowed ones', async () => {
    const port = freshPort();
    nodes = [makeNode(port), makeNode(port)];
    const [a, b] = nodes as [TestNode, TestNode];
    let secretRuns = 0;
    b.mesh.registerMethod('rooms.list', () => ['lobby'], { idempotent: true });
    b.mesh.registerMethod('debug.dump', () => ++secretRuns);
    await Promise.all(nodes.map((node) => node.mesh.start()));
    await waitFor('pair up', () => a.mesh.upPeers().length === 1 && b.mesh.upPeers().length === 1);
    assert.deepEqual(await a.mesh.call(b.mesh.nodeId, 'rooms.list', {}), ['lobby']);
    assert.deepEqual(((await a.mesh.call(b.mesh.nodeId, 'node.info')) as { nodeId: string }).nodeId, b.mesh.nodeId);
    await assert.rejects(a.mesh.call(b.mesh.nodeId, 'debug.dump', {}), (error: RemoteCallError) => error.code === rpcNotAllowedCode && /not allowed/.test(error.message));
    assert.equal(secretRuns, 0);
    b.mesh.allowMethods(a.mesh.nodeId, ['debug.dump']);
    assert.equal(await a.mesh.call(b.mesh.nodeId, 'debug.dump', {}), 1);
  });

  it('a stopped and restarted node (same identity) rejoins; the others see peer.down then peer.up', async () => {
    const port = freshPort();
    nodes = [makeNode(port), makeNode(port), makeNode(port)];
    await Promise.all(nodes.map((node) => node.mesh.start()));
    await waitFor('all up', () => nodes.every((node) => node.mesh.upPeers().length === 2));
    const leaving = nodes[2]!;
    const events: string[][] = [[], []];
    for (const i of [0, 1]) {
      nodes[i]!.mesh.on('peer.down', (p) => p.nodeId === leaving.mesh.nodeId && events[i]!.push(`down:${p.reason}`));
      nodes[i]!.mesh.on('peer.up', (p) => p.nodeId === leaving.mesh.nodeId && events[i]!.push('up'));
    }
    await leaving.mesh.stop();
    await waitFor('down seen', () => events.every((list) => list.length === 1));
    const again = makeNode(port, { identity: leaving.identity, name: 'again' });
    nodes[2] = again;
    await again.mesh.start();
    await waitFor('up again', () => events.every((list) => list.length === 2) && again.mesh.upPeers().length === 2);
    for (const list of events) {
      assert.match(list[0]!, /^down:/);
      assert.equal(list[1], 'up');
    }
    assert.equal(nodes[0]!.mesh.peers().find((p) => p.nodeId === leaving.mesh.nodeId)?.name, 'again');
  });

  it('the fast lane reaches every node with one multicast datagram, and falls back to sessions without multicast', async () => {
    const port = freshPort();
    const multicast = [makeNode(port), makeNode(port), makeNode(port)];
    nodes = [...multicast];
    const got = multicast.map(() => [] as MeshMessage[]);
    multicast.forEach((node, i) => node.mesh.subscribe('/presence/', (m) => got[i]!.push(m)));
    await Promise.all(nodes.map((node) => node.mesh.start()));
    await waitFor('all up', () => multicast.every((node) => node.mesh.upPeers().length === 2));
    await settled(multicast);
    for (let i = 0; i < 20; i++) multicast[0]!.mesh.publish('/presence/typing', { i });
    await waitFor('fast lane delivery', () => got[1]!.length === 20 && got[2]!.length === 20);
    assert.equal(got[1]![0]!.lane, 'fast');
    assert.equal(multicast[0]!.mesh.stats().counters['fast.sent'], 20);
    assert.equal(multicast[1]!.mesh.stats().fastLane.lost, 0);

    // Static peers only: no multicast, the fast lane goes over the session.
    const s1 = makeNode(undefined);
    await s1.mesh.start();
    const s2 = makeNode(undefined, { staticPeers: [s1.mesh.listenAddress] });
    nodes.push(s1, s2);
    const staticGot: MeshMessage[] = [];
    s1.mesh.subscribe('/presence/', (m) => staticGot.push(m));
    await s2.mesh.start();
    await waitFor('static pair up', () => s1.mesh.upPeers().length === 1 && s2.mesh.upPeers().length === 1);
    // s2 sends the fallback only to peers subscribed to it: s1's subscription came in its hello.
    await settled([s1, s2]);
    s2.mesh.publish('/presence/typing', { x: 1 });
    await waitFor('fallback delivery', () => staticGot.length === 1);
    assert.equal(staticGot[0]!.lane, 'fast');
    assert.equal(s2.mesh.stats().counters['fast.fallback'], 1);
  });

  it('forwards through a shared peer when two nodes cannot connect directly', async () => {
    // a — b — c with trusted lists that forbid a–c sessions; no multicast.
    const b = makeNode(undefined, { name: 'b' });
    await b.mesh.start();
    const aIdentity = makeNode(undefined).identity;
    const cIdentity = makeNode(undefined).identity;
    const a = makeNode(undefined, { name: 'a', identity: aIdentity, staticPeers: [b.mesh.listenAddress], trustedNodes: [b.mesh.nodeId] });
    const c = makeNode(undefined, { name: 'c', identity: cIdentity, staticPeers: [b.mesh.listenAddress], trustedNodes: [b.mesh.nodeId] });
    nodes = [a, b, c];
    const got: MeshMessage[] = [];
    c.mesh.subscribe('/chat/', (m) => got.push(m));
    b.mesh.subscribe('/chat/', () => undefined);
    await a.mesh.start();
    await c.mesh.start();
    await waitFor('b has both', () => b.mesh.upPeers().length === 2);
    // Peer exchange: b's list of neighbours (which names the other) has reached a and c. The
    // subscriptions came in the hellos.
    const knows = (node: TestNode, other: TestNode) => node.mesh.peers().some((peer) => peer.nodeId === other.mesh.nodeId);
    await waitFor("b's peer exchange read by a and c", () => knows(a, c) && knows(c, a));
    a.mesh.publish('/chat/room/r/events/message', { text: 'via b' });
    await waitFor('forwarded', () => got.length === 1);
    assert.equal(got[0]!.from, a.mesh.nodeId);
    assert.equal(a.mesh.upPeers().length, 1);
    assert.ok((b.mesh.stats().counters['router.forwarded'] ?? 0) >= 1);
    // Remote commands are relayed too.
    assert.deepEqual(((await a.mesh.call(c.mesh.nodeId, 'ping')) as { pong: boolean }).pong, true);
  });

  it('a peer whose clock is 90 s ahead is warned about on both sides (log and peer.clock), with its offset in the peer table', async () => {
    const ahead = { ...systemClock, now: () => Date.now() + 90_000 };
    const a = makeNode(undefined, { name: 'on-time' });
    nodes = [a];
    const seen: { at: string; offsetMs: number; skewed: boolean }[] = [];
    a.mesh.on('peer.clock', (e) => seen.push({ at: 'a', offsetMs: e.offsetMs, skewed: e.skewed }));
    await a.mesh.start();
    const b = makeNode(undefined, { name: 'fast-clock', clock: ahead, staticPeers: [a.mesh.listenAddress] });
    nodes.push(b);
    b.mesh.on('peer.clock', (e) => seen.push({ at: 'b', offsetMs: e.offsetMs, skewed: e.skewed }));
    await b.mesh.start();
    await waitFor('both sides warned', () => seen.some((e) => e.at === 'a') && seen.some((e) => e.at === 'b'), 15_000);
    const fromA = seen.find((e) => e.at === 'a')!;
    const fromB = seen.find((e) => e.at === 'b')!;
    assert.ok(fromA.skewed && Math.abs(fromA.offsetMs - 90_000) < 2000, JSON.stringify(fromA));
    assert.ok(fromB.skewed && Math.abs(fromB.offsetMs + 90_000) < 2000, JSON.stringify(fromB));
    assert.ok(a.log.messages('warn').some((line) => /the clock of fast-clock is 9\d s ahead of this machine's/.test(line)), a.log.messages('warn').join('\n'));
    assert.ok(Math.abs(a.mesh.peers().find((p) => p.name === 'fast-clock')!.clockOffsetMs! - 90_000) < 2000);
    // Once it leaves, the warning is withdrawn.
    await b.mesh.stop();
    await waitFor('the warning withdrawn', () => seen.some((e) => e.at === 'a' && !e.skewed), 10_000);
  });
});
