/** Reading a room message as a persona does: who it mentions, how deep a persona chain runs, what fits. */
import { roomLimits, type ChatMessage } from '../../../protocol/rooms';

/** Whether a message mentions the persona hosted here: by participant key, or by `@id` in its text when no key names it elsewhere. */
export function mentions(message: ChatMessage, nodeId: string, personaId: string): boolean {
  if (message.mentions.includes(`${nodeId}/${personaId}`)) return true;
  if (message.mentions.some((key) => key.endsWith(`/${personaId}`))) return false;
  return new RegExp(`(^|[^\\w@])@${escapeRegExp(personaId)}(?![\\w-])`, 'i').test(message.text);
}

/** How many persona replies lead to this message: 0 for a human's message. */
export function chainDepth(message: ChatMessage): number {
  if (message.author.kind !== 'persona') return 0;
  const meta = message.metadata?.['persona'] as { chain?: unknown } | undefined;
  return typeof meta?.chain === 'number' && Number.isFinite(meta.chain) ? meta.chain : 1;
}

export function stripMentions(text: string): string {
  return text.replace(/(^|\s)@[\w-]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Cuts a reply to the room's message limit (UTF-8 bytes), leaving room for a suffix. */
export function fitMessage(text: string, reserve = 0): string {
  const limit = roomLimits.maxMessageBytes - reserve - 16;
  if (Buffer.byteLength(text, 'utf8') <= limit) return text;
  let cut = text.slice(0, limit);
  while (Buffer.byteLength(cut, 'utf8') > limit) cut = cut.slice(0, -64);
  return `${cut}…`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
