/**
 * BM25 of a message against the profiles (name, description, capabilities) of every persona on
 * the mesh: the part of a bid that catches a question worded unlike any trigger. The corpus is
 * the persona directory, which every node shares, so the same message gets the same profile score
 * on every node and bids stay comparable mesh-wide.
 */
import MiniSearch from 'minisearch';
import type { PersonaSummary } from '../../../protocol/personas';
import { queryTerms } from './brains/librarian';

/** Profile scores by `nodeId/personaId`, each in [0, 2): BM25 squashed so a long message cannot outbid a trigger. */
export function profileScores(personas: readonly PersonaSummary[], text: string): Map<string, number> {
  const scores = new Map<string, number>();
  const terms = queryTerms(text);
  if (terms.length === 0 || personas.length === 0) return scores;
  const index = new MiniSearch<{ key: string; text: string }>({ idField: 'key', fields: ['text'], tokenize: queryTerms, processTerm: (term) => term });
  const seen = new Set<string>();
  for (const persona of personas) {
    const key = `${persona.nodeId}/${persona.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    index.add({ key, text: [persona.name, persona.description ?? '', ...persona.capabilities.map((c) => c.replace(/[-_/.]/g, ' '))].join(' ') });
  }
  for (const result of index.search(terms.join(' '), { combineWith: 'OR' })) {
    scores.set(String(result.id), Math.round((2 * result.score) / (result.score + 2) * 1000) / 1000);
  }
  return scores;
}
