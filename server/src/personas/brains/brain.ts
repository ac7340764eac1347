/**
 * A brain writes a persona's replies. Every brain streams (an AsyncIterable of text chunks) and
 * stops when the request's AbortSignal fires, throwing a {@link BrainError} with code `cancelled`.
 * Failures that should mark the persona degraded (unreachable endpoint, missing model, bad
 * adapter) are BrainErrors with a one-line message for the user.
 */
import type { BrainProvider, PersonaDefinition } from '../../../../protocol/personas';

export interface BrainMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Display name of the author (rooms have many speakers). */
  name?: string;
}

export interface BrainRequest {
  persona: PersonaDefinition;
  /** The context window, oldest first: the system prompt, then room messages. */
  messages: BrainMessage[];
  /** The message being answered, without @mentions. */
  question: string;
  signal?: AbortSignal;
  /**
   * The reply must be JSON matching this schema (an AI judge's card). Brains that can constrain
   * generation to it do (llama: a JSON-schema grammar); the others get it in the prompt only and
   * their reply is checked by the caller.
   */
  jsonSchema?: Record<string, unknown>;
}

export interface Brain {
  readonly provider: BrainProvider;
  reply(request: BrainRequest): AsyncIterable<string>;
  /**
   * A cheap probe that the brain works (endpoint reachable, model present); throws a BrainError
   * when it does not. Used to recover a degraded persona without waiting for a question.
   */
  check?(signal?: AbortSignal): Promise<void>;
  /** Releases models, processes and indexes. */
  dispose(): Promise<void>;
}

export type BrainErrorCode = 'cancelled' | 'unreachable' | 'missing-model' | 'bad-adapter' | 'unavailable' | 'failed';

export class BrainError extends Error {
  constructor(readonly code: BrainErrorCode, message: string) {
    super(message);
    this.name = 'BrainError';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BrainError('cancelled', 'the reply was cancelled');
}

/** Collects a whole reply (tests, non-streaming callers). */
export async function collect(chunks: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const chunk of chunks) text += chunk;
  return text;
}
