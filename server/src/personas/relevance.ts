/**
 * How relevant a message is to a persona that was not mentioned: the score it bids with.
 * Triggers weigh most (a phrase or a /regular expression/), then capability words found in the
 * message, then the persona's name or id written without @; when one of those holds, how well the
 * message matches the persona's profile (BM25 over every persona on the mesh, see profileMatch.ts)
 * ranks it further. The room role scales it: experts
 * bid fully, members and moderators less, learners and observers never. 0 = no bid.
 */
import type { PersonaDefinition } from '../../../protocol/personas';
import { queryTerms } from './brains/librarian';

const roleWeight: Record<string, number> = { expert: 1, member: 0.8, moderator: 0.5, learner: 0, observer: 0 };

export function relevance(persona: PersonaDefinition, roomId: string, text: string, profileScore = 0): number {
  const role = persona.rooms[roomId];
  if (role === undefined || persona.participation.mentionsOnly) return 0;
  const weight = roleWeight[role] ?? 0;
  if (weight === 0) return 0;
  const lower = text.toLowerCase();
  const terms = new Set(queryTerms(text));
  let score = 0;
  for (const trigger of persona.triggers) {
    const regex = asRegExp(trigger);
    if (regex) {
      if (regex.test(text)) score += 3;
    } else if (containsPhrase(lower, trigger.toLowerCase())) score += 3;
  }
  for (const capability of persona.capabilities) {
    for (const term of queryTerms(capability.replace(/[-_/.]/g, ' '))) if (terms.has(term)) score += 1;
  }
  if (containsPhrase(lower, persona.id.toLowerCase()) || containsPhrase(lower, persona.name.toLowerCase())) score += 2;
  // The profile match ranks personas that have a reason to speak; alone it would make them chatter.
  if (score > 0) score += profileScore;
  return Math.round(score * weight * 1000) / 1000;
}

function asRegExp(trigger: string): RegExp | undefined {
  const last = trigger.lastIndexOf('/');
  if (trigger.length < 3 || !trigger.startsWith('/') || last <= 0) return undefined;
  try {
    return new RegExp(trigger.slice(1, last), trigger.slice(last + 1).replace(/[gy]/g, ''));
  } catch {
    return undefined;
  }
}

function containsPhrase(text: string, phrase: string): boolean {
  if (!phrase.trim()) return false;
  const escaped = phrase.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(^|[^\\p{L}\\p{N}_@])${escaped}(?:e?s)?(?![\\p{L}\\p{N}_])`, 'u').test(text);
}
