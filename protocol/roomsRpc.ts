/**
 * Rooms between the extension (client) and the mesh server, declared once and imported by both.
 * Each comment says which way it travels. Errors come back as JSON-RPC errors whose message is
 * one line for the user (e.g. "the message is 16,385 bytes; the limit is 16,384 bytes").
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { ChatMessage, CodeAttachment, Participant, PresenceState, RoomSummary, TypingEvent } from './rooms';

/** client → server: every room this node knows (joined or seen on the mesh). */
export namespace ListRoomsRequest {
  export const method = 'mesh/rooms/list';
  export const type = new RequestType0<RoomSummary[], void>(method);
}

/** client → server: join (creating it mesh-wide if new) a room. */
export namespace JoinRoomRequest {
  export const method = 'mesh/rooms/join';
  export const type = new RequestType<{ roomId: string }, RoomSummary, void>(method);
}

/** client → server: leave a room (history stays on disk). */
export namespace LeaveRoomRequest {
  export const method = 'mesh/rooms/leave';
  export const type = new RequestType<{ roomId: string }, void, void>(method);
}

export interface HistoryParams {
  roomId: string;
  /** Return messages ordered before this message id (older page); omitted = newest page. */
  before?: string;
  limit: number;
}

export interface HistoryPage {
  roomId: string;
  /** Oldest first. */
  messages: ChatMessage[];
  /** True when older messages exist before the first one returned. */
  hasMore: boolean;
}

/** client → server: a page of a room's history. */
export namespace HistoryRequest {
  export const method = 'mesh/rooms/history';
  export const type = new RequestType<HistoryParams, HistoryPage, void>(method);
}

export interface SendMessageParams {
  roomId: string;
  text: string;
  attachment?: CodeAttachment;
  replyTo?: string;
  /** Participant keys (`nodeId/participantId`). */
  mentions?: string[];
}

/** client → server: post a message as this node's human participant; returns it as stored. */
export namespace SendMessageRequest {
  export const method = 'mesh/rooms/send';
  export const type = new RequestType<SendMessageParams, ChatMessage, void>(method);
}

/** client → server: edit one's own message. */
export namespace EditMessageRequest {
  export const method = 'mesh/rooms/edit';
  export const type = new RequestType<{ roomId: string; messageId: string; text: string }, ChatMessage, void>(method);
}

/** client → server: delete one's own message. */
export namespace DeleteMessageRequest {
  export const method = 'mesh/rooms/delete';
  export const type = new RequestType<{ roomId: string; messageId: string }, void, void>(method);
}

/** client → server: add or remove a reaction. */
export namespace ReactRequest {
  export const method = 'mesh/rooms/react';
  export const type = new RequestType<{ roomId: string; messageId: string; emoji: string; add: boolean }, ChatMessage, void>(method);
}

/** client → server: the user is typing in a room (sent at most every 2 s while typing). */
export namespace TypingNotification {
  export const method = 'mesh/rooms/typing';
  export const type = new NotificationType<{ roomId: string }>(method);
}

/** client → server: set this node's human presence (and optional status text). */
export namespace SetPresenceRequest {
  export const method = 'mesh/presence/set';
  export const type = new RequestType<{ presence: PresenceState; statusText?: string }, Participant, void>(method);
}

/** server → client: a message was added or changed (new, edited, deleted, reacted, streamed). */
export namespace MessageNotification {
  export const method = 'mesh/rooms/message';
  export const type = new NotificationType<ChatMessage>(method);
}

/** server → client: the list of rooms or a room's participants changed. */
export namespace RoomsChangedNotification {
  export const method = 'mesh/rooms/changed';
  export const type = new NotificationType<RoomSummary[]>(method);
}

/** server → client: someone is typing (expires after `ttlMs`). */
export namespace TypingChangedNotification {
  export const method = 'mesh/rooms/typingChanged';
  export const type = new NotificationType<TypingEvent>(method);
}
