/**
 * Messages between the chat panel webview and the extension: one typed union each way.
 *
 * The webview renders remote (untrusted) text, so the extension treats every FromWebview message
 * as untrusted input: it checks shapes and sizes (extension/src/chat/validate.ts) and runs only
 * allow-listed commands. Requests carry an `id`; the extension always answers each one with a
 * `response` (a result, or a one-line error for the user), so the panel never waits forever.
 */
import type { HistoryPage, HistoryParams, MessageRef, SendMessageParams } from './roomsRpc';
import type { ChatMessage, Participant, PresenceState, RoomSummary, TypingEvent } from './rooms';
import type { NodeStatus } from './status';
import type { ChallengeView, SubmitScoresParams } from './challenges';

/** What the panel may ask the extension to do, with the answer it gets back. */
export interface WebviewRequests {
  listRooms: { params: Record<string, never>; result: RoomSummary[] };
  joinRoom: { params: { roomId: string }; result: RoomSummary };
  leaveRoom: { params: { roomId: string }; result: null };
  history: { params: HistoryParams; result: HistoryPage };
  /** The message itself comes as a `message` post before the answer (MessageRef). */
  send: { params: SendMessageParams; result: MessageRef };
  edit: { params: { roomId: string; messageId: string; text: string }; result: MessageRef };
  delete: { params: { roomId: string; messageId: string }; result: null };
  react: { params: { roomId: string; messageId: string; emoji: string; add: boolean }; result: MessageRef };
  setPresence: { params: { presence: PresenceState; statusText?: string }; result: Participant };
  /** Inserts code at the cursor of the active text editor. */
  insertCode: { params: { code: string; language?: string }; result: null };
  /** Opens a workspace-relative file at a 1-based inclusive line range (a code attachment). */
  openAttachment: { params: { path: string; startLine: number; endLine: number }; result: null };
  /** Copies text to the clipboard (through the editor: works in every webview host). */
  copyText: { params: { text: string }; result: null };
  /** The person here submits their judging card for a challenge (see protocol/challenges.ts). */
  submitScores: { params: SubmitScoresParams; result: null };
}

export type WebviewMethod = keyof WebviewRequests;

export type WebviewRequest = {
  [M in WebviewMethod]: { type: 'request'; id: number; method: M; params: WebviewRequests[M]['params'] };
}[WebviewMethod];

/** A thumbs up/down on a persona message, for the academy. `rating: null` takes it back. */
export interface RateParams {
  roomId: string;
  messageId: string;
  /** Participant key (`nodeId/participantId`) of the persona that wrote the message. */
  persona: string;
  rating: 'up' | 'down' | null;
}

/** extension → webview */
export type ToWebview =
  | { type: 'status'; status: NodeStatus | undefined; serverRunning: boolean }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: string }
  /** Every room this node knows changed (list, membership, participants, presence). */
  | { type: 'rooms'; rooms: RoomSummary[] }
  /** A message was added or changed (new, edited, deleted, reacted, streamed). */
  | { type: 'message'; message: ChatMessage }
  | { type: 'typing'; event: TypingEvent }
  /** Show this room (e.g. the panel was opened on it from a command). */
  /** `mention` (`@id`) is added to the room's draft and the composer focused (Mention Persona in Chat). */
  | { type: 'showRoom'; roomId: string; mention?: string }
  /** The challenges the person here is asked to judge now (answers anonymised); empty when none. */
  | { type: 'judging'; challenges: ChallengeView[] };

/** webview → extension */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'runCommand'; command: WebviewCommand }
  | WebviewRequest
  /** The user is typing in a room (the panel sends it at most every 2 s). */
  | { type: 'typing'; roomId: string }
  /** The room the panel shows now (for commands that post "into the current room"). */
  | { type: 'roomShown'; roomId: string }
  | ({ type: 'rate' } & RateParams)
  /** A link in a message was clicked: only http(s) and mailto are opened, after the editor's confirmation. */
  | { type: 'openLink'; url: string };

/** The commands a webview may ask the extension to run (an allow-list, not arbitrary ids). */
export type WebviewCommand = 'personaMesh.showStatus' | 'personaMesh.setMeshKey' | 'personaMesh.showLogs' | 'personaMesh.restartServer';

/** Where the reader was in a room: the message at the top of the view and how far it was scrolled. */
export interface ScrollAnchor {
  messageId: string;
  /** Pixels from the top of that message to the top of the viewport. */
  offset: number;
  /** Following the newest message (scrolled to the bottom). */
  atBottom: boolean;
}

/** Persisted with the webview's setState so the panel survives hide/show and reload. */
export interface WebviewState {
  version: 1;
  lastStatus?: NodeStatus;
  currentRoom?: string;
  /** Unsent composer text per room. */
  drafts?: Record<string, string>;
  scroll?: Record<string, ScrollAnchor>;
  /** Per room, the message count the user has seen (unread = RoomSummary.messageCount - seen). */
  seen?: Record<string, number>;
  /** Thumbs the user gave persona messages (kept so the buttons show them after reload). */
  ratings?: Record<string, 'up' | 'down'>;
  /** The last rooms list, so the panel draws at once after hide/show. */
  rooms?: RoomSummary[];
}
