/**
 * Rooms between the extension (client) and the mesh server, declared once and imported by both.
 * Each comment says which way it travels. Errors come back as JSON-RPC errors whose message is
 * one line for the user (e.g. "the message is 16,385 bytes; the limit is 16,384 bytes").
 *
 * `roomParams` checks each request's params where they enter a program: the extension checks
 * what the chat panel posts with it, the server what the extension sends (check.ts).
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { boolean, integer, list, object, oneOf, optional, refine, text, type Check } from './check';
import { ServiceError } from './errors';
import { messageIdCheck, presenceStates, roomIdCheck, roomLimits, roomWireLimits, type ChatMessage, type CodeAttachment, type Participant, type PresenceState, type RoomSummary, type TypingEvent } from './rooms';

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

/**
 * Which message a write made or changed. The message itself reaches the client once, as a
 * MessageNotification sent before this answer, like every other message: the panel, @mesh and
 * any other view of the room get it the same way, and a 64 KiB attachment crosses once.
 */
export interface MessageRef {
  roomId: string;
  id: string;
}

/** client → server: post a message as this node's human participant. */
export namespace SendMessageRequest {
  export const method = 'mesh/rooms/send';
  export const type = new RequestType<SendMessageParams, MessageRef, void>(method);
}

/** client → server: edit one's own message. */
export namespace EditMessageRequest {
  export const method = 'mesh/rooms/edit';
  export const type = new RequestType<{ roomId: string; messageId: string; text: string }, MessageRef, void>(method);
}

/** client → server: delete one's own message. */
export namespace DeleteMessageRequest {
  export const method = 'mesh/rooms/delete';
  export const type = new RequestType<{ roomId: string; messageId: string }, void, void>(method);
}

/** client → server: add or remove a reaction (no notification when it changes nothing). */
export namespace ReactRequest {
  export const method = 'mesh/rooms/react';
  export const type = new RequestType<{ roomId: string; messageId: string; emoji: string; add: boolean }, MessageRef, void>(method);
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

// ---------------------------------------------------------------- checkers of the params

const roomId = roomIdCheck;
const messageId = messageIdCheck;

/** Workspace-relative, `/`-separated, no `..` or empty segment, not absolute. */
export const workspacePath: Check<string> = refine(text({ max: roomLimits.maxPathChars, singleLine: true }), (path) => {
  if (path.startsWith('/') || path.startsWith('\\') || /^[a-zA-Z]:/.test(path) || path.includes('\\')) throw new ServiceError('invalid', 'the path must be relative to the workspace');
  if (path.split('/').some((segment) => segment === '..' || segment === '')) throw new ServiceError('invalid', 'the path must not contain ".." or empty segments');
});

export const languageId = text({ max: roomLimits.maxLanguageChars, singleLine: true, allowEmpty: true, pattern: /^[\w.+#-]*$/, hint: 'the language id has unexpected characters' });

/** A 1-based inclusive line range. */
export function lineRange(maxLine: number) {
  return refine(object({ startLine: integer(1, maxLine), endLine: integer(1, maxLine) }, { startLine: 'the start line', endLine: 'the end line' }), (range) => {
    if (range.endLine < range.startLine) throw new ServiceError('invalid', `the end line must be from ${range.startLine} to ${maxLine}`);
  });
}

const codeAttachment: Check<CodeAttachment> = (value, name) => {
  const range = lineRange(10_000_000)(value, name);
  const fields = object({ path: workspacePath, language: languageId, content: text({ max: roomLimits.maxAttachmentBytes, bytes: true, allowEmpty: true }) }, { path: 'the path', language: 'the language', content: 'the attached code' })(value, name);
  return { path: fields.path, language: fields.language, startLine: range.startLine, endLine: range.endLine, content: fields.content };
};

const messageText = text({ max: roomLimits.maxMessageBytes, bytes: true, allowEmpty: true });
const participantKey = text({ max: 2 * roomWireLimits.maxNameChars + 130, singleLine: true });

export const roomParams = {
  join: object({ roomId }),
  leave: object({ roomId }),
  history: object({ roomId, before: optional(messageId), limit: integer(1, roomLimits.maxHistoryPage) }, { before: 'the message id', limit: 'the page size' }),
  send: refine(
    object(
      { roomId, text: messageText, attachment: optional(codeAttachment), replyTo: optional(messageId), mentions: optional(list(participantKey, roomWireLimits.maxMentions, 'a mention')) },
      { text: 'the message', attachment: 'the attachment', mentions: 'the mentions' },
    ),
    (params) => {
      if (params.text.trim() === '' && !params.attachment) throw new ServiceError('invalid', 'the message is empty');
    },
  ),
  edit: refine(object({ roomId, messageId, text: messageText }, { text: 'the message' }), (params) => {
    if (params.text.trim() === '') throw new ServiceError('invalid', 'the new text is empty (delete the message instead)');
  }),
  delete: object({ roomId, messageId }),
  react: object({ roomId, messageId, emoji: text({ max: roomWireLimits.maxEmojiChars, singleLine: true, pattern: /^\S+$/, hint: 'a reaction is one emoji' }), add: boolean }, { emoji: 'the reaction' }),
  setPresence: object(
    {
      presence: oneOf(presenceStates, `a presence is one of ${presenceStates.join(', ')}`),
      statusText: optional(text({ max: roomWireLimits.maxStatusTextChars, singleLine: true, allowEmpty: true })),
    },
    { statusText: 'the status text' },
  ),
  typing: object({ roomId }),
} satisfies Record<string, Check<unknown>>;
