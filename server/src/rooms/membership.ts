/**
 * Which rooms this node knows and has joined, and who is in them: joins and leaves of its local
 * participants, the subscription to each joined room's topic (while one of them is in it), and the
 * rooms other nodes announce or mention in sync.
 */
import { topics } from '../../../protocol/mesh';
import { ServiceError } from '../../../protocol/errors';
import { participantKey, roomTopics, type Author, type Participant, type RoomAnnouncement, type RoomSummary } from '../../../protocol/rooms';
import type { PortMessage } from '../kernel/meshPort';
import type { RoomsContext } from './context';
import type { RoomIntake } from './intake';
import type { LocalWrites } from './localWrites';
import type { PresenceTable } from './presence';
import type { LocalParticipant } from '../../../protocol/rooms';
import { requireRoomId } from './validate';

export interface MembershipOptions extends RoomsContext {
  readonly presence: PresenceTable;
  readonly writes: LocalWrites;
  /** Takes in what arrives on a joined room's topic. */
  readonly intake: RoomIntake;
  /** This node's human participant, or `as` (Rooms.localAuthor). */
  readonly localAuthor: (as?: LocalParticipant) => Author;
}

export class Membership {
  private readonly roomSubscriptions = new Map<string, () => void>();

  constructor(private readonly options: MembershipOptions) {}

  /** Every room this node knows: joined, or seen on the mesh. */
  list(): RoomSummary[] {
    return this.options.log().rooms().map((room) => this.summaryOf(room.id));
  }

  room(roomId: string): RoomSummary {
    requireRoomId(roomId);
    if (!this.options.log().room(roomId)) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    return this.summaryOf(roomId);
  }

  /** Joins a room (creating it mesh-wide if new). Joining twice changes nothing. */
  join(roomId: string, as?: LocalParticipant): RoomSummary {
    requireRoomId(roomId);
    const author = this.options.localAuthor(as);
    const log = this.options.log();
    const created = log.ensureRoom(roomId, roomId, this.options.clock.now());
    const room = log.room(roomId)!;
    if (!room.joined) {
      log.setJoined(roomId, true);
      this.subscribeRoom(roomId);
      this.options.transport.publish(roomTopics.announce, { rooms: [{ id: roomId, name: room.name }] } satisfies RoomAnnouncement);
      for (const peer of this.options.transport.upPeers()) this.options.sync()?.pull(peer, { again: true });
    }
    if (!this.isMember(roomId, author)) this.options.writes.appendAndPublish(roomId, { type: 'joined', author });
    else if (created || !room.joined) this.options.roomsChanged();
    return this.summaryOf(roomId);
  }

  /** Leaves a room; the history stays on disk. The node unsubscribes when no local participant is left. */
  leave(roomId: string, as?: LocalParticipant): void {
    requireRoomId(roomId);
    const author = this.options.localAuthor(as);
    const room = this.options.log().room(roomId);
    if (!room) throw new ServiceError('not-found', `there is no room "${roomId}"`);
    if (this.isMember(roomId, author)) this.options.writes.appendAndPublish(roomId, { type: 'left', author });
    const localLeft = this.options.log().members(roomId).some((m) => m.joined && m.author.nodeId === this.options.nodeId);
    if (!localLeft && room.joined) {
      this.options.log().setJoined(roomId, false);
      this.roomSubscriptions.get(roomId)?.();
      this.roomSubscriptions.delete(roomId);
      this.options.roomsChanged();
    }
  }

  /** Participants who joined a room (and have not left), with their presence. */
  participants(roomId: string): Participant[] {
    return this.options
      .log()
      .members(requireRoomId(roomId))
      .filter((m) => m.joined)
      .map((m) => this.options.presence.lookup(m.author));
  }

  isMember(roomId: string, author: Author): boolean {
    const key = participantKey(author);
    return this.options.log().members(roomId).some((m) => m.joined && participantKey(m.author) === key);
  }

  subscribeRoom(roomId: string): void {
    if (this.roomSubscriptions.has(roomId)) return;
    this.roomSubscriptions.set(
      roomId,
      this.options.transport.subscribe(topics.chatRoom(roomId), (message) => this.options.intake.onRoomMessage(roomId, message)),
    );
  }

  unsubscribeRooms(): void {
    for (const off of this.roomSubscriptions.values()) off();
    this.roomSubscriptions.clear();
  }

  onAnnounce(message: PortMessage): void {
    const body = message.body as Partial<RoomAnnouncement> | null;
    if (!body || !Array.isArray(body.rooms)) return;
    this.learnRooms(body.rooms.slice(0, 100).map((room: unknown) => (room as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string'));
  }

  learnRooms(roomIds: string[]): void {
    if (!this.options.running()) return;
    let changed = false;
    for (const roomId of roomIds.slice(0, 1000)) {
      try {
        requireRoomId(roomId);
      } catch {
        continue;
      }
      if (this.options.log().ensureRoom(roomId, roomId, this.options.clock.now())) changed = true;
    }
    if (changed) this.options.roomsChanged();
  }

  private summaryOf(roomId: string): RoomSummary {
    const room = this.options.log().room(roomId);
    const stats = this.options.log().stats(roomId);
    const summary: RoomSummary = {
      id: roomId,
      name: room?.name ?? roomId,
      joined: room?.joined ?? false,
      messageCount: stats.messageCount,
      participants: this.participants(roomId),
    };
    if (stats.lastActivity !== undefined) summary.lastActivity = stats.lastActivity;
    return summary;
  }
}
