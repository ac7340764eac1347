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
  ReactRequest,
  RoomsChangedNotification,
  SendMessageRequest,
  SetPresenceRequest,
  TypingChangedNotification,
  TypingNotification,
} from '../../../protocol/roomsRpc';
import type { ChatMessage, RoomSummary, TypingEvent } from '../../../protocol/rooms';
import { ServiceError } from '../kernel/errors';
import { describeError } from '../kernel/lifecycle';
import { toResponseError } from '../kernel/responseError';
import type { Rooms } from './rooms';

export type RoomConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type RoomsSource = Rooms | (() => Rooms | undefined | Promise<Rooms | undefined>);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function params(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new ServiceError('invalid', 'the request has no parameters');
  return value;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new ServiceError('invalid', `${name} must be text`);
  return value;
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

  const resolve = async (): Promise<Rooms> => {
    const rooms = typeof source === 'function' ? await source() : source;
    if (!rooms) throw new ServiceError('unavailable', 'rooms are not available: the mesh node has not started (see Persona Mesh: Show Status)');
    attach(rooms);
    return rooms;
  };
  if (typeof source !== 'function') attach(source);

  const handle = <P, R>(run: (rooms: Rooms, params: P) => R) => {
    return async (value: P): Promise<R> => {
      try {
        return run(await resolve(), value);
      } catch (error) {
        const response = toResponseError(error, 'rooms');
        if (!(error instanceof ServiceError)) logger?.error(`room request failed: ${describeError(error)}`);
        throw response;
      }
    };
  };

  const disposables: Disposable[] = [
    connection.onRequest(ListRoomsRequest.type, handle((rooms) => rooms.list())),
    connection.onRequest(JoinRoomRequest.type, handle((rooms, p) => rooms.join(text(params(p).roomId, 'roomId')))),
    connection.onRequest(
      LeaveRoomRequest.type,
      handle((rooms, p) => {
        rooms.leave(text(params(p).roomId, 'roomId'));
      }),
    ),
    connection.onRequest(
      HistoryRequest.type,
      handle((rooms, p) => {
        const { roomId, before, limit } = params(p);
        return rooms.history({ roomId: text(roomId, 'roomId'), before: before === undefined || before === null ? undefined : text(before, 'before'), limit: Number(limit ?? 50) });
      }),
    ),
    connection.onRequest(
      SendMessageRequest.type,
      handle((rooms, p) => {
        const { roomId, text: body, attachment, replyTo, mentions } = params(p);
        return rooms.send({
          roomId: text(roomId, 'roomId'),
          text: text(body ?? '', 'text'),
          attachment: attachment as never,
          replyTo: replyTo === undefined || replyTo === null ? undefined : text(replyTo, 'replyTo'),
          mentions: mentions as string[] | undefined,
        });
      }),
    ),
    connection.onRequest(
      EditMessageRequest.type,
      handle((rooms, p) => {
        const { roomId, messageId, text: body } = params(p);
        return rooms.edit(text(roomId, 'roomId'), text(messageId, 'messageId'), text(body, 'text'));
      }),
    ),
    connection.onRequest(
      DeleteMessageRequest.type,
      handle((rooms, p) => {
        const { roomId, messageId } = params(p);
        rooms.delete(text(roomId, 'roomId'), text(messageId, 'messageId'));
      }),
    ),
    connection.onRequest(
      ReactRequest.type,
      handle((rooms, p) => {
        const { roomId, messageId, emoji, add } = params(p);
        return rooms.react(text(roomId, 'roomId'), text(messageId, 'messageId'), text(emoji, 'emoji'), add !== false);
      }),
    ),
    connection.onRequest(
      SetPresenceRequest.type,
      handle((rooms, p) => {
        const { presence, statusText } = params(p);
        return rooms.setPresence(presence as never, statusText === undefined || statusText === null ? undefined : text(statusText, 'statusText'));
      }),
    ),
    connection.onNotification(TypingNotification.type, (p) => {
      void handle((rooms, value: unknown) => rooms.typing(text(params(value).roomId, 'roomId')))(p).catch(() => undefined);
    }),
  ];

  return {
    dispose: () => {
      for (const disposable of disposables) disposable.dispose();
      for (const off of detach.splice(0)) off();
      attached = undefined;
    },
  };
}
