/**
 * Training data from code review (see server/src/review/signals.ts):
 *
 * - DPO pairs: a persona's suggestion the user rejected and then rewrote; the pair is
 *   {prompt: the code and the comment's place, chosen: the user's text, rejected: the suggestion}.
 * - Rated answers (for `kto` and `openai`): each comment with every judgement of it folded
 *   together (what the user did with it, and the tests or compiler after it was applied); the
 *   prompt is the code and the comment's place, the completion the comment as the persona wrote
 *   it (severity, message, and its suggested replacement).
 */
import { compareSignals } from './scores';
import type { ExportFilter, PersonaRef, Signal } from '../../../protocol/academy';

export interface ReviewAnswer {
  persona: PersonaRef;
  prompt: string;
  completion: string;
  /** Sum of the judgements' values. */
  net: number;
  /** The newest judgement's ts and id: the answer's place in the output. */
  ts: number;
  id: string;
}

const reviewSlot = /^(review|test_outcome|compilation_result):(.+)$/;

/** `signals` are the effective ones, in order. One answer per reviewed comment the user judged. */
export function reviewAnswers(signals: readonly Signal[], filter: ExportFilter, matchesPersona: (persona: PersonaRef, wanted: string | undefined) => boolean): ReviewAnswer[] {
  const byComment = new Map<string, { judged?: Signal; net: number; newest: Signal }>();
  for (const signal of signals) {
    const slot = signal.slot === undefined ? undefined : reviewSlot.exec(signal.slot);
    if (!slot || signal.source !== slot[1]) continue;
    if (filter.room !== undefined && signal.room !== filter.room) continue;
    if (filter.since !== undefined && signal.ts < filter.since) continue;
    if (!matchesPersona(signal.persona, filter.persona)) continue;
    const entry = byComment.get(slot[2]!) ?? { net: 0, newest: signal };
    entry.net += signal.value;
    if (signal.source === 'review') entry.judged = signal;
    if (compareSignals(signal, entry.newest) > 0) entry.newest = signal;
    byComment.set(slot[2]!, entry);
  }
  const answers: ReviewAnswer[] = [];
  for (const { judged, net, newest } of byComment.values()) {
    // Test and compiler outcomes alone carry no prompt: only comments the user judged count.
    if (!judged) continue;
    const { input, actual, suggestion } = judged.context;
    if (!input?.trim() || !actual?.trim()) continue;
    answers.push({ persona: judged.persona, prompt: input, completion: suggestion === undefined ? actual : `${actual}\n\nSuggested replacement:\n${suggestion}`, net, ts: newest.ts, id: newest.id });
  }
  return answers.sort(compareSignals);
}

export interface ReviewPairs {
  lines: string[];
  skipped: Record<string, number>;
}

/** `signals` are the effective ones (later judgements of a comment replace earlier ones), in order. */
export function reviewPairs(signals: readonly Signal[], filter: ExportFilter, matchesPersona: (persona: PersonaRef, wanted: string | undefined) => boolean): ReviewPairs {
  const lines: string[] = [];
  const skipped: Record<string, number> = {};
  for (const signal of signals) {
    if (signal.source !== 'review' || signal.context.expected === undefined) continue;
    if (filter.room !== undefined && signal.room !== filter.room) continue;
    if (filter.since !== undefined && signal.ts < filter.since) continue;
    if (!matchesPersona(signal.persona, filter.persona)) continue;
    const { input, expected, suggestion } = signal.context;
    if (suggestion === undefined || expected.trim() === suggestion.trim()) {
      skipped['the user\'s edit equals the suggestion'] = (skipped['the user\'s edit equals the suggestion'] ?? 0) + 1;
      continue;
    }
    lines.push(JSON.stringify({ prompt: input, chosen: expected, rejected: suggestion }));
  }
  return { lines, skipped };
}
