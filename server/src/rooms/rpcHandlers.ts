/**
 * The extension ↔ server methods of rooms (protocol/roomsRpc.ts) on the server's connection.
 * Refusals reach the client as ResponseErrors whose message is one line for the user.
 *
 *   registerRoomHandlers(connection, rooms)            // a started Rooms
 *   registerRoomHandlers(connection, () => node.rooms)  // or a provider (awaited per request)
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import type { Logger } from '../kernel/log';
import {
  DeleteMessageRequest,
  EditMessageRequest,
  HistoryRequest,
  JoinRoomRequest,
  LeaveRoomRequest,
  ListRoomsRequest,
  MessageNotification,
  type MessageRef,
  ReactRequest,
  RoomsChangedNotification,
  roomParams,
  SendMessageRequest,
  SetPresenceRequest,
  TypingChangedNotification,
  TypingNotification,
} from '../../../protocol/roomsRpc';
import type { ChatMessage, RoomSummary, TypingEvent } from '../../../protocol/rooms';
import { requestHandlers } from '../kernel/requestHandlers';
import type { Rooms } from './rooms';

export type RoomConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type RoomsSource = Rooms | (() => Rooms | undefined | Promise<Rooms | undefined>);

function refTo(message: ChatMessage): MessageRef {
  return { roomId: message.roomId, id: message.id };
}

export function registerRoomHandlers(connection: RoomConnection, source: RoomsSource, logger?: Logger): Disposable {
  let attached: Rooms | undefined;
  const detach: (() => void)[] = [];
  const onMessage = (message: ChatMessage) => void connection.sendNotification(MessageNotification.type, message).catch(() => undefined);
  const onRooms = (rooms: RoomSummary[]) => void connection.sendNotification(RoomsChangedNotification.type, rooms).catch(() => undefined);
  const onTyping = (event: TypingEvent) => void connection.sendNotification(TypingChangedNotification.type, event).catch(() => undefined);

  const attach = (rooms: Rooms) => {
    if (attached === rooms) return;
    for (const off of detach.splice(0)) off();
    attached = rooms;
    rooms.on('message', onMessage);
    rooms.on('roomsChanged', onRooms);
    rooms.on('typing', onTyping);
    detach.push(() => {
      rooms.off('message', onMessage);
      rooms.off('roomsChanged', onRooms);
      rooms.off('typing', onTyping);
    });
  };
  if (typeof source !== 'function') attach(source);

  const handlers = requestHandlers(connection, {
    scope: 'rooms',
    service: source,
    // The first request after the node started attaches the notifications.
    found: attach,
    unavailable: 'rooms are not available: the mesh node has not started (see Persona Mesh: Show Status)',
    ...(logger ? { logger } : {}),
  });
  handlers.request0(ListRoomsRequest.type, (rooms) => rooms.list());
  handlers.request(JoinRoomRequest.type, roomParams.join, (rooms, p) => rooms.join(p.roomId));
  handlers.request(LeaveRoomRequest.type, roomParams.leave, (rooms, p) => rooms.leave(p.roomId));
  handlers.request(HistoryRequest.type, roomParams.history, (rooms, p) => rooms.history(p));
  // Writes answer with a reference: the message went out as a notification while it was stored.
  handlers.request(SendMessageRequest.type, roomParams.send, (rooms, p) => refTo(rooms.send(p)));
  handlers.request(EditMessageRequest.type, roomParams.edit, (rooms, p) => refTo(rooms.edit(p.roomId, p.messageId, p.text)));
  handlers.request(DeleteMessageRequest.type, roomParams.delete, (rooms, p) => rooms.delete(p.roomId, p.messageId));
  handlers.request(ReactRequest.type, roomParams.react, (rooms, p) => refTo(rooms.react(p.roomId, p.messageId, p.emoji, p.add)));
  handlers.request(SetPresenceRequest.type, roomParams.setPresence, (rooms, p) => rooms.setPresence(p.presence, p.statusText));
  handlers.notification(TypingNotification.type, roomParams.typing, (rooms, p) => rooms.typing(p.roomId));

  return {
    dispose: () => {
      handlers.dispose();
      for (const off of detach.splice(0)) off();
      attached = undefined;
    },
  };
}
