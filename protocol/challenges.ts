/**
 * Challenges: personas answer one task within a time limit, judges (people and AI personas) score
 * the anonymised answers on weighted criteria, and the weighted totals rank them. Declared once,
 * imported by the server, the extension and the chat panel. Each method's comment says which way
 * it travels.
 *
 * On the mesh, the coordinator (the node that started the challenge) owns the state and sends a
 * snapshot of it on every change to each node taking part (`/challenges/node/{nodeId}`, reliable
 * lane, a topic only that node subscribes to). Those nodes answer for the participant personas
 * they host, and send the scores of the judges they host, to the coordinator on the same kind of
 * topic. Until the reveal a snapshot names no persona next to an answer: answers travel under
 * labels (A, B, C…) in an order shuffled deterministically from the challenge id.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { signalCategories, type PersonaRef, type SignalCategory } from './academy';

export const challengeTypes = ['technical', 'collaborative', 'creative', 'speed'] as const;
export type ChallengeType = (typeof challengeTypes)[number];

export const challengeDifficulties = ['easy', 'medium', 'hard'] as const;
export type ChallengeDifficulty = (typeof challengeDifficulties)[number];

/** The criteria judges score, the academy's signal categories. */
export const challengeCriteria = signalCategories;
export type ChallengeCriterion = SignalCategory;
export type CriteriaWeights = Record<ChallengeCriterion, number>;

export const challengeStates = ['announced', 'answering', 'judging', 'revealed', 'cancelled'] as const;
export type ChallengeState = (typeof challengeStates)[number];

/** A judge: the person at a node (`participantId` "user"), or an AI judge persona. */
export interface JudgeRef {
  kind: 'human' | 'persona';
  nodeId: string;
  /** "user" for a person, the persona id for an AI judge. */
  participantId: string;
  name: string;
}

export function judgeKey(judge: Pick<JudgeRef, 'nodeId' | 'participantId'>): string {
  return `${judge.nodeId}/${judge.participantId}`;
}

/** What the person starting a challenge chose. */
export interface ChallengeSpec {
  title: string;
  description: string;
  type: ChallengeType;
  difficulty: ChallengeDifficulty;
  /** Room the challenge is announced and revealed in. */
  roomId: string;
  /** How long the participants have to answer. */
  timeLimitMs: number;
  /** How long the judges have once the answers are in. */
  judgingMs: number;
  participants: PersonaRef[];
  judges: JudgeRef[];
  /** Sum to 1. */
  weights: CriteriaWeights;
}

/** Scores of one answer, 0…10 per criterion. */
export type CriteriaScores = Record<ChallengeCriterion, number>;

/** One judge's card: answer label → scores. */
export interface JudgeScores {
  judge: JudgeRef;
  scores: Record<string, CriteriaScores>;
  ts: number;
}

/** An answer as judges see it: a label and the text. */
export interface AnonymousAnswer {
  label: string;
  text: string;
}

/** An answer once revealed (or a forfeit, which has no label). */
export interface RevealedAnswer {
  persona: PersonaRef;
  label?: string;
  text?: string;
  /** Why the persona forfeited (late, its brain failed, its node left). */
  forfeit?: string;
  /** Weighted total, 0…10 (forfeits have none). */
  total?: number;
  /** Mean score per criterion over the judges who scored it. */
  criteria?: Partial<CriteriaScores>;
  /** 1 = best; equal totals share a rank; forfeits rank after every answer. */
  rank: number;
}

/** A challenge as every node taking part holds it. */
export interface ChallengeView {
  id: string;
  /** Node that started it and decides every transition. */
  coordinator: string;
  spec: ChallengeSpec;
  state: ChallengeState;
  /** Bumped on every change: a node keeps the highest it has seen. */
  version: number;
  createdAt: number;
  /** Wall-clock ms by which answers must be in. */
  answerDeadline: number;
  /** Wall-clock ms by which scores must be in (set when judging starts). */
  judgeDeadline?: number;
  /** Personas (keys) that forfeited so far, with the reason: public from the start. */
  forfeits: Record<string, string>;
  /** While judging: the answers under their labels, shuffled. */
  answers?: AnonymousAnswer[];
  /** Keys of the judges whose scores are in. */
  judged: string[];
  /** After the reveal: every participant with its answer, scores and rank, best first. */
  results?: RevealedAnswer[];
  /** After the reveal: every judge's card. */
  scores?: JudgeScores[];
  /** Why the challenge was cancelled. */
  cancelReason?: string;
  updatedAt: number;
}

export const challengeLimits = {
  maxTitleChars: 200,
  maxDescriptionChars: 8000,
  maxParticipants: 16,
  maxJudges: 16,
  maxAnswerChars: 8000,
  minTimeLimitMs: 1000,
  maxTimeLimitMs: 3_600_000,
  /** Weights must sum to 1 within this. */
  weightTolerance: 0.001,
  maxScore: 10,
} as const;

export const challengeTopics = {
  /** Reliable lane, addressed to one node: snapshots from the coordinator, answers and scores to it. */
  node: (nodeId: string) => `/challenges/node/${nodeId}`,
} as const;

/** Mesh bodies on `/challenges/node/{nodeId}`. */
export type ChallengeMeshMessage =
  /** coordinator → each node taking part: the current state. */
  | { kind: 'state'; challenge: ChallengeView }
  /** participant's host → coordinator: an answer, or why there is none. */
  | { kind: 'answer'; challengeId: string; personaId: string; text?: string; forfeit?: string }
  /** judge's host → coordinator: one judge's card (or why the judge could not score). */
  | { kind: 'scores'; challengeId: string; judge: JudgeRef; scores?: Record<string, CriteriaScores>; failed?: string };

/** The fixed JSON an AI judge must answer with: one object per label, 0…10 per criterion. */
export function judgeJsonSchema(labels: readonly string[]): Record<string, unknown> {
  const criterion = { type: 'integer', enum: Array.from({ length: challengeLimits.maxScore + 1 }, (_, i) => i) };
  const card = { type: 'object', properties: Object.fromEntries(challengeCriteria.map((c) => [c, criterion])), required: [...challengeCriteria], additionalProperties: false };
  return { type: 'object', properties: Object.fromEntries(labels.map((l) => [l, card])), required: [...labels], additionalProperties: false };
}

// ---------------------------------------------------------------- extension ↔ server

/** client → server: start a challenge coordinated by this node. */
export namespace StartChallengeRequest {
  export const method = 'mesh/challenges/start';
  export const type = new RequestType<ChallengeSpec, ChallengeView, void>(method);
}

/** client → server: every challenge this node took part in, newest first. */
export namespace ListChallengesRequest {
  export const method = 'mesh/challenges/list';
  export const type = new RequestType0<ChallengeView[], void>(method);
}

export interface SubmitScoresParams {
  challengeId: string;
  /** Answer label → scores 0…10 per criterion; every answer must be scored. */
  scores: Record<string, CriteriaScores>;
}

/** client → server: this node's person submits their judging card. */
export namespace SubmitScoresRequest {
  export const method = 'mesh/challenges/score';
  export const type = new RequestType<SubmitScoresParams, ChallengeView, void>(method);
}

/** server → client: a challenge this node takes part in changed. */
export namespace ChallengeChangedNotification {
  export const method = 'mesh/challenges/changed';
  export const type = new NotificationType<ChallengeView>(method);
}
