/**
 * The decisions of evolution, pure so they are the same on every node and easy to test: when a
 * falling score starts a trial, which capability a message asks for that a persona lacks, and
 * whether a trial's genome is kept.
 */
import type { Signal, SignalCategory } from '../../../protocol/academy';
import { effectiveSignals } from './scores';

export interface EvolutionThresholds {
  /** Signals in a window: a trial starts after this many below the threshold and is judged after this many more. */
  window: number;
  /** A window mean below this (signal values are in [-1, 1]) starts a trial. */
  threshold: number;
}

export const defaultThresholds: EvolutionThresholds = { window: 10, threshold: 0 };

export interface WindowMean {
  mean: number;
  count: number;
}

/** Mean of the `window` newest effective signals of one persona and category, at or before `before`. */
export function windowBefore(signals: readonly Signal[], category: SignalCategory, window: number, before = Infinity): WindowMean {
  const chosen = effectiveSignals(signals)
    .filter((s) => s.category === category && s.ts <= before)
    .slice(-window);
  return { mean: mean(chosen), count: chosen.length };
}

/** Mean of the first `window` effective signals of one persona and category strictly after `after`. */
export function windowAfter(signals: readonly Signal[], category: SignalCategory, window: number, after: number): WindowMean {
  const chosen = effectiveSignals(signals)
    .filter((s) => s.category === category && s.ts > after)
    .slice(0, window);
  return { mean: mean(chosen), count: chosen.length };
}

/** The category whose full window fell lowest below the threshold, if any. */
export function fallingCategory(signals: readonly Signal[], categories: readonly SignalCategory[], thresholds: EvolutionThresholds): ({ category: SignalCategory } & WindowMean) | undefined {
  let worst: ({ category: SignalCategory } & WindowMean) | undefined;
  for (const category of categories) {
    const window = windowBefore(signals, category, thresholds.window);
    if (window.count < thresholds.window || window.mean >= thresholds.threshold) continue;
    if (!worst || window.mean < worst.mean) worst = { category, ...window };
  }
  return worst;
}

/** Keep when the window after is at least as good as the window before. */
export function keepGenome(before: WindowMean, after: WindowMean): boolean {
  return after.mean >= before.mean;
}

/**
 * A capability the message names (as a whole word or hyphenated phrase, case-insensitive) among
 * those known on the mesh, that the persona does not have.
 */
export function capabilityGap(text: string, has: readonly string[], known: readonly string[]): string | undefined {
  const own = new Set(has.map((c) => c.toLowerCase()));
  const lower = ` ${text.toLowerCase().replace(/[^\p{L}\p{N}_-]+/gu, ' ')} `;
  const candidates = [...new Set(known.map((c) => c.toLowerCase()))].filter((c) => c.length >= 3 && !own.has(c)).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  for (const capability of candidates) {
    const spaced = capability.replace(/[-_/.]+/g, ' ');
    if (lower.includes(` ${capability} `) || lower.includes(` ${spaced} `)) return capability;
  }
  return undefined;
}

function mean(signals: readonly Signal[]): number {
  if (signals.length === 0) return 0;
  return Math.round((signals.reduce((sum, s) => sum + s.value, 0) / signals.length) * 1e6) / 1e6;
}
