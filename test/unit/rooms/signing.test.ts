import { strict as assert } from 'node:assert';
import { decode, encode } from '../../../server/src/net/codec';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { roomTopics, type RoomEvent, type RoomSyncMessage } from '../../../protocol/rooms';
import { canonicalJson } from '../../../server/src/kernel/canonicalJson';
import { identityAuthenticator } from '../../../server/src/rooms/signing';
import { TestMesh } from './support';

describe('rooms/signing', () => {
  const alice = generateIdentity().identity;
  const mallory = generateIdentity().identity;
  const event = (origin: string, text: string, roomSeq = 2): RoomEvent => ({
    roomId: 'general',
    origin,
    roomSeq,
    hlc: { wall: 1_800_000_000_000, logical: 3 },
    body: { type: 'message', author: { nodeId: origin, participantId: 'user', displayName: 'Alice', kind: 'human' }, text, mentions: [] },
  });

  it('canonical JSON sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('verifies an event after a MessagePack round trip; refuses altered text, another key, a wrong origin', () => {
    const auth = identityAuthenticator(alice);
    const signed = auth.sign(event(alice.nodeId, 'hello'));
    const decoded = decode(encode(signed));
    assert.ok(decoded.ok);
    const relayed = decoded.value as RoomEvent;
    assert.ok(auth.verify(relayed));
    assert.equal(auth.verify({ ...relayed, body: { ...relayed.body, text: 'hellO' } as RoomEvent['body'] }), false);
    assert.equal(auth.verify({ ...relayed, roomSeq: 3 }), false);
    const byMallory = identityAuthenticator(mallory).sign(event(alice.nodeId, 'I am alice'));
    assert.equal(auth.verify(byMallory), false, 'signed with a key that does not hash to the origin');
    assert.equal(auth.verify({ ...event(alice.nodeId, 'unsigned') }), false);
  });

  it('a forged event relayed by sync cannot take the real one’s place', async () => {
    const bob = generateIdentity().identity;
    const mesh = new TestMesh();
    try {
      const a = await mesh.add(alice.nodeId, 0, undefined, { authenticator: identityAuthenticator(alice) });
      const b = await mesh.add(bob.nodeId, 0, undefined, { authenticator: identityAuthenticator(bob) });
      const evil = mesh.hub.attach(mallory.nodeId);
      mesh.settle();
      // Mallory answers a pull from B with a fake event in A's next slot (seq 2), unsigned and then signed by herself.
      const forged: RoomSyncMessage = { kind: 'events', requestId: 0, more: false, events: [event(alice.nodeId, 'forged'), identityAuthenticator(mallory).sign(event(alice.nodeId, 'forged too'))] };
      evil.sendTo(bob.nodeId, roomTopics.sync(bob.nodeId), forged);
      mesh.hub.flush();
      assert.equal(b.rooms.history({ roomId: 'general', limit: 10 }).messages.length, 0);
      assert.ok(b.log.messages('warn').some((m) => m.includes('not signed by its origin')));
      const real = a.rooms.send({ roomId: 'general', text: 'the real one' });
      assert.equal(real.roomSeq, 2);
      mesh.settle();
      assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text), ['the real one']);
      assert.deepEqual(b.rooms.gaps('general'), []);
    } finally {
      await mesh.close();
    }
  });
});
