/**
 * The academy: training signals about personas, the scores and ratings computed from them, and
 * the export of exchanges as training data. Declared once, imported by the server and the
 * extension. Each method's comment says which way it travels.
 *
 * On the mesh, a node publishes the signals it records on `/academy/signals` (reliable lane);
 * nodes catch up after a partition or restart by pulling from each peer on
 * `/academy/sync/{nodeId}` (see server/src/academy/sync.ts). Signals are signed by the node that
 * recorded them and de-duplicated by id, so every node holds the same set and computes the same
 * scores from it.
 *
 * `academyParams` checks each request's params where they enter the server (check.ts); the
 * Academy keeps its own checks of what needs its state (the rated message, its author).
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import { integer, object, oneOf, optional, text, type Check } from './check';
import { ServiceError } from './errors';
import { messageIdCheck, roomIdCheck } from './rooms';

export const signalCategories = ['technical', 'collaborative', 'innovative', 'reliable'] as const;
export type SignalCategory = (typeof signalCategories)[number];

export const signalSources = ['thumbs', 'review', 'test_outcome', 'compilation_result', 'challenge'] as const;
export type SignalSource = (typeof signalSources)[number];

/** A persona, unique mesh-wide by (nodeId, personaId): the node that hosts it and its id there. */
export interface PersonaRef {
  nodeId: string;
  personaId: string;
  /** Display name when the signal was recorded. */
  name: string;
}

/** `nodeId/personaId`: the participant key of the persona in rooms. */
export function personaKey(persona: Pick<PersonaRef, 'nodeId' | 'personaId'>): string {
  return `${persona.nodeId}/${persona.personaId}`;
}

export interface SignalContext {
  /** What the persona was asked (the message it answered, the code it reviewed...). */
  input: string;
  expected?: string;
  /** What the persona produced. */
  actual?: string;
  /** A correction or the suggestion that was applied. */
  suggestion?: string;
}

/** The fields a signal is made of, before the recording node signs it. */
export interface UnsignedSignal {
  /** Unique mesh-wide: hex SHA-256 of the signed content (see server/src/academy/signing.ts). */
  id: string;
  persona: PersonaRef;
  /** Room (or review / challenge session) id. */
  room: string;
  /** The persona's message that was judged, when there is one (`origin:roomSeq`). */
  messageId?: string;
  /** The message the persona answered (its prompt), when known. */
  promptId?: string;
  category: SignalCategory;
  /** -1 (bad) … 1 (good). */
  value: number;
  source: SignalSource;
  reason?: string;
  context: SignalContext;
  /** Wall-clock ms on the recording node. */
  ts: number;
  /**
   * A later signal of the same signer and slot replaces an earlier one (the newest by ts, then id,
   * wins): a thumb changed or taken back. Thumbs use `thumbs:{roomId}/{messageId}`.
   */
  slot?: string;
  /** The signer took its judgement back: the slot counts for nothing. */
  withdrawn?: boolean;
  /** Challenge results: the persona this one was compared with (value 1 won, -1 lost, 0 draw). */
  opponent?: PersonaRef;
  /** Node id of the node that recorded (and signs) the signal. */
  signer: string;
}

export interface Signal extends UnsignedSignal {
  /** The signer's Ed25519 public key (base64, 32 bytes); the signer's node id is its hash. */
  signerKey: string;
  /** Ed25519 signature (base64) over the canonical JSON of every other field. */
  signature: string;
}

export const academyLimits = {
  /** Characters kept of each context field (input, expected, actual, suggestion). */
  maxContextChars: 8000,
  maxReasonChars: 1000,
  /** A whole signal as JSON. */
  maxSignalBytes: 48 * 1024,
  /** A persona key (`nodeId/personaId`) in a request. */
  maxPersonaKeyChars: 300,
  /** Signals in one answer of mesh/academy/signals (100 when the request says none). */
  maxSignalsPage: 1000,
  /** A room or session id in an export filter (a signal's `room`). */
  maxRoomChars: 200,
  /** The export file's path. */
  maxExportPathChars: 4096,
} as const;

/** A signal to record, as other components (review, task outcomes, challenges) describe it: the signer adds its id, time and node. */
export type RecordSignalInput = Omit<UnsignedSignal, 'id' | 'ts' | 'signer'>;

export const academyTopics = {
  /** Reliable lane: signals recorded by their signer. */
  signals: '/academy/signals',
  /** Reliable lane, addressed to one node: anti-entropy pulls and their batches. */
  sync: (nodeId: string) => `/academy/sync/${nodeId}`,
} as const;

/** Anti-entropy: ask a peer for the signals it stored after `after` (its own local order). */
export type AcademySyncMessage =
  | { kind: 'pull'; requestId: number; epoch?: string; after: number }
  | { kind: 'batch'; requestId: number; epoch: string; signals: Signal[]; last: number; more: boolean };

// ---------------------------------------------------------------- scores

/** Scores of one persona in one category (or all categories together). */
export interface CategoryScore {
  /** Signals counted (after replacements and withdrawals). */
  count: number;
  /** Sum of the decay weights: the "effective" number of signals. */
  weight: number;
  /** Exponentially decayed mean of the values, in [-1, 1]. */
  mean: number;
  /** Wilson lower bound of the decayed mean, mapped back to [-1, 1]: what ranks. */
  lowerBound: number;
}

export interface LatencyScore {
  count: number;
  p50Ms: number;
  p95Ms: number;
}

export interface PersonaScores {
  persona: PersonaRef;
  key: string;
  /** Every category together. */
  overall: CategoryScore;
  categories: Partial<Record<SignalCategory, CategoryScore>>;
  latency?: LatencyScore;
  /** Live Elo from pairwise results (1000 at start). */
  elo: number;
  /** Bradley-Terry strength on the Elo scale (1000 = the average persona with games). */
  rating: number;
  /** Pairwise results counted. */
  games: number;
}

export interface Leaderboard {
  /** Ranked: rating when the persona has games, then overall lower bound, then key. */
  personas: PersonaScores[];
  /** Signals the board was computed from. */
  signalCount: number;
  /** Newest signal ts (the decay reference). */
  asOf: number;
}

// ---------------------------------------------------------------- export

export const exportFormats = ['openai', 'dpo', 'kto'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface ExportFilter {
  /** A persona key (`nodeId/personaId`), a persona id or a name. */
  persona?: string;
  room?: string;
  /** Only signals at or after this wall-clock ms. */
  since?: number;
}

export interface ExportSummary {
  format: ExportFormat;
  written: number;
  /** reason → count of exchanges left out. */
  skipped: Record<string, number>;
}

// ---------------------------------------------------------------- extension ↔ server

/** A thumbs up/down from the chat panel; `rating: null` takes it back. Same shape as the webview's RateParams. */
export interface AcademyRateParams {
  roomId: string;
  messageId: string;
  /** Participant key (`nodeId/participantId`) of the persona that wrote the message. */
  persona: string;
  rating: 'up' | 'down' | null;
  reason?: string;
  /** Defaults to `technical`. */
  category?: SignalCategory;
}

/** client → server: record a thumbs signal on a persona message (the chat panel's 👍/👎). Returns the signal, or null when taken back with nothing to take. */
export namespace AcademyRateRequest {
  export const method = 'mesh/academy/rate';
  export const type = new RequestType<AcademyRateParams, Signal | null, void>(method);
}

export interface AcademyLeaderboardParams {
  category?: SignalCategory;
  /** The board as it was from the signals dated before this wall-clock ms (for trends). */
  before?: number;
}

/** client → server: the leaderboard, optionally for one category. */
export namespace AcademyLeaderboardRequest {
  export const method = 'mesh/academy/leaderboard';
  export const type = new RequestType<AcademyLeaderboardParams, Leaderboard, void>(method);
}

export interface AcademySignalsParams {
  /** Persona key (`nodeId/personaId`). */
  persona: string;
  category?: SignalCategory;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
  /** Only signals older than this ts (paging). */
  before?: number;
}

/** client → server: the signals behind a persona's score, newest first. */
export namespace AcademySignalsRequest {
  export const method = 'mesh/academy/signals';
  export const type = new RequestType<AcademySignalsParams, Signal[], void>(method);
}

export interface AcademyExportParams extends ExportFilter {
  format: ExportFormat;
  /** Absolute path of the JSONL file to write (the client asked the user where). */
  path: string;
}

/** client → server: write training data as JSONL; returns what was written and what was skipped. */
export namespace AcademyExportRequest {
  export const method = 'mesh/academy/export';
  export const type = new RequestType<AcademyExportParams, ExportSummary, void>(method);
}

/** server → client: a signal was recorded here or received from the mesh (the leaderboard may have changed). */
export namespace AcademySignalNotification {
  export const method = 'mesh/academy/signal';
  export const type = new NotificationType<Signal>(method);
}

// ---------------------------------------------------------------- checkers of the params

/** The words of the room requests (roomsRpc.ts) and of the Academy's own check. */
const roomId = roomIdCheck;
const messageId = messageIdCheck;
/** A persona key `nodeId/personaId` in a request (also review.ts). */
export const personaKeyCheck: Check<string> = text({ max: academyLimits.maxPersonaKeyChars, singleLine: true, pattern: /^[^/]+\/.+$/, hint: 'the persona must be a persona key (nodeId/personaId)' });

const categories: ReadonlySet<unknown> = new Set(signalCategories);
const category: Check<SignalCategory> = (value, name) => {
  if (typeof value !== 'string') throw new ServiceError('invalid', `${name} must be one of ${signalCategories.join(', ')}`);
  if (!categories.has(value)) throw new ServiceError('invalid', `"${value.slice(0, 40)}" is not a category (${signalCategories.join(', ')})`);
  return value as SignalCategory;
};

const upOrDown = oneOf(['up', 'down'] as const, 'a rating is "up", "down" or null');
/** `null` is a value here (the rating taken back), not an absent one. */
const rating: Check<'up' | 'down' | null> = (value, name) => (value === null ? null : upOrDown(value, name));

/** A wall-clock time in ms (`before`, `since`). */
const time: Check<number> = (value, name) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ServiceError('invalid', `${name} must be a time in ms`);
  return value;
};

export const academyParams = {
  rate: object(
    { roomId, messageId, persona: personaKeyCheck, rating, reason: optional(text({ max: academyLimits.maxReasonChars, allowEmpty: true })), category: optional(category) },
    { roomId: 'the room id', messageId: 'the message id', persona: 'the persona', rating: 'the rating', reason: 'the reason', category: 'the category' },
  ),
  /** No params at all is the board of every category. */
  leaderboard: optional(object({ category: optional(category), before: optional(time) }, { category: 'the category' })),
  signals: object({ persona: personaKeyCheck, category: optional(category), limit: optional(integer(1, academyLimits.maxSignalsPage)), before: optional(time) }, { persona: 'the persona', category: 'the category', limit: 'the limit' }),
  /** The path is checked by the server (absolute on its own system, writable). */
  export: object(
    {
      format: oneOf(exportFormats, `the format is one of ${exportFormats.join(', ')}`),
      path: text({ max: academyLimits.maxExportPathChars, singleLine: true }),
      persona: optional(text({ max: academyLimits.maxPersonaKeyChars, singleLine: true, allowEmpty: true })),
      room: optional(text({ max: academyLimits.maxRoomChars, singleLine: true, allowEmpty: true })),
      since: optional(time),
    },
    { path: 'the export path', persona: 'the persona', room: 'the room' },
  ),
} satisfies { rate: Check<AcademyRateParams>; leaderboard: Check<AcademyLeaderboardParams | undefined>; signals: Check<AcademySignalsParams>; export: Check<AcademyExportParams> };
