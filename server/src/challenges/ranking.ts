/**
 * From judges' cards to a ranking: per answer, the mean score of each criterion over the judges
 * who scored it, and the weighted total Σ weight × mean (0…10). Higher totals rank first; equal
 * totals share a rank; forfeits rank after every answer. Pure, so any node could recompute it.
 */
import { personaKey, type PersonaRef } from '../../../protocol/academy';
import { challengeCriteria, type CriteriaScores, type CriteriaWeights, type JudgeScores, type RevealedAnswer } from '../../../protocol/challenges';

export interface RankingInput {
  participants: readonly PersonaRef[];
  weights: CriteriaWeights;
  /** Persona key → label and text of its answer (answers that stand). */
  answers: ReadonlyMap<string, { label: string; text: string }>;
  /** Persona key → reason. */
  forfeits: Readonly<Record<string, string>>;
  scores: readonly JudgeScores[];
}

/** Totals are compared after rounding so float noise never splits a tie. */
const round = (value: number) => Math.round(value * 1e9) / 1e9;

export function rankAnswers(input: RankingInput): RevealedAnswer[] {
  const scored: RevealedAnswer[] = [];
  const forfeited: RevealedAnswer[] = [];
  for (const persona of input.participants) {
    const key = personaKey(persona);
    const answer = input.answers.get(key);
    const forfeit = input.forfeits[key];
    if (!answer || forfeit !== undefined) {
      forfeited.push({ persona, forfeit: forfeit ?? 'no answer', rank: 0, ...(answer ? { label: answer.label, text: answer.text } : {}) });
      continue;
    }
    const criteria: Partial<CriteriaScores> = {};
    let total = 0;
    for (const criterion of challengeCriteria) {
      const values = input.scores.map((card) => card.scores[answer.label]?.[criterion]).filter((v): v is number => typeof v === 'number');
      const mean = values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
      criteria[criterion] = round(mean);
      total += input.weights[criterion] * mean;
    }
    scored.push({ persona, label: answer.label, text: answer.text, criteria, total: round(total), rank: 0 });
  }
  scored.sort((a, b) => b.total! - a.total! || (a.label! < b.label! ? -1 : 1));
  for (let i = 0; i < scored.length; i++) scored[i]!.rank = i > 0 && scored[i]!.total === scored[i - 1]!.total ? scored[i - 1]!.rank : i + 1;
  forfeited.sort((a, b) => (personaKey(a.persona) < personaKey(b.persona) ? -1 : 1));
  for (const entry of forfeited) entry.rank = scored.length + 1;
  return [...scored, ...forfeited];
}

/** One pairwise result of a ranking: `winner` beat `loser`, or a draw (then the order is by key). */
export interface PairOutcome {
  winner: RevealedAnswer;
  loser: RevealedAnswer;
  draw: boolean;
}

/**
 * Every pair of participants in ranking order (1st vs 2nd, 1st vs 3rd, …, 2nd vs 3rd …): an answer
 * beats every answer ranked below it and every forfeit; equal ranks draw; two forfeits play no game.
 */
export function pairOutcomes(results: readonly RevealedAnswer[]): PairOutcome[] {
  const outcomes: PairOutcome[] = [];
  for (let i = 0; i < results.length; i++) {
    for (let j = i + 1; j < results.length; j++) {
      const a = results[i]!;
      const b = results[j]!;
      if (a.forfeit !== undefined && b.forfeit !== undefined) continue;
      outcomes.push({ winner: a, loser: b, draw: a.rank === b.rank });
    }
  }
  return outcomes;
}
