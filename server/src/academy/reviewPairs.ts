/**
 * DPO pairs from code review: a persona's suggestion the user rejected and then rewrote. The
 * review signal of that comment carries the suggestion and the user's text (see
 * server/src/review/signals.ts); the pair is {prompt: the code and the comment's place, chosen:
 * the user's text, rejected: the suggestion}.
 */
import type { ExportFilter, PersonaRef, Signal } from '../protocol/academy';

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
