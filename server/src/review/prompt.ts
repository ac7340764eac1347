/**
 * What a persona's brain is asked for a review: its own system prompt, then the task with the code
 * numbered by file line (models point at lines far more reliably when they can read the numbers),
 * and the exact JSON shape. The retry adds the previous reply and what was wrong with it.
 */
import type { BrainMessage } from '../personas/brains/brain';
import type { PersonaDefinition } from '../../../protocol/personas';
import type { ReviewInput } from '../../../protocol/review';
import { lastLine } from './parse';

export function numbered(input: Pick<ReviewInput, 'code' | 'firstLine'>): string {
  const width = String(lastLine(input)).length;
  return input.code
    .split('\n')
    .map((line, i) => `${String(input.firstLine + i).padStart(width)}| ${line}`)
    .join('\n');
}

export function reviewQuestion(input: ReviewInput): string {
  const last = lastLine(input);
  return [
    `Review this ${input.language} code from ${input.path} (lines ${input.firstLine}-${last}). Each line starts with its line number and "| ".`,
    '',
    '```',
    numbered(input),
    '```',
    '',
    'Answer with JSON only, no prose, in this shape:',
    '{"comments":[{"startLine":N,"endLine":N,"severity":"error"|"warning"|"info","message":"what is wrong and why","replacement":"new text for lines startLine..endLine, or null"}]}',
    `Line numbers are between ${input.firstLine} and ${last}. A replacement replaces those whole lines, without the line numbers. Give {"comments":[]} when the code is fine.`,
  ].join('\n');
}

export function reviewMessages(persona: Pick<PersonaDefinition, 'systemPrompt' | 'name'>, input: ReviewInput, retry?: { reply: string; problem: string }): BrainMessage[] {
  const messages: BrainMessage[] = [
    { role: 'system', content: `${persona.systemPrompt.trim() || `You are ${persona.name}.`}\n\nYou are reviewing code. You answer with JSON only.` },
    { role: 'user', content: reviewQuestion(input) },
  ];
  if (retry) {
    messages.push({ role: 'assistant', content: retry.reply.slice(0, 4000) });
    messages.push({ role: 'user', content: `That answer could not be used: ${retry.problem}. Answer again with JSON only, exactly in the shape asked for.` });
  }
  return messages;
}
