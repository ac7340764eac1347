/**
 * The events this node writes: messages, edits, deletions and reactions of its local participants
 * (and joins and leaves, for membership.ts). Each is checked here with the words the caller sees,
 * then numbered, signed, stored and published in one step (appendAndPublish).
 */
import { ServiceError } from '../../../protocol/errors';
import { participantKey, roomWireLimits, type Author, type ChatMessage, type RoomEvent, type RoomEventBody } from '../../../protocol/rooms';
import type { SendOptions, RoomsContext } from './context';
import type { ApplyOutcome } from './eventLog';
import type { HybridClock } from './hlc';
import type { OwnNumbering } from './ownNumbering';
import type { LocalParticipant } from '../../../protocol/rooms';
import type { EventAuthenticator } from './signing';
import { isAttachment, isMessageId, messageLimitProblem, metadataProblem, requireMessageId, requireRoomId } from './validate';

export interface LocalWritesOptions extends RoomsContext {
  readonly hlc: HybridClock;
  readonly numbering: OwnNumbering;
  readonly authenticator: EventAuthenticator | undefined;
  /** This node's human participant, or `as` (Rooms.localAuthor). */
  readonly localAuthor: (as?: LocalParticipant) => Author;
}

export class LocalWrites {
  constructor(private readonly options: LocalWritesOptions) {}

  send(params: SendOptions, as?: LocalParticipant): ChatMessage {
    const roomId = this.requireJoined(params.roomId);
    const author = this.options.localAuthor(as);
    const text = typeof params.text === 'string' ? params.text : '';
    if (text.trim() === '' && !params.attachment) throw new ServiceError('invalid', 'the message is empty');
    if (params.attachment !== undefined && !isAttachment(params.attachment)) throw new ServiceError('invalid', 'the code attachment is malformed (path, language, 1-based line range, content)');
    const limit = messageLimitProblem(text, params.attachment) ?? metadataProblem(params.metadata);
    if (limit) throw new ServiceError('too-large', limit);
    if (params.replyTo !== undefined && !isMessageId(params.replyTo)) throw new ServiceError('invalid', `"${String(params.replyTo).slice(0, 80)}" is not a message id`);
    const mentions = params.mentions ?? [];
    if (!Array.isArray(mentions) || mentions.length > roomWireLimits.maxMentions || !mentions.every((m) => typeof m === 'string' && m.length <= 300)) {
      throw new ServiceError('invalid', `mentions must be at most ${roomWireLimits.maxMentions} participant keys`);
    }
    const body: RoomEventBody = { type: 'message', author, text, mentions: [...mentions] };
    if (params.attachment) body.attachment = { ...params.attachment };
    if (params.replyTo) body.replyTo = params.replyTo;
    if (params.metadata) body.metadata = params.metadata;
    const { outcome } = this.appendAndPublish(roomId, body);
    return outcome.messages[0]!;
  }

  edit(roomId: string, messageId: string, text: string, as?: LocalParticipant): ChatMessage {
    const message = this.ownMessage(roomId, messageId, 'edit', as);
    if (typeof text !== 'string' || text.trim() === '') throw new ServiceError('invalid', 'the new text is empty (delete the message instead)');
    const limit = messageLimitProblem(text, undefined);
    if (limit) throw new ServiceError('too-large', limit);
    const { outcome } = this.appendAndPublish(message.roomId, { type: 'edit', messageId: message.id, author: this.options.localAuthor(as), text });
    return outcome.messages[0] ?? this.options.log().message(message.roomId, message.id)!;
  }

  delete(roomId: string, messageId: string, as?: LocalParticipant): void {
    const message = this.ownMessage(roomId, messageId, 'delete', as);
    this.appendAndPublish(message.roomId, { type: 'delete', messageId: message.id, author: this.options.localAuthor(as) });
  }

  react(roomId: string, messageId: string, emoji: string, add: boolean, as?: LocalParticipant): ChatMessage {
    const room = this.requireJoined(roomId);
    const message = this.options.log().message(room, requireMessageId(messageId));
    if (!message) throw new ServiceError('not-found', `message ${messageId} is not in room "${room}"`);
    if (message.deleted) throw new ServiceError('invalid', 'the message was deleted');
    if (typeof emoji !== 'string' || emoji.length === 0 || emoji.length > roomWireLimits.maxEmojiChars) throw new ServiceError('invalid', 'a reaction is one emoji (at most 32 characters)');
    const author = this.options.localAuthor(as);
    const has = message.reactions[emoji]?.includes(participantKey(author)) ?? false;
    if (has === Boolean(add)) return message;
    const { outcome } = this.appendAndPublish(room, { type: 'reaction', messageId: message.id, author, emoji, add: Boolean(add) });
    return outcome.messages[0] ?? message;
  }

  /** Numbers, signs and stores an event of this node, sends it (when ownNumbering.ts lets it) and tells listeners. */
  appendAndPublish(roomId: string, body: RoomEventBody): { event: RoomEvent; outcome: ApplyOutcome } {
    const authenticator = this.options.authenticator;
    const result = this.options.log().appendLocal(roomId, this.options.hlc.now(), body, authenticator && ((event) => authenticator.sign(event)));
    this.options.numbering.send(result.event);
    this.options.notify(result.outcome);
    return result;
  }

  requireJoined(roomId: string): string {
    requireRoomId(roomId);
    const room = this.options.log().room(roomId);
    if (!room) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    if (!room.joined) throw new ServiceError('not-joined', `join room "${roomId}" first`);
    return roomId;
  }

  private ownMessage(roomId: string, messageId: string, action: 'edit' | 'delete', as?: LocalParticipant): ChatMessage {
    const room = this.requireJoined(roomId);
    const message = this.options.log().message(room, requireMessageId(messageId));
    if (!message) throw new ServiceError('not-found', `message ${messageId} is not in room "${room}"`);
    const author = this.options.localAuthor(as);
    if (participantKey(message.author) !== participantKey(author)) {
      throw new ServiceError('not-author', `only the author can ${action} this message (it was written by ${message.author.displayName || message.author.participantId})`);
    }
    if (message.deleted) throw new ServiceError('invalid', 'the message was deleted');
    return message;
  }
}
