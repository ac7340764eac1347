/** Checks of challenge specs, score cards and mesh messages (untrusted input from the client or the mesh). */
import { roomIdPattern } from '../../../protocol/rooms';
import {
  challengeCriteria,
  challengeDifficulties,
  challengeLimits,
  challengeStates,
  challengeTypes,
  type ChallengeSpec,
  type ChallengeView,
  type CriteriaScores,
  type JudgeRef,
} from '../../../protocol/challenges';
import type { PersonaRef } from '../../../protocol/academy';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

function personaProblem(value: unknown, name: string): string | undefined {
  if (!isRecord(value)) return `${name} is not a persona`;
  const p = value as Partial<PersonaRef>;
  if (!text(p.nodeId, 100) || p.nodeId.length === 0) return `${name} has no node id`;
  if (!text(p.personaId, 64) || p.personaId.length === 0 || p.personaId.includes('/')) return `${name} has no persona id`;
  if (!text(p.name, 200)) return `${name} has no name`;
  return undefined;
}

export function judgeProblem(value: unknown, name = 'a judge'): string | undefined {
  if (!isRecord(value)) return `${name} is not a judge`;
  const j = value as Partial<JudgeRef>;
  if (j.kind !== 'human' && j.kind !== 'persona') return `${name} is neither a person nor a persona`;
  if (!text(j.nodeId, 100) || j.nodeId.length === 0) return `${name} has no node id`;
  if (!text(j.participantId, 64) || j.participantId.length === 0 || j.participantId.includes('/')) return `${name} has no participant id`;
  if (j.kind === 'human' && j.participantId !== 'user') return `${name} is a person, whose participant id is "user"`;
  if (!text(j.name, 200)) return `${name} has no name`;
  return undefined;
}

/** Why a spec cannot start (one line for the user), or undefined. */
export function specProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the challenge has no parameters';
  const s = value as Partial<ChallengeSpec>;
  if (!text(s.title, challengeLimits.maxTitleChars) || s.title.trim() === '') return `the title must be 1 to ${challengeLimits.maxTitleChars} characters`;
  if (!text(s.description, challengeLimits.maxDescriptionChars)) return `the description must be at most ${challengeLimits.maxDescriptionChars} characters`;
  if (!(challengeTypes as readonly unknown[]).includes(s.type)) return `the type is one of ${challengeTypes.join(', ')}`;
  if (!(challengeDifficulties as readonly unknown[]).includes(s.difficulty)) return `the difficulty is one of ${challengeDifficulties.join(', ')}`;
  if (typeof s.roomId !== 'string' || !roomIdPattern.test(s.roomId)) return 'the room id is not valid';
  for (const [field, label] of [
    ['timeLimitMs', 'time limit'],
    ['judgingMs', 'judging time'],
  ] as const) {
    const ms = s[field];
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < challengeLimits.minTimeLimitMs || ms > challengeLimits.maxTimeLimitMs) {
      return `the ${label} must be between ${challengeLimits.minTimeLimitMs / 1000} s and ${challengeLimits.maxTimeLimitMs / 60_000} min`;
    }
  }
  if (!Array.isArray(s.participants) || s.participants.length < 2 || s.participants.length > challengeLimits.maxParticipants) {
    return `a challenge needs 2 to ${challengeLimits.maxParticipants} participants`;
  }
  for (const [i, p] of s.participants.entries()) {
    const problem = personaProblem(p, `participant ${i + 1}`);
    if (problem) return problem;
  }
  const participantKeys = s.participants.map((p) => `${p.nodeId}/${p.personaId}`);
  if (new Set(participantKeys).size !== participantKeys.length) return 'a persona takes part only once';
  if (!Array.isArray(s.judges) || s.judges.length < 1 || s.judges.length > challengeLimits.maxJudges) return `a challenge needs 1 to ${challengeLimits.maxJudges} judges`;
  for (const [i, j] of s.judges.entries()) {
    const problem = judgeProblem(j, `judge ${i + 1}`);
    if (problem) return problem;
  }
  const judgeKeys = s.judges.map((j) => `${j.nodeId}/${j.participantId}`);
  if (new Set(judgeKeys).size !== judgeKeys.length) return 'a judge is named twice';
  const conflicted = s.judges.find((j) => j.kind === 'persona' && participantKeys.includes(`${j.nodeId}/${j.participantId}`));
  if (conflicted) return `${conflicted.name} cannot judge a challenge it takes part in`;
  return weightsProblem(s.weights);
}

export function weightsProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'the criteria weights are missing';
  let sum = 0;
  for (const criterion of challengeCriteria) {
    const w = value[criterion];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 1) return `the weight of ${criterion} must be between 0 and 1`;
    sum += w;
  }
  if (Math.abs(sum - 1) > challengeLimits.weightTolerance) return `the criteria weights must sum to 1 (they sum to ${Math.round(sum * 1000) / 1000})`;
  return undefined;
}

/** Why a card does not score exactly the given labels with whole numbers 0…10 per criterion, or undefined. */
export function scoresProblem(value: unknown, labels: readonly string[]): string | undefined {
  if (!isRecord(value)) return 'the scores are not an object of answer label → scores';
  for (const label of labels) {
    const card = value[label];
    if (!isRecord(card)) return `answer ${label} is not scored`;
    for (const criterion of challengeCriteria) {
      const score = card[criterion];
      if (typeof score !== 'number' || !Number.isInteger(score) || score < 0 || score > challengeLimits.maxScore) {
        return `answer ${label}: ${criterion} must be a whole number from 0 to ${challengeLimits.maxScore}`;
      }
    }
  }
  const extra = Object.keys(value).find((label) => !labels.includes(label));
  if (extra !== undefined) return `there is no answer ${extra.slice(0, 20)}`;
  return undefined;
}

/** Only the scores, rebuilt from a checked card (no stray fields travel on). */
export function cleanScores(value: Record<string, Record<string, number>>, labels: readonly string[]): Record<string, CriteriaScores> {
  return Object.fromEntries(labels.map((label) => [label, Object.fromEntries(challengeCriteria.map((c) => [c, value[label]![c]!])) as CriteriaScores]));
}

/** Why a received snapshot is unusable, or undefined (enough to hold and show it; the coordinator is trusted for the rest). */
export function viewProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not an object';
  const v = value as Partial<ChallengeView>;
  if (typeof v.id !== 'string' || !/^[0-9a-f]{16,64}$/.test(v.id)) return 'bad id';
  if (!text(v.coordinator, 100)) return 'bad coordinator';
  if (!(challengeStates as readonly unknown[]).includes(v.state)) return 'unknown state';
  if (typeof v.version !== 'number' || !Number.isSafeInteger(v.version)) return 'bad version';
  if (typeof v.answerDeadline !== 'number' || typeof v.createdAt !== 'number' || typeof v.updatedAt !== 'number') return 'bad times';
  if (!isRecord(v.forfeits) || !Array.isArray(v.judged)) return 'bad progress';
  if (v.answers !== undefined && (!Array.isArray(v.answers) || !v.answers.every((a) => isRecord(a) && text(a.label, 8) && text(a.text, challengeLimits.maxAnswerChars)))) return 'bad answers';
  const spec = specProblem(v.spec);
  if (spec) return `bad spec: ${spec}`;
  return undefined;
}
