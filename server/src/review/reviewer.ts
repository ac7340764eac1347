/**
 * Runs a review with a persona hosted on this node. A `librarian` persona reviews without a model
 * (librarianReview.ts); every other brain is asked for JSON of the review schema: the llama brain
 * is held to it by a grammar, the others are checked, and asked once more with the problem when
 * their reply is unusable. Comments that point outside the code or miss fields are dropped one by
 * one, with the reason (parse.ts).
 */
import { BrainError, collect, type Brain } from '../personas/brains/brain';
import { LibrarianBrain } from '../personas/brains/librarian';
import type { PersonaDefinition } from '../../../protocol/personas';
import { reviewLimits, type ReviewInput, type ReviewOutput } from '../../../protocol/review';
import { overLimit } from '../../../protocol/sizeLimit';
import { ServiceError } from '../../../protocol/errors';
import { librarianReview } from './librarianReview';
import { parseReview, reviewJsonSchema, ReviewFormatError } from './parse';
import { reviewMessages, reviewQuestion } from './prompt';

/** What the reviewer needs of the persona service (Participation fits). */
export interface ReviewBrains {
  brainFor(personaId: string): { persona: PersonaDefinition; brain: Brain } | undefined;
}

/** Checks untrusted review input (from the client or a peer); returns it normalised. */
export function checkReviewInput(value: unknown): ReviewInput {
  if (typeof value !== 'object' || value === null) throw new ServiceError('invalid', 'the review has no parameters');
  const p = value as Partial<ReviewInput>;
  if (typeof p.code !== 'string' || p.code.trim() === '') throw new ServiceError('invalid', 'there is no code to review');
  if (p.code.length > reviewLimits.maxCodeChars) throw new ServiceError('too-large', `the code is ${overLimit(p.code.length, reviewLimits.maxCodeChars, 'characters')} (select a part)`);
  if (typeof p.path !== 'string' || p.path.length > 500) throw new ServiceError('invalid', 'path must be text of at most 500 characters');
  if (typeof p.language !== 'string' || p.language.length > 100) throw new ServiceError('invalid', 'language must be a language id');
  if (typeof p.firstLine !== 'number' || !Number.isSafeInteger(p.firstLine) || p.firstLine < 1) throw new ServiceError('invalid', 'firstLine must be a line number from 1');
  return { path: p.path, language: p.language, code: p.code.replace(/\r\n/g, '\n'), firstLine: p.firstLine };
}

export async function reviewWith(brains: ReviewBrains, personaId: string, input: ReviewInput, signal?: AbortSignal): Promise<ReviewOutput> {
  const found = brains.brainFor(personaId);
  if (!found) throw new ServiceError('not-found', `persona ${personaId} is not hosted on this node, or it is disabled`);
  const { persona, brain } = found;
  if (brain instanceof LibrarianBrain) return { comments: await librarianReview(input, brain.index), attempts: 1, dropped: [] };
  const jsonSchema = reviewJsonSchema();
  let retry: { reply: string; problem: string } | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    let reply: string;
    try {
      reply = await collect(brain.reply({ persona, messages: reviewMessages(persona, input, retry), question: reviewQuestion(input), jsonSchema, ...(signal ? { signal } : {}) }));
    } catch (error) {
      if (error instanceof BrainError) throw new ServiceError('unavailable', `${persona.name} could not review: ${error.message}`);
      throw error;
    }
    try {
      return { ...parseReview(reply, input), attempts: attempt };
    } catch (error) {
      if (!(error instanceof ReviewFormatError)) throw error;
      retry = { reply, problem: error.message };
    }
  }
  throw new ServiceError('unavailable', `${persona.name} did not answer with a usable review twice (${retry?.problem ?? 'no reply'})`);
}
