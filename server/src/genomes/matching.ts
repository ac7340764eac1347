/**
 * Whether a genome answers a query, and how well. Required capabilities and antipatterns filter;
 * the compatibility is the cosine of the query's vector (its required and preferred capabilities)
 * and the genome's; the rank adds the share of preferred capabilities present and the academy's
 * score, so a well-rated genome beats an unrated one of equal fit.
 */
import { genomeQueryLimits, type GenomeManifest, type GenomeQuery } from '../../../protocol/genomes';
import { compatibilityVector, cosine, words } from './vector';

export const defaultMaxResults = 20;
export const defaultQueryTimeoutMs = 1500;

export interface Match {
  compatibility: number;
  rank: number;
}

const normal = (items: readonly string[] | undefined) => (items ?? []).map((item) => item.trim().toLowerCase()).filter(Boolean);

/** A query with defaults filled in and bounds applied (from the mesh: anything can arrive). */
export function normaliseQuery(value: unknown): Required<GenomeQuery> {
  const query = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const strings = (key: string) => (Array.isArray(query[key]) ? (query[key] as unknown[]).filter((s): s is string => typeof s === 'string').slice(0, 64).map((s) => s.slice(0, 100)) : []);
  const number = (key: string, fallback: number, min: number, max: number) => {
    const n = query[key];
    return typeof n === 'number' && Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  };
  return {
    required: strings('required'),
    preferred: strings('preferred'),
    antipatterns: strings('antipatterns'),
    minScore: number('minScore', 0, 0, 1),
    maxResults: Math.floor(number('maxResults', defaultMaxResults, 1, 200)),
    timeoutMs: Math.floor(number('timeoutMs', defaultQueryTimeoutMs, 0, genomeQueryLimits.maxTimeoutMs)),
  };
}

/** The match of a manifest, or undefined when it does not answer the query. */
export function matchGenome(query: Required<GenomeQuery>, manifest: GenomeManifest): Match | undefined {
  const capabilities = new Set(normal(manifest.capabilities));
  if (!normal(query.required).every((capability) => capabilities.has(capability))) return undefined;
  const text = new Set([...capabilities, ...words(manifest.name), ...words(manifest.description), ...[...capabilities].flatMap((c) => words(c))]);
  if (normal(query.antipatterns).some((anti) => text.has(anti) || words(anti).every((word) => text.has(word)))) return undefined;
  const score = manifest.metrics?.score ?? 0;
  if (query.minScore > 0 && score < query.minScore) return undefined;
  const wanted = [...query.required, ...query.preferred];
  const compatibility = wanted.length === 0 ? 1 : Math.max(0, cosine(compatibilityVector(wanted, ''), manifest.vector));
  const preferred = normal(query.preferred);
  const preferredShare = preferred.length === 0 ? 1 : preferred.filter((p) => capabilities.has(p)).length / preferred.length;
  return { compatibility, rank: 0.6 * compatibility + 0.2 * preferredShare + 0.2 * score };
}
