/**
 * The order class of a broadcast envelope: a receiver keeps one per-sender order per (origin,
 * class) and drops an envelope of a class that comes after a later one of the same class as
 * "late" (a route changed under it). Classes: the priority it was queued with when not chat
 * (a session sends control before chat before bulk, so classes overtake each other), and
 * `unordered` for room events. Those are folded order-independently and placed by their hybrid
 * clock (rooms/fold.ts), so a copy that Plumtree repairs after a later one is delivered rather
 * than dropped and left for the next anti-entropy round.
 */
import type { Envelope } from '../../../protocol/mesh';

export type OrderClass = 'control' | 'bulk' | 'unordered' | undefined;

const unorderedTopic = /^\/chat\/room\/[^/]+\/events\//;

/** The class's code in a broadcast id (`seq/code`); chat has none. */
const codes = { control: 'control', bulk: 'bulk', unordered: 'u' } as const;
const classesByCode = new Map<string, OrderClass>(Object.entries(codes).map(([orderClass, code]) => [code, orderClass as OrderClass]));

export function orderClassOf(envelope: Pick<Envelope, 'prio' | 'topic'>): OrderClass {
  return envelope.prio ?? (unorderedTopic.test(envelope.topic) ? 'unordered' : undefined);
}

/** The broadcast id of a (seq, class): what IHAVE and GRAFT name. */
export function broadcastIdOf(seq: number, orderClass: OrderClass): string {
  return orderClass === undefined ? String(seq) : `${seq}/${codes[orderClass]}`;
}

/** The (seq, class) of a broadcast id; undefined for an id no node makes. */
export function parseBroadcastId(id: string): { seq: number; orderClass: OrderClass } | undefined {
  const slash = id.indexOf('/');
  const seq = Number(slash < 0 ? id : id.slice(0, slash));
  if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (slash < 0) return { seq, orderClass: undefined };
  const orderClass = classesByCode.get(id.slice(slash + 1));
  return orderClass === undefined ? undefined : { seq, orderClass };
}

/** The key a receiver keeps one order (and one replay window) under. */
export function orderKey(origin: string, orderClass: OrderClass): string {
  return orderClass === undefined ? origin : `${origin}/${codes[orderClass]}`;
}
