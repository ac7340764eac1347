/**
 * The context window a persona's brain sees for one reply, built from ONE room (no bleed between
 * rooms) within a token budget. In order of priority: the system prompt and the message being
 * answered (with its code attachment), the reply chain above it, the most recent messages, the
 * room's earlier mentions of the persona, and the older messages most relevant to the question.
 * What fits is given oldest first; the persona's own messages are `assistant` turns.
 */
import type { PersonaDefinition } from '../../../protocol/personas';
import { compareMessages, type ChatMessage } from '../../../protocol/rooms';
import type { HistoryPage, HistoryParams } from '../../../protocol/roomsRpc';
import type { BrainMessage } from './brains/brain';
import { queryTerms } from './brains/librarian';

export interface RoomHistorySource {
  history(params: HistoryParams): HistoryPage;
  message(roomId: string, messageId: string): ChatMessage | undefined;
}

export interface ContextOptions {
  /** Tokens for the whole prompt. Default: the brain's contextSize minus maxTokens, or 3072. */
  budgetTokens?: number;
  /** Recent messages considered. Default 20. */
  recent?: number;
  /** Older messages searched for relevance and mentions. Default 200. */
  searchDepth?: number;
  /** Reply-chain ancestors followed. Default 6. */
  chainDepth?: number;
}

/** A rough token count (about 4 characters a token for English and code). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

export function renderMessage(message: ChatMessage, maxChars = 8000): string {
  let content = message.text;
  if (message.attachment) {
    const a = message.attachment;
    content += `\n\n\`${a.path}\` lines ${a.startLine}-${a.endLine}:\n\`\`\`${a.language}\n${a.content}\n\`\`\``;
  }
  return content.length > maxChars ? `${content.slice(0, maxChars)}\n…(cut)` : content;
}

export function buildContext(persona: PersonaDefinition, nodeId: string, message: ChatMessage, rooms: RoomHistorySource, options: ContextOptions = {}): BrainMessage[] {
  const budget = options.budgetTokens ?? Math.max(256, (persona.brain.contextSize ?? 4096) - (persona.brain.maxTokens ?? 1024));
  const roomId = message.roomId;
  const system: BrainMessage = { role: 'system', content: persona.systemPrompt };
  let used = estimateTokens(system.content);
  const chosen = new Map<string, ChatMessage>();
  const take = (m: ChatMessage, maxChars?: number): boolean => {
    if (m.deleted || m.roomId !== roomId || chosen.has(m.id)) return true;
    const cost = estimateTokens(renderMessage(m, maxChars));
    if (used + cost > budget) return false;
    used += cost;
    chosen.set(m.id, m);
    return true;
  };
  // The question itself always goes in (cut to fit the budget if need be).
  const questionChars = Math.max(200, (budget - used) * 4 - 64);
  used += estimateTokens(renderMessage(message, questionChars));
  chosen.set(message.id, message);

  // The reply chain.
  let parent = message.replyTo;
  for (let depth = 0; parent && depth < (options.chainDepth ?? 6); depth++) {
    const m = safe(() => rooms.message(roomId, parent!));
    if (!m || !take(m)) break;
    parent = m.replyTo;
  }

  const page = safe(() => rooms.history({ roomId, limit: Math.max(options.searchDepth ?? 200, options.recent ?? 20) }))?.messages ?? [];
  const before = page.filter((m) => compareMessages(m, message) < 0);
  // Recent messages, newest first, while they fit.
  for (const m of before.slice(-(options.recent ?? 20)).reverse()) if (!take(m)) break;
  // Earlier mentions of the persona.
  const mine = `${nodeId}/${persona.id}`;
  for (const m of [...before].reverse()) if (m.mentions.includes(mine) && !take(m)) break;
  // The most relevant older messages.
  const terms = new Set(queryTerms(message.text));
  if (terms.size > 0) {
    const scored = before
      .filter((m) => !chosen.has(m.id))
      .map((m) => ({ m, score: queryTerms(m.text).filter((t) => terms.has(t)).length }))
      .filter((x) => x.score > 0)
      .sort((x, y) => y.score - x.score || compareMessages(y.m, x.m));
    for (const { m } of scored.slice(0, 10)) take(m);
  }

  const ordered = [...chosen.values()].sort(compareMessages);
  return [
    system,
    ...ordered.map((m): BrainMessage => {
      const content = renderMessage(m, m.id === message.id ? questionChars : undefined);
      return m.author.nodeId === nodeId && m.author.participantId === persona.id ? { role: 'assistant', content } : { role: 'user', content, name: m.author.displayName };
    }),
  ];
}

function safe<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}
