/**
 * The loaded part of one room's history, in display order (HLC, origin, roomSeq), keyed by id.
 * Immutable arrays: every change yields a new `list`, so Lit sees it.
 */
import { compareMessages, type ChatMessage } from '../../protocol/rooms';

export class RoomMessages {
  list: readonly ChatMessage[] = [];
  hasMore = true;
  loaded = false;
  private index = new Map<string, number>();

  get(id: string): ChatMessage | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.list[i];
  }

  indexOf(id: string): number {
    return this.index.get(id) ?? -1;
  }

  /** The newest page (replaces what was loaded). */
  setPage(messages: readonly ChatMessage[], hasMore: boolean): void {
    this.list = [...messages].sort(compareMessages);
    this.hasMore = hasMore;
    this.loaded = true;
    this.reindex();
  }

  /** An older page: messages before the first loaded one (duplicates are ignored). */
  prepend(messages: readonly ChatMessage[], hasMore: boolean): number {
    const fresh = messages.filter((m) => !this.index.has(m.id));
    this.hasMore = hasMore;
    if (fresh.length === 0) return 0;
    this.list = [...fresh, ...this.list].sort(compareMessages);
    this.reindex();
    return fresh.length;
  }

  /** A new or changed message: replaced in place, or inserted at its place. Returns true when it is new. */
  upsert(message: ChatMessage): boolean {
    const at = this.index.get(message.id);
    if (at !== undefined) {
      const list = this.list.slice();
      list[at] = message;
      this.list = list;
      return false;
    }
    const list = this.list.slice();
    // New messages almost always go last: search from the end.
    let i = list.length;
    while (i > 0 && compareMessages(list[i - 1]!, message) > 0) i--;
    // Older than everything loaded while older pages exist: it belongs to a page not loaded yet.
    if (i === 0 && this.hasMore && list.length > 0) return true;
    list.splice(i, 0, message);
    this.list = list;
    if (i === list.length - 1) this.index.set(message.id, i);
    else this.reindex();
    return true;
  }

  private reindex(): void {
    this.index = new Map(this.list.map((m, i) => [m.id, i]));
  }
}
