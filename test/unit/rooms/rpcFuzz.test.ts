import fc from 'fast-check';
import { presenceStates } from '../../../protocol/rooms';
import { registerRoomHandlers } from '../../../server/src/rooms/rpcHandlers';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { TestMesh } from './support';

describe('rooms/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  let mesh: TestMesh;
  afterEach(async () => {
    await mesh.close();
  });

  it('for any params, plausible or not', async () => {
    mesh = new TestMesh();
    const node = await mesh.add('A');
    const message = node.rooms.send({ roomId: 'general', text: 'hello' });
    const fake = fakeConnection();
    const registration = registerRoomHandlers(fake.connection, () => node.rooms);
    const roomId = fc.constantFrom('general', 'review', '', 'Not A Room!', 'x'.repeat(300));
    const messageId = fc.constantFrom(message.id, 'nope', '');
    const text = fc.oneof(fc.string(), fc.constant('x'.repeat(17_000)));
    const attachment = fc.record({ path: fc.string(), language: fc.string(), startLine: fc.integer(), endLine: fc.integer(), content: fc.oneof(fc.string(), fc.constant('y'.repeat(70_000))) }, { requiredKeys: [] });
    try {
      await fuzzHandlers(fake, {
        'mesh/rooms/list': fc.anything(),
        'mesh/rooms/join': paramsOf({ roomId }),
        'mesh/rooms/leave': paramsOf({ roomId }),
        'mesh/rooms/history': paramsOf({ roomId, before: messageId, limit: fc.oneof(fc.integer(), fc.double()) }),
        'mesh/rooms/send': paramsOf({ roomId, text, attachment, replyTo: messageId, mentions: fc.array(fc.oneof(fc.string(), fc.constant('A/user'))) }),
        'mesh/rooms/edit': paramsOf({ roomId, messageId, text }),
        'mesh/rooms/delete': paramsOf({ roomId, messageId }),
        'mesh/rooms/react': paramsOf({ roomId, messageId, emoji: fc.constantFrom('👍', '', 'x'.repeat(100)), add: fc.boolean() }),
        'mesh/rooms/typing': paramsOf({ roomId }),
        'mesh/presence/set': paramsOf({ presence: fc.constantFrom(...presenceStates, 'nope'), statusText: fc.oneof(fc.string(), fc.constant('s'.repeat(300))) }),
      });
    } finally {
      registration.dispose();
    }
  });
});
