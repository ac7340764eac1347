import { strict as assert } from 'node:assert';
import { roomTopics, type RoomEvent } from '../../../protocol/rooms';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { identityAuthenticator } from '../../../server/src/rooms/signing';
import { TestMesh } from './support';

describe('rooms: limits enforced by the receiver', () => {
  let mesh: TestMesh;
  afterEach(async () => {
    await mesh.close();
  });

  it('stores at most 60 messages a minute of a peer whose node lets it send more, live and by sync; the gaps close', async () => {
    mesh = new TestMesh();
    const flooder = await mesh.add('F', 0, undefined, { maxMessagesPerMinute: 1_000_000 });
    const honest = await mesh.add('H');
    mesh.settle();
    for (let i = 0; i < 150; i++) flooder.rooms.send({ roomId: 'general', text: `live ${i}` });
    mesh.hub.flush();
    // While apart, more of the same minute: they come by sync.
    mesh.hub.partition(['F'], ['H']);
    for (let i = 0; i < 50; i++) flooder.rooms.send({ roomId: 'general', text: `synced ${i}` });
    mesh.hub.healAll();
    mesh.hub.flush();
    const stored = honest.rooms.history({ roomId: 'general', limit: 500 }).messages.filter((m) => m.origin === 'F');
    assert.equal(stored.length, 60);
    assert.deepEqual(stored.map((m) => m.text), Array.from({ length: 60 }, (_, i) => `live ${i}`));
    assert.deepEqual(honest.rooms.gaps('general'), [], 'the dropped events leave no gap to pull again');
    assert.equal(honest.rooms.limitedTotal, 140);
    // Most of that sync batch was over the limit: no more pulls from the flooder for a while.
    const pulls = honest.rooms.syncStats!.pullsSent;
    honest.rooms.syncNow('F');
    assert.equal(honest.rooms.syncStats!.pullsSent, pulls);
    // The next minute has room again.
    mesh.clock.advance(60_000);
    flooder.rooms.send({ roomId: 'general', text: 'a minute later' });
    mesh.hub.flush();
    assert.equal(honest.rooms.history({ roomId: 'general', limit: 1 }).messages[0]!.text, 'a minute later');
  });

  it('says so in the log once a minute per author, not once per event', async () => {
    mesh = new TestMesh();
    const flooder = await mesh.add('F', 0, undefined, { maxMessagesPerMinute: 1_000_000 });
    const honest = await mesh.add('H');
    mesh.settle();
    for (let i = 0; i < 100; i++) flooder.rooms.send({ roomId: 'general', text: `m ${i}` });
    mesh.hub.flush();
    mesh.clock.advance(60_000);
    const lines = honest.log.messages('warn').filter((line) => line.includes('over its limit'));
    assert.deepEqual(lines, ['dropped 40 events of F/user (via F) over its limit of 60 messages a minute']);
  });

  it('keeps its counts across a restart: the same minute stays full', async () => {
    mesh = new TestMesh();
    const flooder = await mesh.add('F', 0, undefined, { maxMessagesPerMinute: 1_000_000 });
    await mesh.add('H');
    mesh.settle();
    for (let i = 0; i < 60; i++) flooder.rooms.send({ roomId: 'general', text: `m ${i}` });
    mesh.hub.flush();
    const honest = await mesh.restart('H');
    mesh.hub.flush();
    for (let i = 0; i < 5; i++) flooder.rooms.send({ roomId: 'general', text: `after restart ${i}` });
    mesh.hub.flush();
    assert.equal(honest.rooms.history({ roomId: 'general', limit: 500 }).messages.filter((m) => m.origin === 'F').length, 60);
    assert.equal(honest.rooms.limitedTotal, 5);
    // This node's own sends count the same way after a restart.
    for (let i = 0; i < 60; i++) honest.rooms.send({ roomId: 'general', text: `own ${i}` });
    const again = await mesh.restart('H');
    assert.throws(() => again.rooms.send({ roomId: 'general', text: 'one more' }), /at most 60 messages a minute/);
  });

  it('a relayed event over the limit is checked for its signature before its place is kept (a forger cannot void a real one)', async () => {
    const f = generateIdentity().identity;
    const h = generateIdentity().identity;
    const m = generateIdentity().identity;
    mesh = new TestMesh({ maxMessagesPerMinute: 1 });
    const honest = await mesh.add(h.nodeId, 0, undefined, { authenticator: identityAuthenticator(h) });
    const relay = mesh.hub.attach(m.nodeId);
    mesh.settle();
    const author = { nodeId: f.nodeId, participantId: 'user', displayName: 'F', kind: 'human' as const };
    const event = (seq: number, wall: number, text: string): RoomEvent => ({ roomId: 'general', origin: f.nodeId, roomSeq: seq, hlc: { wall, logical: 0 }, body: { type: 'message', author, text, mentions: [] } });
    const now = mesh.clock.now();
    const fSigns = identityAuthenticator(f);
    const relayed = (events: RoomEvent[]) => {
      relay.sendTo(h.nodeId, roomTopics.sync(h.nodeId), { kind: 'events', requestId: 0, more: false, events });
      mesh.hub.flush();
    };
    // F's minute is full with its first message; M then forges F's next event in that minute.
    relayed([fSigns.sign(event(1, now, 'first'))]);
    relayed([identityAuthenticator(m).sign(event(2, now + 1, 'forged'))]);
    assert.ok(honest.log.messages('warn').some((line) => line.includes('not signed by its origin')));
    // F's real second event, a minute later, still has its place.
    relayed([fSigns.sign(event(2, now + 60_000, 'real second'))]);
    assert.deepEqual(honest.rooms.history({ roomId: 'general', limit: 10 }).messages.filter((msg) => msg.origin === f.nodeId).map((msg) => msg.text), ['first', 'real second']);
    assert.equal(honest.rooms.limitedTotal, 0);
  });
});
