/**
 * In-memory answers to the chat panel's requests, standing in for the extension host and the
 * mesh server behind it (the host boundary only: the page itself is the real bundle).
 */
import { compareMessages, participantKey, type Author, type ChatMessage, type Participant, type RoomSummary } from '../../protocol/rooms';
import type { HistoryParams, MessageRef, SendMessageParams } from '../../protocol/roomsRpc';
import type { FromWebview, ToWebview } from '../../protocol/webview';
import type { NodeStatus } from '../../protocol/status';
import type { WebviewPage } from './harness';

export type ChatPage = WebviewPage<FromWebview, ToWebview>;

export const selfNode = 'SELFNODE';
export const self: Author = { nodeId: selfNode, participantId: 'user', displayName: 'Me', kind: 'human' };
export const ana: Author = { nodeId: 'ANANODE', participantId: 'user', displayName: 'Ana', kind: 'human' };
export const bo: Author = { nodeId: 'BONODE', participantId: 'user', displayName: 'Bo', kind: 'human' };
export const sage: Author = { nodeId: 'ANANODE', participantId: 'sage', displayName: 'Sage', kind: 'persona' };

export const status: NodeStatus = {
  state: 'running',
  nodeId: selfNode,
  nodeIdDisplay: 'SELFNOD-E',
  name: 'test-node',
  version: '0.1.0',
  dataDir: '/tmp/x',
  meshKeySet: true,
  peers: 2,
  startedAt: 0,
  pid: 1,
  problems: [],
};

const t0 = Date.UTC(2025, 0, 1, 9, 0, 0);

export function message(roomId: string, seq: number, author: Author, text: string, extra: Partial<ChatMessage> = {}): ChatMessage {
  return { id: `${author.nodeId}:${roomId}:${seq}`, roomId, origin: author.nodeId, roomSeq: seq, author, text, mentions: [], hlc: { wall: t0 + seq * 1000, logical: 0 }, reactions: {}, ...extra };
}

export class FakeRooms {
  readonly messages = new Map<string, ChatMessage[]>();
  readonly participants: Participant[] = [self, ana, bo, sage].map((a) => ({ ...a, presence: a === bo ? 'away' : 'online' }));
  private seq = 1_000_000;

  constructor(rooms: Record<string, ChatMessage[]> = { general: [], random: [] }) {
    for (const [id, list] of Object.entries(rooms)) this.messages.set(id, [...list].sort(compareMessages));
  }

  summary(id: string): RoomSummary {
    return { id, name: id, joined: true, messageCount: this.messages.get(id)?.length ?? 0, participants: this.participants };
  }

  /** Answers every room request on the page, like the extension host with a running server. */
  install(page: ChatPage): ChatPage {
    page
      .handle('listRooms', () => [...this.messages.keys()].map((id) => this.summary(id)))
      .handle('joinRoom', ({ roomId }: { roomId: string }) => {
        if (!this.messages.has(roomId)) this.messages.set(roomId, []);
        return this.summary(roomId);
      })
      .handle('history', (params: HistoryParams) => this.history(params))
      // As the server does: the message goes out as a notification, then the answer names it.
      .handle('send', async (params: SendMessageParams) => {
        const m = message(params.roomId, this.seq++, self, params.text, { ...(params.replyTo ? { replyTo: params.replyTo } : {}), mentions: params.mentions ?? [] });
        this.messages.get(params.roomId)!.push(m);
        return this.written(page, m);
      })
      .handle('edit', async ({ roomId, messageId, text }: { roomId: string; messageId: string; text: string }) => {
        const list = this.messages.get(roomId)!;
        const i = list.findIndex((m) => m.id === messageId);
        list[i] = { ...list[i]!, text, editedAt: Date.now() };
        return this.written(page, list[i]);
      })
      .handle('react', async ({ roomId, messageId, emoji, add }: { roomId: string; messageId: string; emoji: string; add: boolean }) => {
        const list = this.messages.get(roomId)!;
        const i = list.findIndex((m) => m.id === messageId);
        const who = new Set(list[i]!.reactions[emoji] ?? []);
        if (add) who.add(participantKey(self));
        else who.delete(participantKey(self));
        list[i] = { ...list[i]!, reactions: { ...list[i]!.reactions, [emoji]: [...who] } };
        return this.written(page, list[i]);
      })
      .handle('copyText', () => null)
      .handle('insertCode', () => null)
      .handle('openAttachment', () => null);
    return page;
  }

  private async written(page: ChatPage, message: ChatMessage): Promise<MessageRef> {
    await page.dispatch({ type: 'message', message });
    return { roomId: message.roomId, id: message.id };
  }

  history({ roomId, before, limit }: HistoryParams) {
    const list = this.messages.get(roomId) ?? [];
    const end = before === undefined ? list.length : list.findIndex((m) => m.id === before);
    const start = Math.max(0, end - limit);
    return { roomId, messages: list.slice(start, end), hasMore: start > 0 };
  }
}

/** Opens the panel with the fake rooms and the node status; resolves when the room's messages are shown. */
export async function openChat(page: ChatPage): Promise<void> {
  await page.waitForPosted((m) => m.type === 'ready');
  await page.dispatch({ type: 'status', status, serverRunning: true });
}

export function many(roomId: string, count: number): ChatMessage[] {
  const authors = [ana, bo, sage, self];
  const texts = [
    'Short one.',
    'A longer message that wraps onto a second line in a narrow panel, to give the rows different heights as real chats have.',
    'Some `inline code` and a list:\n- one\n- two',
    '```ts\nconst x: number = 1;\nconsole.log(x);\n```',
  ];
  return Array.from({ length: count }, (_, i) => message(roomId, i + 1, authors[i % authors.length]!, `#${i + 1} ${texts[i % texts.length]!}`));
}
