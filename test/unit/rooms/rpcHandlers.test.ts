import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import type { ChatMessage, RoomSummary, TypingEvent } from '../../../protocol/rooms';
import {
  DeleteMessageRequest,
  EditMessageRequest,
  HistoryRequest,
  JoinRoomRequest,
  LeaveRoomRequest,
  ListRoomsRequest,
  MessageNotification,
  ReactRequest,
  RoomsChangedNotification,
  SendMessageRequest,
  SetPresenceRequest,
  TypingChangedNotification,
  TypingNotification,
} from '../../../protocol/roomsRpc';
import { registerRoomHandlers } from '../../../server/src/rooms/rpcHandlers';
import { until } from '../../support/until';
import { TestMesh, type TestNode } from './support';

async function expectError(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'));
    return true;
  });
}

describe('rooms/rpcHandlers (over a real JSON-RPC connection)', () => {
  let mesh: TestMesh;
  let client: MessageConnection;
  let a: TestNode;
  let b: TestNode;
  let registration: { dispose(): void };
  const messages: ChatMessage[] = [];
  const changes: RoomSummary[][] = [];
  const typing: TypingEvent[] = [];

  beforeEach(async () => {
    mesh = new TestMesh();
    a = await mesh.add('A');
    b = await mesh.add('B');
    mesh.settle();
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(toServer, toClient);
    registration = registerRoomHandlers(server, () => a.rooms);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.onNotification(MessageNotification.type, (m) => messages.push(m));
    client.onNotification(RoomsChangedNotification.type, (r) => changes.push(r));
    client.onNotification(TypingChangedNotification.type, (t) => typing.push(t));
    client.listen();
    messages.length = 0;
    changes.length = 0;
    typing.length = 0;
  });

  afterEach(async () => {
    registration.dispose();
    client.dispose();
    await mesh.close();
  });

  it('serves every room request and emits the notifications', async () => {
    const list = await client.sendRequest(ListRoomsRequest.type);
    assert.deepEqual(list.map((r) => r.id), ['general']);
    const joined = await client.sendRequest(JoinRoomRequest.type, { roomId: 'review' });
    assert.equal(joined.joined, true);
    const sent = await client.sendRequest(SendMessageRequest.type, {
      roomId: 'general',
      text: 'look at this',
      attachment: { path: 'src/x.ts', language: 'typescript', startLine: 3, endLine: 4, content: 'let x = 1;\n' },
      mentions: ['B/user'],
    });
    // The answer names the message; the message itself came once, as a notification, before it.
    assert.deepEqual(Object.keys(sent).sort(), ['id', 'roomId']);
    assert.deepEqual(messages.map((m) => [m.id, m.attachment?.path]), [[sent.id, 'src/x.ts']]);
    const edited = await client.sendRequest(EditMessageRequest.type, { roomId: 'general', messageId: sent.id, text: 'look at this, please' });
    assert.deepEqual(edited, { roomId: 'general', id: sent.id });
    assert.equal(messages.at(-1)!.text, 'look at this, please');
    const reacted = await client.sendRequest(ReactRequest.type, { roomId: 'general', messageId: sent.id, emoji: '🚀', add: true });
    assert.deepEqual(reacted, { roomId: 'general', id: sent.id });
    assert.deepEqual(messages.at(-1)!.reactions, { '🚀': ['A/user'] });
    assert.equal(messages.length, 3, 'one notification per write');
    const page = await client.sendRequest(HistoryRequest.type, { roomId: 'general', limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.id), [sent.id]);
    await client.sendRequest(DeleteMessageRequest.type, { roomId: 'general', messageId: sent.id });
    const me = await client.sendRequest(SetPresenceRequest.type, { presence: 'busy', statusText: 'in a meeting' });
    assert.equal(me.presence, 'busy');
    await client.sendRequest(LeaveRoomRequest.type, { roomId: 'review' });

    // A message from another node reaches the client as a notification.
    mesh.settle();
    b.rooms.send({ roomId: 'general', text: 'from B' });
    b.rooms.typing('general');
    mesh.settle();
    await client.sendNotification(TypingNotification.type, { roomId: 'general' });
    await until('B\'s message and typing notifications at the client', () => (messages.some((m) => m.text === 'from B') && typing.length > 0) || undefined, 5000);
    assert.ok(messages.some((m) => m.text === 'from B'));
    assert.ok(messages.some((m) => m.id === sent.id && m.deleted));
    assert.ok(changes.some((rooms) => rooms.some((r) => r.id === 'review')));
    assert.equal(typing[0]!.author.nodeId, 'B');
  });

  it('answers refusals with one-line ResponseErrors', async () => {
    b.rooms.send({ roomId: 'general', text: 'B wrote this' });
    mesh.settle();
    const [theirs] = a.rooms.history({ roomId: 'general', limit: 5 }).messages;
    await expectError(client.sendRequest(EditMessageRequest.type, { roomId: 'general', messageId: theirs!.id, text: 'mine' }), 4031, /only the author can edit this message/);
    await expectError(client.sendRequest(SendMessageRequest.type, { roomId: 'general', text: 'x'.repeat(17_000) }), 4130, /^the message is 17,000 bytes; the limit is 16,384 bytes$/);
    await expectError(client.sendRequest(JoinRoomRequest.type, { roomId: 'No Spaces' }), -32602, /not a valid room name/);
    await expectError(client.sendRequest(HistoryRequest.type, { roomId: 'nope', limit: 5 }), 4040, /there is no room "nope"/);
    await expectError(client.sendRequest(SendMessageRequest.type, null as never), -32602, /the request has no parameters/);
  });
});
