/**
 * Every room's messages on the panel: the loaded history of each room shown (RoomMessages), and
 * for rooms not loaded only the ids seen, to tell a new message (unread) from a change to one
 * (an edit, a reaction, a streamed token).
 */
import type { ChatMessage } from '../../protocol/rooms';
import { RoomMessages } from './roomMessages';

/** Ids remembered per room not loaded: changes come for recent messages. */
const maxSeenIds = 5000;

export class RoomStore {
  private readonly rooms = new Map<string, RoomMessages>();
  private readonly seenIds = new Map<string, Set<string>>();

  /** The room's history, once its newest page is loaded. */
  get(roomId: string): RoomMessages | undefined {
    return this.rooms.get(roomId);
  }

  /** A message from the extension, new or changed; into its room's history if that is loaded. True when it is new. */
  receive(message: ChatMessage): boolean {
    const loaded = this.rooms.get(message.roomId);
    if (loaded?.loaded) return loaded.upsert(message);
    const ids = this.seenIds.get(message.roomId) ?? new Set<string>();
    this.seenIds.set(message.roomId, ids);
    const isNew = !ids.has(message.id) && !message.editedAt && !message.deleted;
    ids.add(message.id);
    if (ids.size > maxSeenIds) ids.delete(ids.values().next().value!);
    return isNew;
  }

  /** The room's newest page: replaces what was loaded. */
  setNewest(roomId: string, messages: readonly ChatMessage[], hasMore: boolean): RoomMessages {
    const room = this.rooms.get(roomId) ?? new RoomMessages();
    this.rooms.set(roomId, room);
    room.setPage(messages, hasMore);
    return room;
  }

  /** A room left: its history is loaded again if it is shown again. */
  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }
}
