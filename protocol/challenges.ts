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
 *
 * `challengeParams` checks each request's params where they enter a program: the server what the
 * extension sends, the extension what the chat panel posts (a judging card). The rules across
 * fields and those that need the challenge (a persona takes part once, no judge judges itself,
 * the card scores exactly the answers) stay with the service (server/src/challenges/validate.ts),
 * which also checks the CLI's specs and the mesh's snapshots.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { signalCategories, type PersonaRef, type SignalCategory } from './academy';
import { integer, isRecord, list, object, oneOf, refine, text, type Check } from './check';
import { ServiceError } from './errors';
import { roomIdCheck } from './rooms';
import { overLimit } from './sizeLimit';

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
  maxNodeIdChars: 100,
  /** A persona id or a judge's participant id. */
  maxParticipantIdChars: 64,
  maxNameChars: 200,
  maxChallengeIdChars: 64,
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

// ---------------------------------------------------------------- checkers of the params

/** A whole number of ms within the limits, in the service's words ("between 1 s and 60 min"). */
const duration: Check<number> = (value, name) => {
  const { minTimeLimitMs: min, maxTimeLimitMs: max } = challengeLimits;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ServiceError('invalid', `${name} must be between ${min / 1000} s and ${max / 60_000} min`);
  return value;
};

/** A list of `min` to `max` entries; a count outside says `words`. */
function between<T>(item: Check<T>, min: number, max: number, itemName: string, words: string): Check<T[]> {
  const entries = list(item, max, itemName);
  return (value, name) => {
    if (Array.isArray(value) && (value.length < min || value.length > max)) throw new ServiceError('invalid', words);
    return entries(value, name);
  };
}

const nodeId = text({ max: challengeLimits.maxNodeIdChars, singleLine: true });
const participantId = text({ max: challengeLimits.maxParticipantIdChars, singleLine: true, pattern: /^[^/]+$/ });
const displayName = text({ max: challengeLimits.maxNameChars, allowEmpty: true });

const participant: Check<PersonaRef> = object({ nodeId, personaId: participantId, name: displayName }, { nodeId: "a participant's node id", personaId: "a participant's persona id", name: "a participant's name" });

const judge: Check<JudgeRef> = refine(
  object(
    { kind: oneOf(['human', 'persona'] as const, 'a judge is either a person (human) or a persona'), nodeId, participantId, name: displayName },
    { nodeId: "a judge's node id", participantId: "a judge's participant id", name: "a judge's name" },
  ),
  (value) => {
    if (value.kind === 'human' && value.participantId !== 'user') throw new ServiceError('invalid', 'a judge is a person, whose participant id is "user"');
  },
);

const weight: Check<number> = (value, name) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw new ServiceError('invalid', `${name} must be between 0 and 1`);
  return value;
};

const weights: Check<CriteriaWeights> = refine(
  object(Object.fromEntries(challengeCriteria.map((c) => [c, weight])) as Record<ChallengeCriterion, Check<number>>, Object.fromEntries(challengeCriteria.map((c) => [c, `the weight of ${c}`]))),
  (value) => {
    const sum = challengeCriteria.reduce((total, c) => total + value[c], 0);
    if (Math.abs(sum - 1) > challengeLimits.weightTolerance) throw new ServiceError('invalid', `the criteria weights must sum to 1 (they sum to ${Math.round(sum * 1000) / 1000})`);
  },
);

const spec: Check<ChallengeSpec> = object(
  {
    title: refine(text({ max: challengeLimits.maxTitleChars, singleLine: true }), (value, label) => {
      if (value.trim() === '') throw new ServiceError('invalid', `${label} is empty`);
    }),
    description: text({ max: challengeLimits.maxDescriptionChars, allowEmpty: true }),
    type: oneOf(challengeTypes, `the type is one of ${challengeTypes.join(', ')}`),
    difficulty: oneOf(challengeDifficulties, `the difficulty is one of ${challengeDifficulties.join(', ')}`),
    roomId: roomIdCheck,
    timeLimitMs: duration,
    judgingMs: duration,
    participants: between(participant, 2, challengeLimits.maxParticipants, 'a participant', `a challenge needs 2 to ${challengeLimits.maxParticipants} participants`),
    judges: between(judge, 1, challengeLimits.maxJudges, 'a judge', `a challenge needs 1 to ${challengeLimits.maxJudges} judges`),
    weights,
  },
  { title: 'the title', description: 'the description', roomId: 'the room id', timeLimitMs: 'the time limit', judgingMs: 'the judging time', participants: 'the participants', judges: 'the judges', weights: 'the criteria weights' },
);

const answerLabel = /^[A-Z]{1,3}$/;
const score = integer(0, challengeLimits.maxScore);

/**
 * A judging card: answer label → a whole score 0…10 per criterion (other fields dropped). Which
 * labels it must score is the service's to check: it knows the answers.
 */
const judgingCard: Check<Record<string, CriteriaScores>> = (value) => {
  if (!isRecord(value)) throw new ServiceError('invalid', 'the scores are not an object of answer label → scores');
  const labels = Object.keys(value);
  if (labels.length === 0) throw new ServiceError('invalid', 'the scores name no answer');
  if (labels.length > challengeLimits.maxParticipants) throw new ServiceError('too-large', `the scores name ${overLimit(labels.length, challengeLimits.maxParticipants, 'answers')}`);
  const card: Record<string, CriteriaScores> = {};
  for (const label of labels) {
    if (!answerLabel.test(label)) throw new ServiceError('invalid', `there is no answer ${JSON.stringify(label.slice(0, 20))}`);
    const scores = value[label];
    if (!isRecord(scores)) throw new ServiceError('invalid', `answer ${label} is not scored`);
    card[label] = Object.fromEntries(challengeCriteria.map((c) => [c, score(scores[c], `answer ${label}: ${c}`)])) as CriteriaScores;
  }
  return card;
};

export const challengeParams = {
  start: spec,
  score: object({ challengeId: text({ max: challengeLimits.maxChallengeIdChars, singleLine: true }), scores: judgingCard }, { challengeId: 'the challenge id', scores: 'the scores' }),
} satisfies { start: Check<ChallengeSpec>; score: Check<SubmitScoresParams> };
