/**
 * Persona reply times from the room history: a reply's HLC wall time minus its prompt's (or the
 * reply's `metadata.latencyMs` when its persona measured it). Computed from the replicated history
 * only, so every node holding the same rooms gets the same samples, whichever order the messages
 * arrived in: replies whose prompt has not arrived yet are simply looked at again next time.
 */
import { participantKey, type ChatMessage } from '../../../protocol/rooms';
import type { Db } from '../store/database';
import type { SignalStore } from './signalStore';

/** Reply times above this are not a persona's latency (an old prompt answered on purpose, a clock jump). */
export const maxLatencyMs = 3_600_000;

/** The reply time of a persona reply, if it has one. */
export function latencyOf(reply: ChatMessage, prompt: ChatMessage | undefined): number | undefined {
  if (reply.author.kind !== 'persona' || !reply.replyTo || reply.metadata?.['notice'] === true) return undefined;
  const measured = reply.metadata?.['latencyMs'];
  const ms = typeof measured === 'number' && Number.isFinite(measured) ? measured : prompt ? reply.hlc.wall - prompt.hlc.wall : undefined;
  return ms !== undefined && ms >= 0 && ms <= maxLatencyMs ? Math.round(ms) : undefined;
}

/**
 * Notes the reply times of persona replies not noted yet (one pass over the persona replies of the
 * rooms this node holds); returns how many were added.
 */
export function collectLatencies(db: Db, store: SignalStore): number {
  const replies = db
    .prepare(
      "SELECT m.room_id AS room_id, m.message AS message FROM room_messages m LEFT JOIN academy_latency l ON l.room = m.room_id AND l.message_id = (m.origin || ':' || m.room_seq) " +
        "WHERE l.message_id IS NULL AND json_extract(m.message, '$.author.kind') = 'persona' AND json_extract(m.message, '$.replyTo') IS NOT NULL",
    )
    .all() as { room_id: string; message: string }[];
  if (replies.length === 0) return 0;
  const promptQuery = db.prepare('SELECT message FROM room_messages WHERE room_id = ? AND origin = ? AND room_seq = ?');
  let added = 0;
  for (const row of replies) {
    const reply = JSON.parse(row.message) as ChatMessage;
    const separator = reply.replyTo!.lastIndexOf(':');
    const prompt = promptQuery.get(row.room_id, reply.replyTo!.slice(0, separator), Number(reply.replyTo!.slice(separator + 1))) as { message: string } | undefined;
    const ms = latencyOf(reply, prompt && (JSON.parse(prompt.message) as ChatMessage));
    if (ms === undefined) continue;
    if (store.addLatency({ messageId: reply.id, room: row.room_id, personaKey: participantKey(reply.author), ms, ts: reply.hlc.wall })) added++;
  }
  return added;
}
