import { strict as assert } from 'node:assert';
import { topics } from '../../../protocol/mesh';
import { compareMessages, roomLimits, type RoomEvent, type RoomSummary, type TypingEvent } from '../../../protocol/rooms';
import { ServiceError } from '../../../protocol/errors';
import { fullHistory, TestMesh } from './support';

function expectRoomError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ServiceError, `expected a ServiceError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

describe('rooms/Rooms', () => {
  let mesh: TestMesh;
  beforeEach(() => {
    mesh = new TestMesh();
  });
  afterEach(async () => {
    await mesh.close();
  });

  it('starts in `general`, joined, with its human as participant; a restart does not join again', async () => {
    const a = await mesh.add('A');
    const [general] = a.rooms.list();
    assert.equal(general!.id, 'general');
    assert.equal(general!.joined, true);
    assert.deepEqual(general!.participants.map((p) => [p.participantId, p.presence]), [['user', 'online']]);
    await mesh.restart('A');
    const again = mesh.node('A');
    const events = again.db.prepare("SELECT count(*) AS n FROM room_events WHERE type = 'joined'").get() as { n: number };
    assert.equal(events.n, 1);
  });

  it('sends, edits, reacts and deletes across nodes; only the author may edit or delete', async () => {
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    const sent = a.rooms.send({ roomId: 'general', text: 'hello **mesh**', mentions: ['B/user'] });
    assert.equal(sent.id, `A:${sent.roomSeq}`);
    mesh.settle();
    assert.equal(b.rooms.message('general', sent.id)!.text, 'hello **mesh**');

    expectRoomError(() => b.rooms.edit('general', sent.id, 'mine now'), 'not-author', /only the author can edit this message \(it was written by A-human\)/);
    expectRoomError(() => b.rooms.delete('general', sent.id), 'not-author', /only the author can delete/);

    b.rooms.react('general', sent.id, '👍', true);
    a.rooms.edit('general', sent.id, 'hello, edited');
    mesh.settle();
    for (const node of [a, b]) {
      const message = node.rooms.message('general', sent.id)!;
      assert.equal(message.text, 'hello, edited');
      assert.deepEqual(message.reactions, { '👍': ['B/user'] });
      assert.ok(message.editedAt);
    }
    a.rooms.delete('general', sent.id);
    mesh.settle();
    assert.equal(b.rooms.message('general', sent.id)!.deleted, true);
    assert.equal(b.rooms.message('general', sent.id)!.text, '');
  });

  it('refuses forged events from a remote node: edits of others, and authors of other nodes', async () => {
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    const evil = mesh.hub.attach('M');
    mesh.settle();
    const sent = a.rooms.send({ roomId: 'general', text: 'original' });
    mesh.settle();
    const refusals: string[] = [];
    b.rooms.on('refused', ({ reason }) => refusals.push(reason));
    const forge = (roomSeq: number, body: RoomEvent['body']): RoomEvent => ({ roomId: 'general', origin: 'M', roomSeq, hlc: { wall: Date.now(), logical: 0 }, body });
    const mallory = { nodeId: 'M', participantId: 'user', displayName: 'Mallory', kind: 'human' as const };
    evil.publish(topics.chatRoomEvent('general', 'edit'), forge(1, { type: 'edit', messageId: sent.id, author: mallory, text: 'pwned' }));
    evil.publish(topics.chatRoomEvent('general', 'delete'), forge(2, { type: 'delete', messageId: sent.id, author: mallory }));
    // Claims to be A's human: the author's node must be the origin.
    evil.publish(topics.chatRoomEvent('general', 'edit'), forge(3, { type: 'edit', messageId: sent.id, author: { ...a.rooms.localAuthor() }, text: 'pwned' }));
    evil.publish(topics.chatRoomEvent('general', 'message'), forge(4, { type: 'message', author: { ...a.rooms.localAuthor() }, text: 'I am A', mentions: [] }));
    // Claims to be published by A (origin A) but arrives from M.
    evil.publish(topics.chatRoomEvent('general', 'delete'), { ...forge(9, { type: 'delete', messageId: sent.id, author: a.rooms.localAuthor() }), origin: 'A' });
    mesh.settle();
    for (const node of [a, b]) {
      const message = node.rooms.message('general', sent.id)!;
      assert.equal(message.text, 'original');
      assert.equal(message.deleted, undefined);
      assert.equal(node.rooms.history({ roomId: 'general', limit: 50 }).messages.length, 1);
    }
    assert.equal(refusals.length, 4);
    assert.match(refusals[0]!, /only the author may edit/);
    assert.match(refusals[1]!, /only the author may delete/);
    assert.match(refusals[2]!, /claims author A\/user but comes from node M/);
    assert.ok(b.log.messages('warn').some((m) => m.includes('claiming origin A')));
    // The refused events still count for M's sequence: nothing to fetch again.
    assert.deepEqual(b.rooms.gaps('general'), []);
  });

  it('enforces limits with one-line errors: message size, attachment size, rate, bad input', async () => {
    const a = await mesh.add('A');
    expectRoomError(() => a.rooms.send({ roomId: 'general', text: 'x'.repeat(roomLimits.maxMessageBytes + 1) }), 'too-large', /^the message is 16,385 bytes; the limit is 16,384 bytes$/);
    expectRoomError(() => a.rooms.send({ roomId: 'general', text: 'é'.repeat(10_000) }), 'too-large', /the message is 20,000 bytes; the limit is 16,384 bytes/);
    const attachment = { path: 'src/a.ts', language: 'typescript', startLine: 1, endLine: 2, content: 'x'.repeat(roomLimits.maxAttachmentBytes + 1) };
    expectRoomError(() => a.rooms.send({ roomId: 'general', text: 'see', attachment }), 'too-large', /the attached code is 65,537 bytes; the limit is 65,536 bytes/);
    expectRoomError(() => a.rooms.send({ roomId: 'general', text: '   ' }), 'invalid', /the message is empty/);
    expectRoomError(() => a.rooms.send({ roomId: 'Bad Room', text: 'x' }), 'invalid', /not a valid room name/);
    expectRoomError(() => a.rooms.send({ roomId: 'nowhere', text: 'x' }), 'not-found', /there is no room "nowhere"/);
    expectRoomError(() => a.rooms.setPresence('asleep' as never), 'invalid', /not a presence/);
    expectRoomError(() => a.rooms.setPresence('busy', 's'.repeat(1201)), 'too-large', /^the status text is 1,201 characters; the limit is 200 characters$/);
    for (let i = 0; i < roomLimits.maxMessagesPerMinute; i++) a.rooms.send({ roomId: 'general', text: `m${i}` });
    expectRoomError(() => a.rooms.send({ roomId: 'general', text: 'one too many' }), 'rate-limited', /at most 60 messages a minute; try again in 60 s/);
    // A persona on the same node has its own budget; the human's returns after the window.
    a.rooms.send({ roomId: 'general', text: 'persona' }, { participantId: 'helper', displayName: 'Helper', kind: 'persona' });
    mesh.clock.advance(60_001);
    a.rooms.send({ roomId: 'general', text: 'back' });
  });

  it('refuses oversized messages arriving from the mesh', async () => {
    const b = await mesh.add('B');
    const evil = mesh.hub.attach('M');
    mesh.settle();
    const mallory = { nodeId: 'M', participantId: 'user', displayName: 'Mallory', kind: 'human' as const };
    evil.publish(topics.chatRoomEvent('general', 'message'), { roomId: 'general', origin: 'M', roomSeq: 1, hlc: { wall: 1, logical: 0 }, body: { type: 'message', author: mallory, text: 'x'.repeat(20_000), mentions: [] } });
    evil.publish(topics.chatRoomEvent('general', 'message'), { roomId: 'general', origin: 'M', roomSeq: 2, hlc: { wall: 2, logical: 0 }, body: { type: 'novel', whatever: 1 } });
    evil.publish(topics.chatRoomEvent('general', 'message'), { roomId: 'general', origin: 'M', roomSeq: 3, hlc: { wall: 3, logical: 0 }, body: { type: 'message', author: mallory, text: 'fine', mentions: [] } });
    mesh.settle();
    assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text), ['fine']);
    assert.deepEqual(b.rooms.gaps('general'), []);
    assert.ok(b.log.messages('warn').some((m) => m.includes('the message is 20,000 bytes; the limit is 16,384 bytes')));
  });

  it('pages history: newest page, then `before`, oldest first, with hasMore', async () => {
    const a = await mesh.add('A');
    for (let i = 1; i <= 45; i++) {
      a.rooms.send({ roomId: 'general', text: `m${i}` }, { participantId: `p${i % 3}`, displayName: 'P', kind: 'persona' });
    }
    const page1 = a.rooms.history({ roomId: 'general', limit: 20 });
    assert.equal(page1.messages[0]!.text, 'm26');
    assert.equal(page1.messages[19]!.text, 'm45');
    assert.equal(page1.hasMore, true);
    const page3 = a.rooms.history({ roomId: 'general', limit: 20, before: a.rooms.history({ roomId: 'general', limit: 20, before: page1.messages[0]!.id }).messages[0]!.id });
    assert.deepEqual(page3.messages.map((m) => m.text), ['m1', 'm2', 'm3', 'm4', 'm5']);
    assert.equal(page3.hasMore, false);
    assert.equal(fullHistory(a.rooms, 'general', 7).length, 45);
    expectRoomError(() => a.rooms.history({ roomId: 'general', limit: 5, before: 'A:999' }), 'not-found', /message A:999 is not in room "general"/);
  });

  it('subscribes only to joined rooms; join announces the room, leave keeps the history', async () => {
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    a.rooms.join('design');
    mesh.settle();
    assert.deepEqual(b.rooms.list().map((r) => [r.id, r.joined]), [['design', false], ['general', true]]);
    a.rooms.send({ roomId: 'design', text: 'only for members' });
    mesh.settle();
    assert.equal(b.db.prepare("SELECT count(*) AS n FROM room_events WHERE room_id = 'design'").get() !== undefined, true);
    assert.equal((b.db.prepare("SELECT count(*) AS n FROM room_events WHERE room_id = 'design'").get() as { n: number }).n, 0);
    expectRoomError(() => b.rooms.send({ roomId: 'design', text: 'x' }), 'not-joined', /join room "design" first/);

    const summary = b.rooms.join('design');
    mesh.settle();
    assert.equal(summary.joined, true);
    const design = b.rooms.history({ roomId: 'design', limit: 10 });
    assert.deepEqual(design.messages.map((m) => m.text), ['only for members']);
    assert.deepEqual(b.rooms.participants('design').map((p) => p.nodeId).sort(), ['A', 'B']);

    b.rooms.leave('design');
    mesh.settle();
    assert.deepEqual(a.rooms.participants('design').map((p) => p.nodeId), ['A']);
    assert.equal(b.rooms.list().find((r) => r.id === 'design')!.joined, false);
    a.rooms.send({ roomId: 'design', text: 'after B left' });
    mesh.settle();
    assert.equal(b.rooms.history({ roomId: 'design', limit: 10 }).messages.length, 1, 'history stays; no new events');
  });

  it('shows typing on other nodes (expiring), and ends it when the message arrives', async () => {
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    const seen: TypingEvent[] = [];
    b.rooms.on('typing', (event) => seen.push(event));
    a.rooms.typing('general');
    a.rooms.typing('general'); // throttled
    mesh.hub.flush();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.author.nodeId, 'A');
    assert.equal(b.rooms.typingIn('general').length, 1);
    mesh.clock.advance(6000);
    assert.equal(b.rooms.typingIn('general').length, 0);
    a.rooms.typing('general');
    mesh.hub.flush();
    assert.equal(b.rooms.typingIn('general').length, 1);
    a.rooms.send({ roomId: 'general', text: 'done typing' });
    mesh.hub.flush();
    assert.equal(b.rooms.typingIn('general').length, 0);
  });

  it('announces presence with status text; a node that goes away turns offline', async () => {
    const a = await mesh.add('A');
    const b = await mesh.add('B');
    mesh.settle();
    const changes: RoomSummary[][] = [];
    b.rooms.on('roomsChanged', (rooms) => changes.push(rooms));
    a.rooms.setPresence('training', 'fine-tuning a LoRA');
    mesh.hub.flush();
    const seenByB = () => b.rooms.participants('general').find((p) => p.nodeId === 'A')!;
    assert.equal(seenByB().presence, 'training');
    assert.equal(seenByB().statusText, 'fine-tuning a LoRA');
    assert.ok(changes.length > 0);

    // Lost announcements expire to offline.
    b.transport.dropTopic = (topic) => topic.startsWith('/presence/');
    mesh.clock.advance(46_000); // ttl 35 s, checked every 10 s
    mesh.hub.flush();
    assert.equal(seenByB().presence, 'offline');
    b.transport.dropTopic = undefined;
    mesh.clock.advance(10_000);
    mesh.hub.flush();
    assert.equal(seenByB().presence, 'training');

    // The node goes away: offline at once.
    mesh.hub.partition(['A'], ['B']);
    assert.equal(seenByB().presence, 'offline');
    mesh.hub.healAll();
    mesh.settle();
    assert.equal(seenByB().presence, 'training');
    await a.rooms.stop();
    mesh.hub.flush();
    assert.equal(seenByB().presence, 'offline');
  });

  it('stops cleanly: no handlers or timers left behind', async () => {
    const a = await mesh.add('A');
    await mesh.add('B');
    mesh.settle();
    await a.rooms.stop();
    assert.equal(a.transport.handlerCount, 0);
    await mesh.node('B').rooms.stop();
    assert.equal(mesh.clock.activeTimers, 0);
    expectRoomError(() => a.rooms.list(), 'unavailable', /rooms are not available/);
  });
});

describe('rooms/Rooms clock', () => {
  for (const skewMs of [90_000, -90_000, 600_000, -600_000]) {
    it(`orders every answer after its question and every message after what its author had seen (clocks ${skewMs / 1000} s apart)`, async () => {
      const mesh = new TestMesh();
      try {
        const asker = await mesh.add('Q', skewMs);
        const answerer = await mesh.add('R');
        mesh.settle();
        const expected: string[] = [];
        for (let i = 1; i <= 4; i++) {
          asker.rooms.send({ roomId: 'general', text: `Q${i}` });
          mesh.settle();
          answerer.rooms.send({ roomId: 'general', text: `R${i}` });
          mesh.settle();
          expected.push(`Q${i}`, `R${i}`);
        }
        for (const node of [asker, answerer]) {
          assert.deepEqual(node.rooms.history({ roomId: 'general', limit: 20 }).messages.map((m) => m.text), expected, `on ${node.id}`);
        }
        // The one whose clock is behind keeps its own time to show.
        const behind = skewMs > 0 ? answerer : asker;
        const shown = behind.rooms.history({ roomId: 'general', limit: 20 }).messages.filter((m) => m.origin === behind.id);
        for (const message of shown) assert.ok(Math.abs((message.sentAt ?? message.hlc.wall) - behind.clock.now()) < 60_000, `${message.text} shows its author's time`);
        assert.ok(shown.some((m) => m.sentAt !== undefined));
      } finally {
        await mesh.close();
      }
    });
  }

  it('a far-future peer moves the order of the room it wrote in, not this node’s clock; own timestamps keep rising across a restart', async () => {
    const mesh = new TestMesh();
    try {
      const a = await mesh.add('A');
      const future = await mesh.add('F', 24 * 3600_000); // a peer one day ahead
      a.rooms.join('other');
      mesh.settle();
      const fromFuture = future.rooms.send({ roomId: 'general', text: 'from tomorrow' });
      mesh.settle();
      const reply = a.rooms.send({ roomId: 'general', text: 'reply' });
      assert.ok(compareMessages(reply, fromFuture) > 0, 'the reply orders after what it answers');
      assert.equal(reply.sentAt, a.clock.now());
      const elsewhere = a.rooms.send({ roomId: 'other', text: 'elsewhere' });
      assert.equal(elsewhere.hlc.wall, a.clock.now(), 'another room keeps this node’s clock');
      assert.equal(elsewhere.sentAt, undefined);

      a.clock.skewMs = -10 * 60_000; // the wall clock goes back ten minutes
      const again = await mesh.restart('A');
      const afterGeneral = again.rooms.send({ roomId: 'general', text: 'after restart' });
      const afterOther = again.rooms.send({ roomId: 'other', text: 'after restart elsewhere' });
      assert.ok(compareMessages(afterGeneral, reply) > 0);
      assert.ok(compareMessages(afterOther, elsewhere) > 0);
      assert.ok(afterOther.hlc.wall < fromFuture.hlc.wall, 'the restart did not jump to the peer’s clock');
    } finally {
      await mesh.close();
    }
  });
});
