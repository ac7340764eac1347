import assert from 'node:assert/strict';
import { decodeSessionMessage } from '../../../server/src/net/codec';
import { Counters } from '../../../server/src/net/counters';
import { Router } from '../../../server/src/net/router';
import type { InboundLimit } from '../../../server/src/net/inboundLimits';
import { MemoryLog, silentLogger, type Logger } from '../../../server/src/kernel/log';
import type { Envelope, SessionMessage } from '../../../protocol/mesh';
import { FakeClock } from './support/fakeClock';

const id = (c: string) => c.repeat(52);

/** Routers wired by a synchronous in-memory link graph. */
function mesh(edges: [string, string][], extra: { inboundLimits?: InboundLimit[]; logger?: Logger } = {}) {
  const clock = new FakeClock();
  const routers = new Map<string, Router>();
  const neighbors = (n: string) => edges.flatMap(([x, y]) => (x === n ? [y] : y === n ? [x] : []));
  const queue: [string, string, Buffer][] = [];
  for (const name of new Set(edges.flat())) {
    routers.set(name, new Router({
      nodeId: name,
      clock,
      counters: new Counters(),
      logger: extra.logger ?? silentLogger,
      ...(extra.inboundLimits ? { inboundLimits: extra.inboundLimits } : {}),
      links: {
        upPeers: () => neighbors(name),
        isUp: (n) => neighbors(name).includes(n),
        sendEncoded: (to, bytes) => (queue.push([name, to, bytes]), true),
      },
    }));
  }
  for (const [name, router] of routers) {
    for (const peer of neighbors(name)) router.setPeerNeighbors(peer, neighbors(peer));
  }
  const pump = () => {
    for (let guard = 0; guard < 10_000 && queue.length > 0; guard++) {
      const [from, to, bytes] = queue.shift()!;
      const decoded = decodeSessionMessage(bytes);
      assert.ok(decoded.ok);
      routers.get(to)!.receive(from, (decoded.value as Extract<SessionMessage, { t: 'env' }>).e);
    }
  };
  const subscribeAll = (prefix: string, sink: Map<string, Envelope[]>) => {
    for (const [name, router] of routers) {
      sink.set(name, []);
      router.subscribe(prefix, (e) => sink.get(name)!.push(e));
      for (const peer of neighbors(name)) routers.get(peer)!.updatePeerSubs(name, [prefix], []);
    }
  };
  return { routers, pump, subscribeAll, queue, clock };
}

describe('net/router', () => {
  it('sends only to subscribed peers and delivers to matching prefixes', () => {
    const { routers, pump } = mesh([[id('A'), id('B')], [id('A'), id('C')]]);
    const got: string[] = [];
    routers.get(id('B'))!.subscribe('/chat/', (e) => got.push(`B ${e.topic}`));
    routers.get(id('A'))!.setPeerSubs(id('B'), ['/chat/']);
    routers.get(id('A'))!.setPeerSubs(id('C'), ['/genome/']);
    const a = routers.get(id('A'))!;
    assert.equal(a.publish(a.createEnvelope('event', '/chat/room/x/events/m', 1), 'chat'), 1);
    assert.equal(a.publish(a.createEnvelope('event', '/academy/x', 1), 'chat'), 0);
    pump();
    assert.deepEqual(got, ['B /chat/room/x/events/m']);
  });

  it('forwards along a line with a hop limit, exactly once, in order', () => {
    const [A, B, C, D] = [id('A'), id('B'), id('C'), id('D')];
    const { routers, pump, subscribeAll } = mesh([[A, B], [B, C], [C, D]]);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/chat/', sink);
    const a = routers.get(A)!;
    for (let i = 0; i < 5; i++) a.publish(a.createEnvelope('event', '/chat/m', i), 'chat');
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body), [0, 1, 2, 3, 4]);
    assert.deepEqual(sink.get(C)!.map((e) => e.body), [0, 1, 2, 3, 4]);
    // Default hop limit 3: A→B→C→D reaches D with hops 1.
    assert.deepEqual(sink.get(D)!.map((e) => e.body), [0, 1, 2, 3, 4]);
  });

  it('in a full mesh nothing is forwarded and each node gets each envelope once', () => {
    const names = ['A', 'B', 'C', 'D', 'E'].map(id);
    const edges: [string, string][] = [];
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) edges.push([names[i]!, names[j]!]);
    const { routers, pump, subscribeAll } = mesh(edges);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/chat/', sink);
    const a = routers.get(names[0]!)!;
    a.publish(a.createEnvelope('event', '/chat/m', 'x'), 'chat');
    pump();
    for (const name of names.slice(1)) assert.equal(sink.get(name)!.length, 1);
    assert.equal(sink.get(names[0]!)!.length, 0);
  });

  it('keeps one order per priority class: chat that overtakes queued bulk loses nothing, a late one within a class is dropped', () => {
    const [A, B] = [id('A'), id('B')];
    const { routers, pump, subscribeAll, queue } = mesh([[A, B]]);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/', sink);
    const a = routers.get(A)!;
    a.publish(a.createEnvelope('event', '/genome/piece/x', 'piece 1'), 'bulk');
    a.publish(a.createEnvelope('event', '/genome/piece/x', 'piece 2'), 'bulk');
    a.publish(a.createEnvelope('event', '/chat/m', 'chat 3'), 'chat');
    // The session writes chat before the bulk queued earlier.
    queue.unshift(queue.pop()!);
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body), ['chat 3', 'piece 1', 'piece 2']);
    assert.deepEqual(sink.get(B)!.map((e) => e.prio), [undefined, 'bulk', 'bulk']);
    // Within one class a lower seq after a higher one is still late (e.g. after a route change).
    a.publish(a.createEnvelope('event', '/genome/piece/x', 'piece 4'), 'bulk');
    a.publish(a.createEnvelope('event', '/genome/piece/x', 'piece 5'), 'bulk');
    queue.reverse();
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body).slice(3), ['piece 5']);
  });

  it('delivers a room event that comes after a later one (another route), once; other chat-class topics still drop it as late', () => {
    const [A, B] = [id('A'), id('B')];
    const { routers, pump, subscribeAll, queue } = mesh([[A, B]]);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/', sink);
    const a = routers.get(A)!;
    const b = routers.get(B)!;
    const first = a.createEnvelope('event', '/chat/room/general/events/message', 'room 1');
    const second = a.createEnvelope('event', '/chat/room/general/events/message', 'room 2');
    a.publish(first, 'chat');
    a.publish(second, 'chat');
    queue.reverse();
    // Between the two copies, an IHAVE of the first must still draw a GRAFT: it was not seen.
    const [later, earlier] = queue.splice(0, 2);
    queue.push(later!);
    pump();
    assert.equal(b.seenBroadcast(A, Router.broadcastId(first)), false);
    queue.push(earlier!, earlier!);
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body), ['room 2', 'room 1']);
    assert.equal(b.seenBroadcast(A, Router.broadcastId(first)), true);
    assert.equal(Router.broadcastId(first), `${first.seq}/u`);

    a.publish(a.createEnvelope('event', '/genome/announce', 'genomes 1'), 'chat');
    a.publish(a.createEnvelope('event', '/genome/announce', 'genomes 2'), 'chat');
    queue.reverse();
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body).slice(2), ['genomes 2']);
  });

  it('in a square each node gets each envelope once (one designated forwarder)', () => {
    const [A, B, C, D] = [id('A'), id('B'), id('C'), id('D')];
    const { routers, pump, subscribeAll } = mesh([[A, B], [A, C], [B, D], [C, D]]);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/chat/', sink);
    const a = routers.get(A)!;
    a.publish(a.createEnvelope('event', '/chat/m', 'x'), 'chat');
    pump();
    assert.equal(sink.get(D)!.length, 1);
  });

  it('relays an addressed envelope through a neighbour of the destination', () => {
    const [A, B, C] = [id('A'), id('B'), id('C')];
    const { routers, pump } = mesh([[A, B], [B, C]]);
    const got: Envelope[] = [];
    routers.get(C)!.on('addressed', (e) => got.push(e));
    const a = routers.get(A)!;
    assert.equal(a.sendAddressed(a.createEnvelope('rpc', `/remote/${C}/commands/ping`, {}, C)), true);
    pump();
    assert.equal(got.length, 1);
    // No route to Z: flooded once along the line, each relay passing it on once, and it ends.
    assert.equal(a.sendAddressed(a.createEnvelope('rpc', '/remote/x', {}, id('Z'))), true);
    pump();
    assert.equal(got.length, 1, 'C did not take what was for Z');
    const c = routers.get(C)!;
    assert.equal(c.sendAddressed(c.createEnvelope('rpc', '/remote/x', {}, id('Z')), 'control', B), false, 'nowhere to go but back where it came from');
  });

  it('notes when each origin was heard, and its hops when relayed (2 through one relay, also for addressed envelopes; none over its own session)', () => {
    const [A, B, C] = [id('A'), id('B'), id('C')];
    const { routers, pump, subscribeAll, clock } = mesh([[A, B], [B, C]]);
    subscribeAll('/chat/', new Map());
    const [a, c] = [routers.get(A)!, routers.get(C)!];
    clock.advance(1000);
    c.publish(c.createEnvelope('event', '/chat/m', 'x'), 'chat');
    pump();
    assert.deepEqual({ ...a.heard.get(C) }, { at: clock.monotonic(), relayedAt: clock.monotonic(), hops: 2, via: B });
    assert.equal(a.heard.get(B), undefined, 'B relayed but sent nothing of its own');
    const b = routers.get(B)!;
    b.publish(b.createEnvelope('event', '/chat/m', 'y'), 'chat');
    pump();
    assert.deepEqual({ ...a.heard.get(B) }, { at: clock.monotonic(), relayedAt: -Infinity, hops: 0, via: undefined }, 'over its own session: heard, no relay');
    clock.advance(1000);
    c.sendAddressed(c.createEnvelope('rpc', `/remote/${A}/commands/ping`, {}, A));
    pump();
    assert.equal(a.heard.get(C)!.at, clock.monotonic());
    assert.equal(a.heard.get(C)!.hops, 2);
    assert.deepEqual([...a.heard.entries()].map(([origin]) => origin).sort(), [B, C]);
    a.heard.forget(C);
    assert.equal(a.heard.get(C), undefined);
  });

  it('delivers an addressed event that arrives after a later envelope of its sender (a sync request is never "late")', () => {
    const [A, B] = [id('A'), id('B')];
    const { routers, pump, subscribeAll, queue } = mesh([[A, B]]);
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/', sink);
    const a = routers.get(A)!;
    // The request is created first but reaches B after a chat event created later (another route).
    assert.equal(a.sendAddressed(a.createEnvelope('event', `/chat/sync/${B}`, 'pull', B), 'chat'), true);
    a.publish(a.createEnvelope('event', '/chat/room/x/events/message', 'chat'), 'chat');
    queue.reverse();
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body), ['chat', 'pull']);
    // A copy of it (a relay) is still a duplicate.
    assert.equal(a.sendAddressed(a.createEnvelope('event', `/chat/sync/${B}`, 'pull 2', B), 'chat'), true);
    queue.push(queue[0]!);
    pump();
    assert.deepEqual(sink.get(B)!.map((e) => e.body), ['chat', 'pull', 'pull 2']);
  });

  it('an origin over its budget for a topic family is neither delivered nor forwarded; other families and origins pass; the log says so once a minute', () => {
    const [A, B, C, D] = [id('A'), id('B'), id('C'), id('D')];
    const log = new MemoryLog();
    // A line: B forwards A's and D's events to C.
    const { routers, pump, subscribeAll, clock } = mesh([[A, B], [B, C], [D, B]], { inboundLimits: [{ prefix: '/chat/room/', perMinute: 60, burst: 5 }], logger: log.logger });
    const sink = new Map<string, Envelope[]>();
    subscribeAll('/', sink);
    const a = routers.get(A)!;
    const d = routers.get(D)!;
    for (let i = 0; i < 50; i++) a.publish(a.createEnvelope('event', '/chat/room/x/events/message', i), 'chat');
    a.publish(a.createEnvelope('event', '/academy/signals', 'signal'), 'chat');
    d.publish(d.createEnvelope('event', '/chat/room/x/events/message', 'honest'), 'chat');
    pump();
    const fromA = (node: string) => sink.get(node)!.filter((e) => e.origin === A).map((e) => e.body);
    assert.deepEqual(fromA(B), [0, 1, 2, 3, 4, 'signal']);
    assert.deepEqual(fromA(C), [0, 1, 2, 3, 4, 'signal'], 'the excess is not forwarded either');
    assert.deepEqual(sink.get(C)!.filter((e) => e.origin === D).map((e) => e.body), ['honest']);
    assert.deepEqual(log.messages('warn'), [`dropped 1 envelope on /chat/room/ from ${A.slice(0, 7)}: over its limit of 60 a minute`]);
    // A second later one more token; the next report comes a minute after the first.
    clock.advance(1000);
    for (let i = 50; i < 60; i++) a.publish(a.createEnvelope('event', '/chat/room/x/events/message', i), 'chat');
    pump();
    assert.deepEqual(fromA(B).slice(6), [50]);
    assert.equal(log.messages('warn').length, 1);
    clock.advance(60_000);
    a.publish(a.createEnvelope('event', '/chat/room/x/events/message', 'after'), 'chat');
    a.publish(a.createEnvelope('event', '/chat/room/x/events/message', 'after 2'), 'chat');
    pump();
    assert.equal(log.messages('warn').length, 1, 'tokens are back: nothing dropped, nothing to report');
  });
});
