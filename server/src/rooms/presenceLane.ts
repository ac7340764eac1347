/**
 * Presence on the fast lane (`/presence/participants`): this node's participants announced every
 * `presenceIntervalMs` (less often in a larger mesh), at once to a new neighbour, and as a goodbye
 * on stop; peers' announcements taken into the PresenceTable (presence.ts), which expires them.
 */
import { overLimit } from '../../../protocol/sizeLimit';
import { ServiceError } from '../../../protocol/errors';
import { roomTopics, roomWireLimits, type Author, type Participant, type PresenceState } from '../../../protocol/rooms';
import type { TimerHandle } from '../kernel/clock';
import type { PortMessage } from '../kernel/meshPort';
import { refreshIntervalMs } from '../kernel/refreshInterval';
import type { RoomsContext } from './context';
import { isPresenceState, type PresenceTable } from './presence';
import type { LocalParticipant } from '../../../protocol/rooms';

export interface PresenceLaneOptions extends RoomsContext {
  readonly presence: PresenceTable;
  /** Re-announcement period; peers expire an announcement after 3.5 periods. */
  readonly intervalMs: number;
  /** This node's human participant, or `as` (Rooms.localAuthor). */
  readonly localAuthor: (as?: LocalParticipant) => Author;
}

export class PresenceLane {
  private presenceTimer: TimerHandle | undefined;
  private nextPresenceAt = 0;

  constructor(private readonly options: PresenceLaneOptions) {}

  start(): void {
    const { clock, presence } = this.options;
    this.presenceTimer = clock.setInterval(() => {
      if (presence.expire()) this.options.roomsChanged();
      if (clock.monotonic() >= this.nextPresenceAt) this.announce();
    }, this.options.intervalMs);
    this.announce();
  }

  stop(): void {
    // Say goodbye so peers show us offline at once instead of after the presence ttl.
    try {
      const participants = this.options.presence.localParticipants().map((p) => ({ ...p, presence: 'offline' as const }));
      this.options.transport.publish(roomTopics.presence, { nodeId: this.options.nodeId, participants, ttlMs: this.presenceTtlMs });
    } catch (error) {
      this.options.logger.debug(`presence goodbye not sent: ${String(error)}`);
    }
    this.presenceTimer?.cancel();
    this.presenceTimer = undefined;
  }

  set(presence: PresenceState, statusText?: string, as?: LocalParticipant): Participant {
    if (!isPresenceState(presence)) throw new ServiceError('invalid', `"${String(presence)}" is not a presence (online, away, busy, training, evolving, collaborating, offline)`);
    if (statusText !== undefined && typeof statusText !== 'string') throw new ServiceError('invalid', 'the status text must be text');
    if (statusText !== undefined && statusText.length > roomWireLimits.maxStatusTextChars) {
      throw new ServiceError('too-large', `the status text is ${overLimit(statusText.length, roomWireLimits.maxStatusTextChars, 'characters')}`);
    }
    const participant = this.options.presence.setLocal(this.options.localAuthor(as), presence, statusText);
    this.announce();
    this.options.roomsChanged();
    return participant;
  }

  /**
   * The name of the person at each other node, from the rooms they joined (as their presence
   * announces it, while live): it names the nodes this one hears only through relays.
   */
  humanNames(): Map<string, string> {
    const names = new Map<string, string>();
    const log = this.options.log();
    for (const room of log.rooms()) {
      for (const { author } of log.members(room.id)) {
        if (author.kind === 'human' && author.nodeId !== this.options.nodeId) names.set(author.nodeId, this.options.presence.lookup(author).displayName);
      }
    }
    return names;
  }

  onPresence(message: PortMessage): void {
    if (!this.options.running()) return;
    if (this.options.presence.receive(message.from, message.body)) this.options.roomsChanged();
  }

  onNodeDown(nodeId: string): void {
    if (this.options.presence.nodeDown(nodeId)) this.options.roomsChanged();
  }

  announce(): void {
    if (!this.options.running()) return;
    this.nextPresenceAt = this.options.clock.monotonic() + this.presenceRefreshMs - this.options.intervalMs / 2;
    this.options.transport.publish(roomTopics.presence, this.options.presence.announcement(this.options.nodeId, this.presenceTtlMs));
  }

  announceTo(nodeId: string): void {
    if (!this.options.running()) return;
    this.options.transport.sendTo(nodeId, roomTopics.presence, this.options.presence.announcement(this.options.nodeId, this.presenceTtlMs));
  }

  private get presenceTtlMs(): number {
    return Math.round(this.presenceRefreshMs * 3.5);
  }

  /** Between two announcements: longer in a larger mesh (refreshInterval.ts). */
  private get presenceRefreshMs(): number {
    return refreshIntervalMs(this.options.intervalMs, this.options.presence.nodeCount());
  }
}
