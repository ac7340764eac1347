/**
 * Scores and ratings from signals: pure functions of their inputs, so every node holding the same
 * signals (and the same room history, for latency) computes the same numbers, whatever order the
 * signals arrived in. Everything is sorted (signals by ts then id, personas by key) before any
 * floating-point sum, and time is measured from the newest signal, never from the local clock.
 *
 * - Decayed mean: weight 2^-(age / halfLife) per signal, age measured from the newest signal.
 * - Lower bound: Wilson score interval on the mean mapped to [0, 1], with the decayed weight as n,
 *   mapped back to [-1, 1]: two perfect votes rank below 200 votes at 90 %.
 * - Latency: nearest-rank p50 / p95 of persona reply times.
 * - Elo: live updates over pairwise results in (ts, id) order; 1000 at start, K = 32.
 * - Bradley-Terry: strengths fitted by Hunter's MM algorithm, with a weak prior (one virtual win
 *   and loss against a reference player) so unbeaten or winless personas stay finite; shown on
 *   the Elo scale, 1000 = geometric mean of the personas with games.
 */
import {
  personaKey,
  signalCategories,
  type CategoryScore,
  type Leaderboard,
  type LatencyScore,
  type PersonaRef,
  type PersonaScores,
  type Signal,
  type SignalCategory,
} from '../../../protocol/academy';
import type { LatencySample } from './signalStore';

export interface ScoreOptions {
  /** Half-life of a signal's weight. Default 30 days. */
  halfLifeMs?: number;
  /** z of the confidence bound. Default 1.96 (95 %). */
  z?: number;
  /** Decay reference; default the newest signal's ts. */
  now?: number;
  elo?: EloOptions;
  bradleyTerry?: BradleyTerryOptions;
}

export const defaultHalfLifeMs = 30 * 24 * 3600 * 1000;

/** Signals by ts, then id. */
export function compareSignals(a: Pick<Signal, 'ts' | 'id'>, b: Pick<Signal, 'ts' | 'id'>): number {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The signals that count: for each (signer, slot) only the newest (by ts, then id), and none that
 * is withdrawn. Sorted by ts then id.
 */
export function effectiveSignals(signals: readonly Signal[]): Signal[] {
  const sorted = [...signals].sort(compareSignals);
  const seen = new Set<string>();
  const latest = new Map<string, Signal>();
  const result: Signal[] = [];
  for (const signal of sorted) {
    if (seen.has(signal.id)) continue;
    seen.add(signal.id);
    if (signal.slot !== undefined) latest.set(`${signal.signer} ${signal.slot}`, signal);
    else if (!signal.withdrawn) result.push(signal);
  }
  for (const signal of latest.values()) if (!signal.withdrawn) result.push(signal);
  return result.sort(compareSignals);
}

/** Wilson score lower bound of a proportion `p` in [0, 1] over `n` (possibly fractional) trials. */
export function wilsonLowerBound(p: number, n: number, z = 1.96): number {
  if (n <= 0) return 0;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const margin = z * Math.sqrt(Math.max(0, (p * (1 - p)) / n + z2 / (4 * n * n)));
  return Math.min(1, Math.max(0, (centre - margin) / (1 + z2 / n)));
}

/** Decayed mean, weight and lower bound of values in [-1, 1] (items sorted by ts, then id). */
export function decayedScore(items: readonly Pick<Signal, 'value' | 'ts'>[], now: number, halfLifeMs = defaultHalfLifeMs, z = 1.96): CategoryScore {
  let weight = 0;
  let sum = 0;
  for (const item of items) {
    const w = Math.pow(2, -Math.max(0, now - item.ts) / halfLifeMs);
    weight += w;
    sum += w * item.value;
  }
  if (weight === 0) return { count: items.length, weight: 0, mean: 0, lowerBound: -1 };
  const mean = sum / weight;
  const lowerBound = 2 * wilsonLowerBound((mean + 1) / 2, weight, z) - 1;
  return { count: items.length, weight, mean, lowerBound };
}

/** Nearest-rank percentile (q in (0, 1]) of values. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function latencyScore(ms: readonly number[]): LatencyScore | undefined {
  if (ms.length === 0) return undefined;
  return { count: ms.length, p50Ms: percentile(ms, 0.5), p95Ms: percentile(ms, 0.95) };
}

/** One pairwise result: `score` is 1 when `a` won, 0 when `b` won, 0.5 for a draw. */
export interface Match {
  id: string;
  ts: number;
  a: string;
  b: string;
  score: number;
}

export interface EloOptions {
  k?: number;
  initial?: number;
}

/** Elo ratings after playing the matches in (ts, id) order. */
export function eloRatings(matches: readonly Match[], options: EloOptions = {}): Map<string, number> {
  const k = options.k ?? 32;
  const initial = options.initial ?? 1000;
  const ratings = new Map<string, number>();
  for (const match of [...matches].sort(compareSignals)) {
    const ra = ratings.get(match.a) ?? initial;
    const rb = ratings.get(match.b) ?? initial;
    const expected = 1 / (1 + Math.pow(10, (rb - ra) / 400));
    ratings.set(match.a, ra + k * (match.score - expected));
    ratings.set(match.b, rb - k * (match.score - expected));
  }
  return ratings;
}

export interface BradleyTerryOptions {
  /** Virtual wins and losses of each player against a reference of strength 1. Default 1; 0 = plain maximum likelihood. */
  prior?: number;
  maxIterations?: number;
  tolerance?: number;
}

/**
 * Bradley-Terry strengths (P(i beats j) = p_i / (p_i + p_j)) by the MM algorithm, normalised to a
 * geometric mean of 1. Draws count half a win for each side.
 */
export function bradleyTerry(matches: readonly Match[], options: BradleyTerryOptions = {}): Map<string, number> {
  const prior = options.prior ?? 1;
  const maxIterations = options.maxIterations ?? 10_000;
  const tolerance = options.tolerance ?? 1e-12;
  const players = [...new Set(matches.flatMap((m) => [m.a, m.b]))].sort();
  const index = new Map(players.map((player, i) => [player, i]));
  const n = players.length;
  const wins = new Array<number>(n).fill(0);
  const games: number[][] = players.map(() => new Array<number>(n).fill(0));
  for (const match of [...matches].sort(compareSignals)) {
    const i = index.get(match.a)!;
    const j = index.get(match.b)!;
    if (i === j) continue;
    wins[i]! += match.score;
    wins[j]! += 1 - match.score;
    games[i]![j]! += 1;
    games[j]![i]! += 1;
  }
  let p = new Array<number>(n).fill(1);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const next = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let denominator = (2 * prior) / (p[i]! + 1);
      for (let j = 0; j < n; j++) if (j !== i && games[i]![j]! > 0) denominator += games[i]![j]! / (p[i]! + p[j]!);
      const numerator = wins[i]! + prior;
      next[i] = denominator > 0 && numerator > 0 ? numerator / denominator : Number.MIN_VALUE;
    }
    if (prior === 0) normalise(next);
    let change = 0;
    for (let i = 0; i < n; i++) change = Math.max(change, Math.abs(Math.log(next[i]!) - Math.log(p[i]!)));
    p = next;
    if (change < tolerance) break;
  }
  normalise(p);
  return new Map(players.map((player, i) => [player, p[i]!]));
}

function normalise(values: number[]): void {
  if (values.length === 0) return;
  let logSum = 0;
  for (const value of values) logSum += Math.log(value);
  const scale = Math.exp(logSum / values.length);
  for (let i = 0; i < values.length; i++) values[i] = values[i]! / scale;
}

/** A strength on the Elo scale: 1000 at strength 1, +400 per factor 10. */
export function strengthToRating(strength: number): number {
  return 1000 + 400 * Math.log10(strength);
}

/**
 * Pairwise results in the signals: each challenge signal with an opponent is one match (value > 0
 * won, < 0 lost, 0 draw); and two personas' answers to the same prompt whose thumbs add up to
 * opposite signs are one match, won by the one rated up.
 */
export function pairwiseMatches(effective: readonly Signal[]): Match[] {
  const matches: Match[] = [];
  // prompt → persona key → { net value, newest ts }
  const byPrompt = new Map<string, Map<string, { net: number; ts: number }>>();
  for (const signal of effective) {
    if (signal.source === 'challenge' && signal.opponent) {
      const score = signal.value > 0 ? 1 : signal.value < 0 ? 0 : 0.5;
      matches.push({ id: signal.id, ts: signal.ts, a: personaKey(signal.persona), b: personaKey(signal.opponent), score });
      continue;
    }
    if (signal.source !== 'thumbs' || signal.promptId === undefined) continue;
    const prompt = `${signal.room}/${signal.promptId}`;
    let personas = byPrompt.get(prompt);
    if (!personas) byPrompt.set(prompt, (personas = new Map<string, { net: number; ts: number }>()));
    const key = personaKey(signal.persona);
    const entry = personas.get(key) ?? { net: 0, ts: 0 };
    entry.net += signal.value;
    entry.ts = Math.max(entry.ts, signal.ts);
    personas.set(key, entry);
  }
  for (const [prompt, personas] of [...byPrompt].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const keys = [...personas.keys()].sort();
    for (let i = 0; i < keys.length; i++) {
      for (let j = i + 1; j < keys.length; j++) {
        const a = personas.get(keys[i]!)!;
        const b = personas.get(keys[j]!)!;
        if (!((a.net > 0 && b.net < 0) || (a.net < 0 && b.net > 0))) continue;
        matches.push({ id: `${prompt}|${keys[i]}|${keys[j]}`, ts: Math.max(a.ts, b.ts), a: keys[i]!, b: keys[j]!, score: a.net > 0 ? 1 : 0 });
      }
    }
  }
  return matches.sort(compareSignals);
}

export interface LeaderboardOptions extends ScoreOptions {
  /** Rank by this category's lower bound instead of the rating. */
  category?: SignalCategory;
}

/**
 * Scores of every persona named by a signal (or a latency sample), ranked: by the category's lower
 * bound when one is asked for; otherwise by Bradley-Terry rating when any pairwise result exists,
 * then by the overall lower bound, then by key.
 */
export function computeLeaderboard(signals: readonly Signal[], latencies: readonly LatencySample[] = [], options: LeaderboardOptions = {}): Leaderboard {
  const effective = effectiveSignals(signals);
  const asOf = options.now ?? effective.reduce((max, s) => Math.max(max, s.ts), 0);
  const halfLife = options.halfLifeMs ?? defaultHalfLifeMs;
  const z = options.z ?? 1.96;
  const refs = new Map<string, PersonaRef>();
  const byPersona = new Map<string, Signal[]>();
  for (const signal of effective) {
    const key = personaKey(signal.persona);
    refs.set(key, signal.persona);
    let list = byPersona.get(key);
    if (!list) byPersona.set(key, (list = []));
    list.push(signal);
    if (signal.opponent && !refs.has(personaKey(signal.opponent))) refs.set(personaKey(signal.opponent), signal.opponent);
  }
  const latencyByPersona = new Map<string, number[]>();
  const sampleKey = (s: LatencySample) => `${s.room}/${s.messageId}`;
  for (const sample of [...latencies].sort((a, b) => (sampleKey(a) < sampleKey(b) ? -1 : sampleKey(a) > sampleKey(b) ? 1 : 0))) {
    let list = latencyByPersona.get(sample.personaKey);
    if (!list) latencyByPersona.set(sample.personaKey, (list = []));
    list.push(sample.ms);
    if (!refs.has(sample.personaKey)) {
      const slash = sample.personaKey.indexOf('/');
      refs.set(sample.personaKey, { nodeId: sample.personaKey.slice(0, slash), personaId: sample.personaKey.slice(slash + 1), name: sample.name ?? sample.personaKey.slice(slash + 1) });
    }
  }
  const matches = pairwiseMatches(effective);
  const elo = eloRatings(matches, options.elo);
  const strengths = bradleyTerry(matches, options.bradleyTerry);
  const games = new Map<string, number>();
  for (const match of matches) {
    games.set(match.a, (games.get(match.a) ?? 0) + 1);
    games.set(match.b, (games.get(match.b) ?? 0) + 1);
  }

  const personas: PersonaScores[] = [...refs.keys()].sort().map((key) => {
    const list = byPersona.get(key) ?? [];
    const categories: Partial<Record<SignalCategory, CategoryScore>> = {};
    for (const category of signalCategories) {
      const items = list.filter((s) => s.category === category);
      if (items.length > 0) categories[category] = decayedScore(items, asOf, halfLife, z);
    }
    const scores: PersonaScores = {
      persona: refs.get(key)!,
      key,
      overall: decayedScore(list, asOf, halfLife, z),
      categories,
      elo: elo.get(key) ?? options.elo?.initial ?? 1000,
      rating: strengths.has(key) ? strengthToRating(strengths.get(key)!) : 1000,
      games: games.get(key) ?? 0,
    };
    const latency = latencyScore(latencyByPersona.get(key) ?? []);
    if (latency) scores.latency = latency;
    return scores;
  });

  const category = options.category;
  const byRating = category === undefined && matches.length > 0;
  const bound = (p: PersonaScores) => (category ? (p.categories[category]?.lowerBound ?? -Infinity) : p.overall.lowerBound);
  personas.sort((a, b) => (byRating ? b.rating - a.rating : 0) || bound(b) - bound(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const filtered = category ? personas.filter((p) => p.categories[category] !== undefined) : personas;
  return { personas: filtered, signalCount: effective.length, asOf };
}
