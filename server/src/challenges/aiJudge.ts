/**
 * An AI judge scores the anonymised answers through its brain. The brain is asked for a fixed JSON
 * object (judgeJsonSchema: one card per answer label, a whole number 0…10 per criterion); a brain
 * that can constrain its output to a schema (the llama brain, with a JSON-schema grammar) always
 * produces it. Any other answer is parsed leniently (the first {...} in the text), checked, and the
 * brain is asked once more, with the problem, before the judge gives up.
 */
import { challengeCriteria, challengeLimits, judgeJsonSchema, type AnonymousAnswer, type ChallengeSpec, type CriteriaScores } from '../../../protocol/challenges';
import { cleanScores, scoresProblem } from './validate';

/** Asks a persona's brain one question; rejects when it cannot answer. */
export type PromptPersona = (personaId: string, prompt: string, options: { signal: AbortSignal; jsonSchema?: Record<string, unknown> }) => Promise<string>;

export function judgePrompt(spec: Pick<ChallengeSpec, 'title' | 'description' | 'type' | 'difficulty'>, answers: readonly AnonymousAnswer[]): string {
  const lines = [
    `You judge a ${spec.type} challenge (${spec.difficulty}): ${spec.title}`,
    spec.description,
    '',
    'The answers, anonymised:',
    ...answers.map((a) => `--- Answer ${a.label} ---\n${a.text}`),
    '',
    `Score every answer from 0 to ${challengeLimits.maxScore} on each criterion (${challengeCriteria.join(', ')}).`,
    `Reply with JSON only, shaped like ${JSON.stringify(Object.fromEntries(answers.slice(0, 1).map((a) => [a.label, Object.fromEntries(challengeCriteria.map((c) => [c, 7]))])))} with one entry per answer label.`,
  ];
  return lines.join('\n');
}

/** The card in a brain's reply, or the problem with it. */
export function parseJudgeReply(reply: string, labels: readonly string[]): { scores: Record<string, CriteriaScores> } | { problem: string } {
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  if (start < 0 || end <= start) return { problem: 'the reply has no JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(reply.slice(start, end + 1));
  } catch (error) {
    return { problem: `the reply is not valid JSON (${(error as Error).message})` };
  }
  const problem = scoresProblem(value, labels);
  if (problem) return { problem };
  return { scores: cleanScores(value as Record<string, Record<string, number>>, labels) };
}

/** Scores through the brain: one try, and one more with the problem; throws with the last problem. */
export async function scoreWithBrain(
  prompt: PromptPersona,
  personaId: string,
  spec: ChallengeSpec,
  answers: readonly AnonymousAnswer[],
  signal: AbortSignal,
): Promise<Record<string, CriteriaScores>> {
  const labels = answers.map((a) => a.label);
  const jsonSchema = judgeJsonSchema(labels);
  const question = judgePrompt(spec, answers);
  const first = parseJudgeReply(await prompt(personaId, question, { signal, jsonSchema }), labels);
  if ('scores' in first) return first.scores;
  const second = parseJudgeReply(await prompt(personaId, `${question}\n\nYour previous reply was unusable: ${first.problem}. Reply with the JSON object only.`, { signal, jsonSchema }), labels);
  if ('scores' in second) return second.scores;
  throw new Error(`its reply could not be used twice: ${second.problem}`);
}
