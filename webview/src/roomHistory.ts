/**
 * The history of the room shown, a page at a time, into the store: the newest page when a room is
 * opened (when rooms are switched quickly, the last one asked for wins), then older pages one at a
 * time as the reader scrolls up or a replied-to message is looked for.
 */
import type { ReactiveControllerHost } from 'lit';
import type { ChatMessage } from '../../protocol/rooms';
import { errorText, request } from './host';
import type { RoomMessages } from './roomMessages';
import type { RoomStore } from './roomStore';

const pageSize = 100;

/** What the history tells the panel, beyond the messages it shows. */
export interface HistoryPort {
  /** The room shown now. */
  room(): string;
  /** The newest page of a room is shown. */
  newestShown(): void;
  /** The newest page of the room shown did not load (one line). */
  newestFailed(error: string): void;
  olderFailed(error: string): void;
}

export class RoomHistory {
  private shown: readonly ChatMessage[] = [];
  private more = false;
  private loadingPage = false;
  private generation = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly store: RoomStore,
    private readonly port: HistoryPort,
  ) {}

  /** The messages the list shows: the last room shown's, until another room's page arrives. */
  get messages(): readonly ChatMessage[] {
    return this.shown;
  }

  get hasMore(): boolean {
    return this.more;
  }

  /** An older page is on its way (one at a time). */
  get loadingOlder(): boolean {
    return this.loadingPage;
  }

  show(messages: RoomMessages): void {
    if (messages.list === this.shown && messages.hasMore === this.more) return;
    this.shown = messages.list;
    this.more = messages.hasMore;
    this.host.requestUpdate();
  }

  async loadNewest(roomId: string): Promise<void> {
    const generation = ++this.generation;
    try {
      const page = await request('history', { roomId, limit: pageSize });
      if (generation !== this.generation) return;
      const messages = this.store.setNewest(roomId, page.messages, page.hasMore);
      this.port.newestShown();
      this.show(messages);
    } catch (error) {
      if (generation === this.generation && roomId === this.port.room()) this.port.newestFailed(errorText(error));
    }
  }

  /** The page before the first loaded message of the room shown. False when none was loaded. */
  async loadOlder(): Promise<boolean> {
    const roomId = this.port.room();
    const messages = this.store.get(roomId);
    const first = messages?.list[0];
    if (!messages || !first || !messages.hasMore || this.loadingPage) return false;
    this.setLoading(true);
    try {
      const page = await request('history', { roomId, before: first.id, limit: pageSize });
      messages.prepend(page.messages, page.hasMore);
      if (roomId === this.port.room()) this.show(messages);
      return true;
    } catch (error) {
      this.port.olderFailed(errorText(error));
      return false;
    } finally {
      this.setLoading(false);
    }
  }

  private setLoading(loading: boolean): void {
    if (loading === this.loadingPage) return;
    this.loadingPage = loading;
    this.host.requestUpdate();
  }
}
