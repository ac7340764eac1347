/**
 * Folds a message and the events that target it (edits, deletion, reactions) into the
 * ChatMessage the panel shows. Pure and order-independent: the related events are sorted by the
 * display order first, so every node computes the same message whatever order events arrived in.
 *
 * Only the author may edit or delete (same participant key); other attempts are ignored here and
 * reported by the caller.
 */
import { compareMessages, participantKey, type ChatMessage, type RoomEvent, type RoomEventBody } from '../../../protocol/rooms';

export type MessageBody = Extract<RoomEventBody, { type: 'message' }>;
export type RelatedBody = Extract<RoomEventBody, { type: 'edit' | 'delete' | 'reaction' }>;

export interface StoredEvent<B extends RoomEventBody = RoomEventBody> extends RoomEvent {
  body: B;
}

export function messageId(origin: string, roomSeq: number): string {
  return `${origin}:${roomSeq}`;
}

export function isRelated(body: RoomEventBody): body is RelatedBody {
  return body.type === 'edit' || body.type === 'delete' || body.type === 'reaction';
}

/** True when `related` may change `message` (edits and deletions: the author only). */
export function mayApply(message: StoredEvent<MessageBody>, related: StoredEvent<RelatedBody>): boolean {
  if (related.body.type === 'reaction') return true;
  return participantKey(related.body.author) === participantKey(message.body.author) && related.origin === message.origin;
}

export function foldMessage(message: StoredEvent<MessageBody>, related: readonly StoredEvent<RelatedBody>[]): ChatMessage {
  const body = message.body;
  const folded: ChatMessage = {
    id: messageId(message.origin, message.roomSeq),
    roomId: message.roomId,
    origin: message.origin,
    roomSeq: message.roomSeq,
    author: { ...body.author },
    text: body.text,
    mentions: [...body.mentions],
    hlc: { ...message.hlc },
    reactions: {},
  };
  if (body.attachment) folded.attachment = { ...body.attachment };
  if (body.replyTo) folded.replyTo = body.replyTo;
  if (body.metadata) folded.metadata = body.metadata;
  if (body.sentAt !== undefined) folded.sentAt = body.sentAt;

  const reactions = new Map<string, Map<string, boolean>>();
  for (const event of [...related].sort(compareMessages)) {
    if (!mayApply(message, event)) continue;
    const change = event.body;
    if (change.type === 'edit') {
      if (folded.deleted) continue;
      folded.text = change.text;
      folded.editedAt = event.hlc.wall;
    } else if (change.type === 'delete') {
      folded.deleted = true;
    } else {
      let byEmoji = reactions.get(change.emoji);
      if (!byEmoji) reactions.set(change.emoji, (byEmoji = new Map<string, boolean>()));
      byEmoji.set(participantKey(change.author), change.add);
    }
  }
  if (folded.deleted) {
    folded.text = '';
    delete folded.attachment;
    delete folded.metadata;
    folded.mentions = [];
  }
  for (const emoji of [...reactions.keys()].sort()) {
    const who = [...reactions.get(emoji)!].filter(([, on]) => on).map(([key]) => key).sort();
    if (who.length > 0) folded.reactions[emoji] = who;
  }
  return folded;
}
