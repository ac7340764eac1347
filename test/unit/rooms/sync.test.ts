import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compareMessages, type ChatMessage } from '../../../protocol/rooms';
import { fullHistory, TestMesh, type TestNode } from './support';

const ids = ['A', 'B', 'C'];

function assertConverged(nodes: TestNode[], roomId = 'general'): ChatMessage[] {
  const histories = nodes.map((node) => fullHistory(node.rooms, roomId, 13) as ChatMessage[]);
  for (const [index, history] of histories.entries()) {
    assert.deepEqual(history, histories[0], `node ${nodes[index]!.id} has the same history as ${nodes[0]!.id}`);
    for (let i = 1; i < history.length; i++) assert.ok(compareMessages(history[i - 1]!, history[i]!) < 0, 'sorted by compareMessages');
    assert.deepEqual(nodes[index]!.rooms.gaps(roomId), []);
  }
  const summaries = nodes.map((node) => node.rooms.log.summary([roomId]));
  for (const summary of summaries) assert.deepEqual(summary, summaries[0]);
  return histories[0]!;
}

describe('rooms/sync (anti-entropy)', () => {
  let mesh: TestMesh;
  afterEach(async () => {
    await mesh.close();
  });

  it('a node that was away catches up in bounded batches, and so does its peer', async () => {
    mesh = new TestMesh({ sync: { intervalMs: 0, maxBatchEvents: 25 } });
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    mesh.hub.partition(['A'], ['B']);
    for (let i = 0; i < 55; i++) a.rooms.send({ roomId: 'general', text: `a${i}` }, { participantId: `p${i % 2}`, displayName: 'P', kind: 'persona' });
    for (let i = 0; i < 7; i++) b.rooms.send({ roomId: 'general', text: `b${i}` });
    const received: ChatMessage[] = [];
    b.rooms.on('message', (m) => received.push(m));
    mesh.hub.healAll();
    mesh.settle();
    const largest = b.rooms.syncStats!.eventsReceived;
    const history = assertConverged([a, b]);
    assert.equal(history.length, 62);
    assert.equal(received.length, 55);
    assert.ok(largest >= 55);
    // 55 events + 2 joined = 57 → three batches of at most 25, then an empty answer is not needed.
    assert.ok(a.rooms.syncStats!.batchesServed >= 3);
  });

  it('a gap seen in live traffic triggers a pull from the sender', async () => {
    mesh = new TestMesh();
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    b.transport.dropTopic = (topic) => topic.endsWith('/message');
    a.rooms.send({ roomId: 'general', text: 'lost 1' });
    a.rooms.send({ roomId: 'general', text: 'lost 2' });
    mesh.hub.flush();
    b.transport.dropTopic = undefined;
    a.rooms.send({ roomId: 'general', text: 'arrives' });
    mesh.hub.flush();
    assert.equal(b.rooms.gaps('general').length, 1);
    mesh.clock.advance(300);
    mesh.hub.flush();
    assert.deepEqual(b.rooms.gaps('general'), []);
    assert.deepEqual(fullHistory(b.rooms, 'general').map((m) => (m as ChatMessage).text), ['lost 1', 'lost 2', 'arrives']);
  });

  it('a batch above a gap the peer shares still ends the chain (no endless re-requests)', async () => {
    mesh = new TestMesh({ sync: { intervalMs: 0, maxBatchEvents: 5 } });
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    // B holds A's events with a hole it cannot fill (A is away); C knows only what B has.
    b.transport.dropTopic = (topic) => topic.endsWith('/message');
    a.rooms.send({ roomId: 'general', text: 'hole' });
    mesh.hub.flush();
    b.transport.dropTopic = undefined;
    for (let i = 0; i < 12; i++) a.rooms.send({ roomId: 'general', text: `after ${i}` });
    mesh.hub.flush();
    mesh.hub.detach('A');
    await a.rooms.stop();
    const c = await mesh.add('C');
    mesh.settle();
    assert.equal(c.rooms.history({ roomId: 'general', limit: 50 }).messages.length, 12);
    assert.ok(b.rooms.syncStats!.batchesServed < 20, `bounded: ${b.rooms.syncStats!.batchesServed} batches`);
    assert.deepEqual(c.rooms.gaps('general'), [{ origin: 'A', from: 2, to: 2 }]);
  });

  it('an unanswered pull is asked again at once, not at the next periodic sync', async () => {
    mesh = new TestMesh({ sync: { intervalMs: 0 } });
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    mesh.hub.partition(['A'], ['B']);
    for (let i = 0; i < 3; i++) a.rooms.send({ roomId: 'general', text: `while apart ${i}` });
    // The first pull B sends after the heal is lost on the way.
    let lost = 0;
    const isPull = (body: unknown) => (body as { kind?: string }).kind === 'summary';
    a.transport.dropTopic = (topic, body) => topic === '/chat/sync/A' && isPull(body) && lost++ === 0;
    mesh.hub.healAll();
    mesh.hub.flush();
    assert.equal(lost, 1);
    assert.equal(b.rooms.history({ roomId: 'general', limit: 10 }).messages.length, 0);
    mesh.clock.advance(2000);
    mesh.hub.flush();
    assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text), ['while apart 0', 'while apart 1', 'while apart 2']);
    assert.equal(b.rooms.syncStats!.pullsTimedOut, 1);
    // Asked again and answered: the next wait starts from 2 s again.
    a.transport.dropTopic = (topic, body) => topic === '/chat/sync/A' && isPull(body);
    b.rooms.syncNow('A');
    mesh.clock.advance(2000);
    assert.equal(b.rooms.syncStats!.pullsTimedOut, 2);
    mesh.clock.advance(3999);
    assert.equal(b.rooms.syncStats!.pullsTimedOut, 2, 'the second retry waits 4 s');
    mesh.clock.advance(1);
    assert.equal(b.rooms.syncStats!.pullsTimedOut, 3);
  });

  it('a gap seen while a pull is in flight pulls again when that pull ends', async () => {
    mesh = new TestMesh({ sync: { intervalMs: 0 } });
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    // A's answer to B's pull is overtaken by live chat (it travels as bulk).
    b.transport.holdTopic = (topic) => topic === '/chat/sync/B';
    b.rooms.syncNow('A');
    mesh.hub.flush();
    b.transport.dropTopic = (topic) => topic.endsWith('/message');
    a.rooms.send({ roomId: 'general', text: 'lost live' });
    mesh.hub.flush();
    b.transport.dropTopic = undefined;
    a.rooms.send({ roomId: 'general', text: 'above the gap' });
    mesh.hub.flush();
    assert.equal(b.rooms.gaps('general').length, 1);
    b.transport.holdTopic = undefined;
    b.transport.releaseHeld();
    mesh.hub.flush();
    assert.deepEqual(b.rooms.gaps('general'), []);
    assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text), ['lost live', 'above the gap']);
  });

  it('periodic sync repairs what was missed without a reconnect', async () => {
    mesh = new TestMesh({ sync: { intervalMs: 5000 } });
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    b.transport.dropTopic = (topic) => topic.startsWith('/chat/room/');
    a.rooms.send({ roomId: 'general', text: 'missed' });
    mesh.hub.flush();
    b.transport.dropTopic = undefined;
    assert.equal(b.rooms.history({ roomId: 'general', limit: 5 }).messages.length, 0);
    mesh.clock.advance(11_000);
    mesh.hub.flush();
    assert.equal(b.rooms.history({ roomId: 'general', limit: 5 }).messages.length, 1);
  });

  it('3 nodes converge after random interleavings, partitions and restarts (property)', async () => {
    const action = fc.oneof(
      { weight: 6, arbitrary: fc.record({ t: fc.constant('send' as const), node: fc.nat(2), persona: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('edit' as const), node: fc.nat(2) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('react' as const), node: fc.nat(2), pick: fc.nat(), add: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), node: fc.nat(2) }) },
      { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 8 }), picks: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('cut' as const), node: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('heal' as const) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), node: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 5000 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('join' as const), node: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('leave' as const), node: fc.nat(2) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('sendDev' as const), node: fc.nat(2) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -30_000, max: 30_000 }), { minLength: 3, maxLength: 3 }), fc.array(action, { minLength: 5, maxLength: 60 }), async (skews, actions) => {
        mesh = new TestMesh();
        try {
          for (const [i, id] of ids.entries()) await mesh.add(id, skews[i]);
          const sent = new Set<string>();
          const devSent = new Set<string>();
          const node = (i: number) => mesh.node(ids[i]!);
          const lastOwn = (n: TestNode) => fullHistory(n.rooms, 'general').reverse().find((m) => (m as ChatMessage).author.nodeId === n.id && (m as ChatMessage).author.participantId === 'user' && !(m as ChatMessage).deleted) as ChatMessage | undefined;
          for (const a of actions) {
            switch (a.t) {
              case 'send': {
                const m = node(a.node).rooms.send({ roomId: 'general', text: `from ${a.node}` }, a.persona ? { participantId: 'bot', displayName: 'Bot', kind: 'persona' } : undefined);
                sent.add(m.id);
                break;
              }
              case 'edit': {
                const own = lastOwn(node(a.node));
                if (own) node(a.node).rooms.edit('general', own.id, `${own.text} (edited)`);
                break;
              }
              case 'delete': {
                const own = lastOwn(node(a.node));
                if (own) node(a.node).rooms.delete('general', own.id);
                break;
              }
              case 'react': {
                const visible = node(a.node).rooms.history({ roomId: 'general', limit: 500 }).messages.filter((m) => !m.deleted);
                const target = visible[a.pick % Math.max(1, visible.length)];
                if (target) node(a.node).rooms.react('general', target.id, '👍', a.add);
                break;
              }
              case 'deliver':
                for (let i = 0; i < a.count; i++) mesh.hub.deliverNext((n) => a.picks[i]! % n);
                break;
              case 'cut':
                mesh.hub.partition([ids[a.node]!], ids.filter((_, i) => i !== a.node));
                break;
              case 'heal':
                mesh.hub.healAll();
                break;
              case 'restart':
                await mesh.restart(ids[a.node]!);
                break;
              case 'tick':
                mesh.clock.advance(a.ms);
                break;
              case 'join':
                node(a.node).rooms.join('dev');
                break;
              case 'leave':
                if (node(a.node).rooms.list().some((r) => r.id === 'dev' && r.joined)) node(a.node).rooms.leave('dev');
                break;
              case 'sendDev':
                if (node(a.node).rooms.list().some((r) => r.id === 'dev' && r.joined)) devSent.add(node(a.node).rooms.send({ roomId: 'dev', text: 'dev' }).id);
                break;
            }
          }
          mesh.hub.healAll();
          mesh.settle();
          const nodes = ids.map((id) => mesh.node(id));
          for (const n of nodes) n.rooms.join('dev');
          mesh.settle();
          const dev = assertConverged(nodes, 'dev').map((m) => m.id);
          assert.deepEqual([...devSent].sort(), [...dev].sort(), 'every dev message, once');
          const participants = nodes.map((n) => n.rooms.participants('dev').map((p) => p.nodeId).sort());
          for (const list of participants) assert.deepEqual(list, ['A', 'B', 'C']);
          const history = assertConverged(nodes);
          const seen = history.map((m) => m.id);
          assert.equal(new Set(seen).size, seen.length, 'nothing doubled');
          for (const id of sent) assert.ok(seen.includes(id), `message ${id} was not lost`);
          assert.equal(seen.length, sent.size);
        } finally {
          await mesh.close();
        }
      }),
      { numRuns: 40 },
    );
    mesh = new TestMesh();
  });
});

describe('rooms/sync (joins during a pull)', () => {
  it('a room joined while a pull is in flight is fetched when that pull ends', async () => {
    const mesh = new TestMesh();
    try {
      const a = await mesh.add('A');
      const b = await mesh.add('B');
      mesh.settle();
      a.rooms.join('later');
      a.rooms.send({ roomId: 'later', text: 'history of later' });
      mesh.settle();
      b.rooms.syncNow('A'); // a pull in flight (general only)
      b.rooms.join('later'); // asks again while it is in flight
      mesh.settle();
      assert.deepEqual(b.rooms.history({ roomId: 'later', limit: 5 }).messages.map((m) => m.text), ['history of later']);
    } finally {
      await mesh.close();
    }
  });
});
