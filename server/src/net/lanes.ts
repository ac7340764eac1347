/**
 * Picks the lane and priority of an event from its topic, unless the publisher says otherwise.
 * Fast lane (lossy multicast): presence, typing, persona heartbeats, live telemetry. Reliable
 * lane: everything else. Bulk priority: genome pieces, which leave after control and chat.
 */
import type { Lane, Priority } from '../protocol/mesh';

const fastPatterns = [/^\/presence\//, /\/typing(\/|$)/, /\/telemetry(\/|$)/, /\/heartbeat(\/|$)/];
const bulkPatterns = [/^\/genome\/piece/];

export interface LaneChoice {
  lane: Lane;
  priority: Priority;
}

export function chooseLane(topic: string, override: Partial<LaneChoice> = {}): LaneChoice {
  const lane = override.lane ?? (fastPatterns.some((pattern) => pattern.test(topic)) ? 'fast' : 'reliable');
  const priority = override.priority ?? (bulkPatterns.some((pattern) => pattern.test(topic)) ? 'bulk' : 'chat');
  return { lane, priority };
}
