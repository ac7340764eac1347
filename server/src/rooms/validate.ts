/**
 * Checks of what arrives from the mesh (untrusted) and of what the local user asks for. Remote
 * input is never trusted: every field is checked for type and size before it is stored.
 */
import { messageIdPattern, roomIdPattern, roomLimits, roomWireLimits, type Author, type CodeAttachment, type Hlc, type RoomEvent, type RoomEventBody } from '../../../protocol/rooms';
import { overLimit } from '../../../protocol/sizeLimit';
import { ServiceError } from '../../../protocol/errors';

/** Node ids are base32 on the mesh; tests use short names. No `:` (message ids are `origin:seq`). */
const originPattern = /^[A-Za-z0-9_-]{1,128}$/;
const participantKinds = new Set(['human', 'persona', 'system']);
const eventTypes = new Set(['message', 'edit', 'delete', 'reaction', 'joined', 'left']);

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBoundedString(value: unknown, max: number, min = 0): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

export function isOrigin(value: unknown): value is string {
  return typeof value === 'string' && originPattern.test(value);
}

export function isRoomId(value: unknown): value is string {
  return typeof value === 'string' && roomIdPattern.test(value);
}

export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && messageIdPattern.test(value);
}

export function isHlc(value: unknown): value is Hlc {
  return (
    isRecord(value) &&
    Number.isSafeInteger(value.wall) && (value.wall as number) >= 0 &&
    Number.isSafeInteger(value.logical) && (value.logical as number) >= 0
  );
}

export function isAuthor(value: unknown): value is Author {
  return (
    isRecord(value) &&
    isOrigin(value.nodeId) &&
    isBoundedString(value.participantId, roomWireLimits.maxNameChars, 1) &&
    !value.participantId.includes('/') &&
    isBoundedString(value.displayName, roomWireLimits.maxNameChars) &&
    typeof value.kind === 'string' && participantKinds.has(value.kind)
  );
}

export function isAttachment(value: unknown): value is CodeAttachment {
  return (
    isRecord(value) &&
    isBoundedString(value.path, 1024) &&
    isBoundedString(value.language, 64) &&
    Number.isSafeInteger(value.startLine) && (value.startLine as number) >= 1 &&
    Number.isSafeInteger(value.endLine) && (value.endLine as number) >= (value.startLine as number) &&
    typeof value.content === 'string'
  );
}

/** Why a message's content breaks a limit (one line), or undefined. */
export function messageLimitProblem(text: string, attachment: CodeAttachment | undefined): string | undefined {
  const bytes = utf8Bytes(text);
  if (bytes > roomLimits.maxMessageBytes) return `the message is ${overLimit(bytes, roomLimits.maxMessageBytes)}`;
  if (attachment) {
    const attachmentBytes = utf8Bytes(attachment.content);
    if (attachmentBytes > roomLimits.maxAttachmentBytes) return `the attached code is ${overLimit(attachmentBytes, roomLimits.maxAttachmentBytes)}`;
  }
  return undefined;
}

export function metadataProblem(metadata: unknown): string | undefined {
  if (metadata === undefined) return undefined;
  if (!isRecord(metadata)) return 'message metadata must be an object';
  const bytes = utf8Bytes(JSON.stringify(metadata));
  if (bytes > roomWireLimits.maxMetadataBytes) return `the message metadata is ${overLimit(bytes, roomWireLimits.maxMetadataBytes)}`;
  return undefined;
}

/**
 * How a node treats a received event:
 * - `drop`: unusable (no valid room/origin/seq/hlc, or oversized): not stored at all;
 * - `ignore`: well-addressed but of an unknown or malformed kind: stored so the origin's sequence
 *   stays contiguous (and passed on by sync), never shown;
 * - `refuse`: breaks a rule (forged author, over a limit): stored, logged, never shown;
 * - `accept`.
 */
export type EventVerdict = { kind: 'drop'; reason: string } | { kind: 'ignore'; event: RoomEvent; reason: string } | { kind: 'refuse'; event: RoomEvent; reason: string } | { kind: 'accept'; event: RoomEvent };

export function checkRemoteEvent(value: unknown): EventVerdict {
  if (!isRecord(value)) return { kind: 'drop', reason: 'not an object' };
  const { roomId, origin, roomSeq, hlc, body } = value;
  if (!isRoomId(roomId)) return { kind: 'drop', reason: 'bad room id' };
  if (!isOrigin(origin)) return { kind: 'drop', reason: 'bad origin' };
  if (!Number.isSafeInteger(roomSeq) || (roomSeq as number) < 1) return { kind: 'drop', reason: 'bad roomSeq' };
  if (!isHlc(hlc)) return { kind: 'drop', reason: 'bad hlc' };
  let json: string;
  try {
    json = JSON.stringify(body) ?? 'null';
  } catch {
    return { kind: 'drop', reason: 'body is not serialisable' };
  }
  const bytes = utf8Bytes(json);
  if (bytes > roomWireLimits.maxEventBytes) return { kind: 'drop', reason: `the event body is ${overLimit(bytes, roomWireLimits.maxEventBytes)}` };
  const event: RoomEvent = { roomId, origin, roomSeq: roomSeq as number, hlc: { wall: hlc.wall, logical: hlc.logical }, body: JSON.parse(json) as RoomEventBody };
  if (isBoundedString(value.key, 64, 1) && isBoundedString(value.sig, 128, 1)) {
    event.key = value.key;
    event.sig = value.sig;
  }
  const problem = bodyProblem(body);
  if (problem) return { kind: 'ignore', event, reason: problem };
  const typed = event.body;
  if (typed.author.nodeId !== origin) return { kind: 'refuse', event, reason: `the event claims author ${typed.author.nodeId}/${typed.author.participantId} but comes from node ${origin}` };
  if (typed.type === 'message') {
    const limit = messageLimitProblem(typed.text, typed.attachment) ?? metadataProblem(typed.metadata);
    if (limit) return { kind: 'refuse', event, reason: limit };
  }
  if (typed.type === 'edit') {
    const limit = messageLimitProblem(typed.text, undefined);
    if (limit) return { kind: 'refuse', event, reason: limit };
  }
  return { kind: 'accept', event };
}

/** Why a body is not a well-formed RoomEventBody, or undefined. */
export function bodyProblem(body: unknown): string | undefined {
  if (!isRecord(body)) return 'body is not an object';
  if (typeof body.type !== 'string' || !eventTypes.has(body.type)) return `unknown event type ${JSON.stringify(body.type)}`;
  if (!isAuthor(body.author)) return 'bad author';
  switch (body.type) {
    case 'message':
      if (typeof body.text !== 'string') return 'bad text';
      if (body.attachment !== undefined && !isAttachment(body.attachment)) return 'bad attachment';
      if (body.replyTo !== undefined && !isMessageId(body.replyTo)) return 'bad replyTo';
      if (!Array.isArray(body.mentions) || body.mentions.length > roomWireLimits.maxMentions || !body.mentions.every((m) => isBoundedString(m, 300))) return 'bad mentions';
      if (body.metadata !== undefined && !isRecord(body.metadata)) return 'bad metadata';
      if (body.sentAt !== undefined && !(typeof body.sentAt === 'number' && Number.isFinite(body.sentAt))) return 'bad sentAt';
      return undefined;
    case 'edit':
      if (!isMessageId(body.messageId)) return 'bad messageId';
      if (typeof body.text !== 'string') return 'bad text';
      return undefined;
    case 'delete':
      return isMessageId(body.messageId) ? undefined : 'bad messageId';
    case 'reaction':
      if (!isMessageId(body.messageId)) return 'bad messageId';
      if (!isBoundedString(body.emoji, roomWireLimits.maxEmojiChars, 1)) return 'bad emoji';
      if (typeof body.add !== 'boolean') return 'bad add';
      return undefined;
    default:
      return undefined;
  }
}

/** Throws a ServiceError unless `roomId` is a valid room id. */
export function requireRoomId(roomId: unknown): string {
  if (!isRoomId(roomId)) {
    throw new ServiceError('invalid', `"${String(roomId).slice(0, 80)}" is not a valid room name: use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit`);
  }
  return roomId;
}

export function requireMessageId(messageId: unknown): string {
  if (!isMessageId(messageId)) throw new ServiceError('invalid', `"${String(messageId).slice(0, 80)}" is not a message id`);
  return messageId;
}
