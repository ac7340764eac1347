/**
 * Rooms: the chat domain shared by the mesh server, the extension and the chat panel.
 *
 * On the mesh, each node numbers the room events it originates per room: `roomSeq` is 1, 2, 3…
 * without gaps, persisted, so a node can tell exactly what it is missing from an origin.
 * Events travel on `/chat/room/{roomId}/events/{eventType}` (see `topics` in ./mesh).
 * Sync after a reconnect or restart: a node sends each peer, per room, the highest roomSeq it
 * holds contiguously from every origin; the peer answers with every event above that.
 */

import { text, type Check } from './check';

export type ParticipantKind = 'human' | 'persona' | 'system';

/** Who wrote something: unique mesh-wide by (nodeId, participantId). */
export interface Author {
  nodeId: string;
  /** Stable on its node: `user` for the human at a VS Code window, the persona id for a persona. */
  participantId: string;
  displayName: string;
  kind: ParticipantKind;
}

/** A participant of this node (its human, a persona, a system agent): an Author without the node. */
export interface LocalParticipant {
  participantId: string;
  displayName: string;
  kind: ParticipantKind;
}

export function participantKey(author: Pick<Author, 'nodeId' | 'participantId'>): string {
  return `${author.nodeId}/${author.participantId}`;
}

/** A code selection posted with a message ("Ask Room About Selection"). */
export interface CodeAttachment {
  /** Workspace-relative path with `/` separators. */
  path: string;
  /** VS Code language id. */
  language: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  content: string;
}

/** Hybrid logical clock: wall ms and a counter that breaks ties and absorbs clock skew. */
export interface Hlc {
  wall: number;
  logical: number;
}

/** Display order: HLC, then origin, then roomSeq. Every node sorts the same history the same way. */
export function compareMessages(a: Pick<ChatMessage, 'hlc' | 'origin' | 'roomSeq'>, b: Pick<ChatMessage, 'hlc' | 'origin' | 'roomSeq'>): number {
  return (
    a.hlc.wall - b.hlc.wall ||
    a.hlc.logical - b.hlc.logical ||
    (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0) ||
    a.roomSeq - b.roomSeq
  );
}

/** A message as the panel shows it: the original event with edits, deletion and reactions folded in. */
export interface ChatMessage {
  /** `${origin}:${roomSeq}`: unique mesh-wide. */
  id: string;
  roomId: string;
  origin: string;
  roomSeq: number;
  author: Author;
  /** Markdown; remote text is untrusted and rendered sanitised. */
  text: string;
  attachment?: CodeAttachment;
  replyTo?: string;
  /** Participant keys (`nodeId/participantId`) mentioned with @. */
  mentions: string[];
  /** Order key. Usually the author's clock; see `sentAt`. */
  hlc: Hlc;
  /**
   * The author's wall clock (ms) when `hlc` had to be set past it: the room held a message with a
   * later timestamp (a peer's clock runs ahead) and this one must order after it. Show this time.
   */
  sentAt?: number;
  editedAt?: number;
  deleted?: boolean;
  /** emoji → participant keys that reacted with it. */
  reactions: Record<string, string[]>;
  /** A persona reply still being streamed. */
  streaming?: boolean;
  metadata?: Record<string, unknown>;
}

/** The events of a room, as they travel on the mesh and are stored. */
export type RoomEventBody =
  | { type: 'message'; author: Author; text: string; attachment?: CodeAttachment; replyTo?: string; mentions: string[]; metadata?: Record<string, unknown>; sentAt?: number }
  | { type: 'edit'; messageId: string; author: Author; text: string }
  | { type: 'delete'; messageId: string; author: Author }
  | { type: 'reaction'; messageId: string; author: Author; emoji: string; add: boolean }
  | { type: 'joined'; author: Author }
  | { type: 'left'; author: Author };

export type RoomEventType = RoomEventBody['type'];

/** A stored, sequenced room event. */
export interface RoomEvent {
  roomId: string;
  origin: string;
  roomSeq: number;
  hlc: Hlc;
  body: RoomEventBody;
  /**
   * The origin's Ed25519 public key (base64, 32 bytes; the origin's node id is its hash) and its
   * signature (base64) over the canonical JSON of {roomId, origin, roomSeq, hlc, body}, so an
   * event relayed by sync cannot be forged or altered by the nodes it passes through.
   */
  key?: string;
  sig?: string;
}

export interface RoomSummary {
  id: string;
  name: string;
  joined: boolean;
  messageCount: number;
  lastActivity?: number;
  /** Participants currently in the room, as far as this node knows. */
  participants: Participant[];
}

export type PresenceState = 'online' | 'away' | 'busy' | 'training' | 'evolving' | 'collaborating' | 'offline';

export interface Participant extends Author {
  presence: PresenceState;
  statusText?: string;
}

/** Typing indicators travel on the fast lane and expire on their own. */
export interface TypingEvent {
  roomId: string;
  author: Author;
  /** Receivers drop the indicator after this many ms without a refresh. */
  ttlMs: number;
}

/** Room ids are lower-case names: letters, digits, `-` and `_`, 1-64 characters. */
export const roomIdPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Message ids are `origin:roomSeq` (the origin is a node id; tests use short names). */
export const messageIdPattern = /^[A-Za-z0-9_-]{1,128}:[1-9][0-9]{0,15}$/;

/** The origin and per-room number a message id (`origin:roomSeq`) is made of. */
export function parseMessageId(messageId: string): { origin: string; roomSeq: number } {
  const at = messageId.lastIndexOf(':');
  return { origin: messageId.slice(0, at), roomSeq: Number(messageId.slice(at + 1)) };
}

/** The checkers of a room id and a message id in any request (check.ts), with the same words everywhere. */
export const roomIdCheck: Check<string> = text({ max: 64, pattern: roomIdPattern, hint: (value) => `"${value.slice(0, 80)}" is not a valid room name: use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit` });
export const messageIdCheck: Check<string> = text({ max: 160, pattern: messageIdPattern, hint: (value) => `"${value.slice(0, 80)}" is not a message id` });
export const defaultRoomId = 'general';

export const roomLimits = {
  maxMessageBytes: 16 * 1024,
  maxAttachmentBytes: 64 * 1024,
  /** An attachment's workspace-relative path and language id, in characters. */
  maxPathChars: 1024,
  maxLanguageChars: 64,
  /** Messages in one page of history. */
  maxHistoryPage: 500,
  /** Messages per participant per minute. */
  maxMessagesPerMinute: 60,
} as const;

/**
 * Events per participant per minute of event time, by kind, that every node stores (the excess
 * is dropped by the receiver, whatever the sender's node allowed). Edits include the streaming of
 * a persona's answer (one edit each 500 ms).
 */
export const authorLimitsPerMinute = {
  message: roomLimits.maxMessagesPerMinute,
  edit: 300,
  reaction: 120,
  delete: 60,
  membership: 60,
} as const;

export type AuthorLimitKind = keyof typeof authorLimitsPerMinute;

/** Presence states, in the order the UI lists them. */
export const presenceStates: readonly PresenceState[] = ['online', 'away', 'busy', 'training', 'evolving', 'collaborating', 'offline'];

/** Limits on what a node accepts from the mesh, beyond {@link roomLimits}. */
export const roomWireLimits = {
  /** Status text of a presence, in characters. */
  maxStatusTextChars: 200,
  /** Display names, participant ids and emoji, in characters. */
  maxNameChars: 100,
  maxEmojiChars: 32,
  maxMentions: 100,
  /** A whole event body as JSON (message + attachment + metadata). */
  maxEventBytes: 128 * 1024,
  /** Metadata of a message as JSON. */
  maxMetadataBytes: 8 * 1024,
} as const;

/** Mesh topics of the rooms layer besides the room events themselves. */
export const roomTopics = {
  /** Fast lane: a node's participants and their presence, re-announced periodically. */
  presence: '/presence/participants',
  /** Reliable lane: "these rooms exist", so nodes that have not joined still list them. */
  announce: '/chat/rooms/announce',
  /** Reliable lane, addressed to one node: anti-entropy sync messages for `nodeId`. */
  sync: (nodeId: string) => `/chat/sync/${nodeId}`,
} as const;

/** Presence of one node's participants (fast lane, lossy: re-announced every few seconds). */
export interface PresenceAnnouncement {
  nodeId: string;
  participants: Participant[];
  /** Receivers treat these participants as offline after this many ms without a refresh. */
  ttlMs: number;
}

export interface RoomAnnouncement {
  rooms: { id: string; name: string }[];
}

/**
 * Anti-entropy sync between two nodes. `summary` asks the receiver for every event of the listed
 * rooms above the given per-origin contiguous high-water marks; the receiver answers with one
 * bounded `events` batch (`more` when it holds further events, so the asker asks again).
 */
export type RoomSyncMessage =
  | {
      kind: 'summary';
      requestId: number;
      /** room → origin → highest contiguous roomSeq the asker holds. */
      rooms: Record<string, Record<string, number>>;
      /** room → origin → roomSeq already sent in this chain of batches (may be above a gap): send only above it. */
      after?: Record<string, Record<string, number>>;
    }
  | { kind: 'events'; requestId: number; events: RoomEvent[]; more: boolean };
