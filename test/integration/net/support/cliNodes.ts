/**
 * Mesh nodes as processes (`persona-mesh node --jsonl`): reading their JSON-line events and asking
 * them over stdin. A process writes its events to stdout in order, so an answer to a request comes
 * after every event it emitted before it read the request.
 */
import { until } from '../../../support/until';

export type Event = Record<string, unknown>;

/** What these helpers need of a node process: its events so far, its stderr, its stdin. */
export interface JsonlNode {
  readonly events: readonly Event[];
  readonly stderr: string;
  send(command: Event): void;
}

/** The peers with a session now: those whose last peer.up/peer.down event is an up. */
export function upIds(events: readonly Event[]): Set<string> {
  const state = new Map<string, boolean>();
  for (const event of events) {
    if (event.event === 'peer.up') state.set(String(event.nodeId), true);
    if (event.event === 'peer.down') state.set(String(event.nodeId), false);
  }
  return new Set([...state].filter(([, up]) => up).map(([id]) => id));
}

/** Sends `command` and resolves with the first `answer` event after it (`match` narrows it down). */
export async function ask(node: JsonlNode, command: Event, answer: string, timeoutMs = 10_000, match: (event: Event) => boolean = () => true): Promise<Event> {
  const before = node.events.length;
  node.send(command);
  return until(`"${answer}" in answer to ${JSON.stringify(command)}`, () => node.events.slice(before).find((event) => event.event === answer && match(event)), timeoutMs, () => `stderr:\n${node.stderr}`);
}

/** `{"op":"rpc"}` to node id `target`: the `rpc.result` event (with `result` or `error`). */
export function rpc(node: JsonlNode, target: string, method: string, id: string, timeoutMs = 10_000): Promise<Event> {
  return ask(node, { op: 'rpc', node: target, method, params: {}, id }, 'rpc.result', timeoutMs, (event) => event.id === id);
}

/** The network's counters as the node reports them (`{"op":"stats"}`). */
export async function counters(node: JsonlNode): Promise<Record<string, number>> {
  return ((await ask(node, { op: 'stats' }, 'stats')).counters ?? {}) as Record<string, number>;
}
