/**
 * What a revealed challenge teaches the academy, recorded by the coordinator only (so each result
 * is signed once mesh-wide):
 *
 * - one pairwise signal per pair of participants (`source: challenge`, `opponent` set, value 1 for
 *   the winner, 0 for a draw): the academy turns these into Elo and Bradley-Terry ratings; they
 *   are recorded in ranking order with rising timestamps, so Elo plays them in that order;
 * - one signal per answer and criterion with a weight, value = mean score mapped from 0…10 to -1…1;
 * - every signal carries the task as its prompt (`promptId` = `challenge:{id}`) and the persona's
 *   answer, which is what the DPO export pairs (winner's answer chosen, loser's rejected).
 */
import type { RecordSignalInput } from '../../../protocol/academy';
import type { Signal } from '../../../protocol/academy';
import { personaKey } from '../../../protocol/academy';
import { challengeCriteria, challengeLimits, type ChallengeSpec, type ChallengeView, type RevealedAnswer } from '../../../protocol/challenges';
import { pairOutcomes } from './ranking';

export interface ChallengeAcademy {
  record(input: RecordSignalInput, notBefore?: number): Signal;
}

export function challengePromptId(challengeId: string): string {
  return `challenge:${challengeId}`;
}

/** The task as personas were given it. */
export function challengePrompt(spec: Pick<ChallengeSpec, 'title' | 'description' | 'type' | 'difficulty'>): string {
  return `Challenge (${spec.type}, ${spec.difficulty}): ${spec.title}${spec.description.trim() ? `\n\n${spec.description}` : ''}`;
}

/** The criterion with the largest weight (the first of equals): the category of pairwise signals. */
function mainCriterion(spec: ChallengeSpec): (typeof challengeCriteria)[number] {
  return challengeCriteria.reduce((best, c) => (spec.weights[c] > spec.weights[best] ? c : best), challengeCriteria[0]);
}

export function recordChallengeResults(academy: ChallengeAcademy, view: ChallengeView, results: readonly RevealedAnswer[]): Signal[] {
  const spec = view.spec;
  const input = challengePrompt(spec);
  const promptId = challengePromptId(view.id);
  const signals: Signal[] = [];
  let last: number | undefined;
  const record = (signal: RecordSignalInput) => {
    const recorded = academy.record(signal, last);
    last = recorded.ts;
    signals.push(recorded);
  };
  const category = mainCriterion(spec);
  for (const { winner, loser, draw } of pairOutcomes(results)) {
    const describe = (r: RevealedAnswer) => (r.forfeit !== undefined ? `forfeit: ${r.forfeit}` : `${r.total}`);
    record({
      persona: winner.persona,
      opponent: loser.persona,
      room: spec.roomId,
      promptId,
      category,
      value: draw ? 0 : 1,
      source: 'challenge',
      reason: `${draw ? 'drew with' : 'beat'} ${loser.persona.name} in "${spec.title}" (${describe(winner)} vs ${describe(loser)})`.slice(0, 1000),
      context: { input, ...(winner.text !== undefined ? { actual: winner.text } : {}) },
      slot: `challenge:${view.id}:${personaKey(winner.persona)}>${personaKey(loser.persona)}`,
    });
  }
  for (const result of results) {
    if (result.forfeit !== undefined || !result.criteria) continue;
    for (const criterion of challengeCriteria) {
      const mean = result.criteria[criterion];
      if (spec.weights[criterion] === 0 || mean === undefined) continue;
      record({
        persona: result.persona,
        room: spec.roomId,
        promptId,
        category: criterion,
        value: Math.max(-1, Math.min(1, (2 * mean) / challengeLimits.maxScore - 1)),
        source: 'challenge',
        reason: `${criterion} ${mean}/${challengeLimits.maxScore} in "${spec.title}"`.slice(0, 1000),
        context: { input, actual: result.text ?? '' },
        slot: `challenge:${view.id}:${personaKey(result.persona)}:${criterion}`,
      });
    }
  }
  return signals;
}
