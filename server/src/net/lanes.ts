/**
 * Picks the lane and priority of an event from its topic, unless the publisher says otherwise.
 * Fast lane (lossy multicast): presence, typing, persona heartbeats, live telemetry. Reliable
 * lane: everything else. Bulk priority: genome pieces, which leave after control and chat.
 */
import type { Lane, Priority } from '../../../protocol/mesh';

const fastPatterns = [/^\/presence\//, /\/typing(\/|$)/, /\/telemetry(\/|$)/, /\/heartbeat(\/|$)/];
const bulkPatterns = [/^\/genome\/piece/];

export interface LaneChoice {
  lane: Lane;
  priority: Priority;
}

/** Choices by topic (bounded): publishing repeats few topics, so the patterns run once each. */
const byTopic = new Map<string, LaneChoice>();
const maxCachedTopics = 1024;

export function chooseLane(topic: string, override: Partial<LaneChoice> = {}): LaneChoice {
  let choice = byTopic.get(topic);
  if (!choice) {
    choice = {
      lane: fastPatterns.some((pattern) => pattern.test(topic)) ? 'fast' : 'reliable',
      priority: bulkPatterns.some((pattern) => pattern.test(topic)) ? 'bulk' : 'chat',
    };
    if (byTopic.size >= maxCachedTopics) byTopic.clear();
    byTopic.set(topic, choice);
  }
  if (override.lane === undefined && override.priority === undefined) return choice;
  return { lane: override.lane ?? choice.lane, priority: override.priority ?? choice.priority };
}
