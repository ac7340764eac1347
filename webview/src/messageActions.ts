/**
 * What a message's controls ask of the extension: a reaction, deleting, rating a persona's answer
 * (for the academy; kept in the saved state, so the buttons show it), copying or inserting code,
 * and opening a file (a code attachment, a workspace link in an answer) or a web link.
 */
import type { ReactiveControllerHost } from 'lit';
import { participantKey, type ChatMessage, type CodeAttachment } from '../../protocol/rooms';
import { request } from './host';
import { parseFileLink } from './markdown';
import type { SavedState } from './savedState';
import { vscode } from './vscodeApi';

/** Ratings kept: the newest. */
const maxSavedRatings = 500;

export interface MessageActionsPort {
  /** Runs a request; a failure shows as one line under the composer, else `done` is announced. */
  act(work: () => Promise<unknown>, done?: string): Promise<void>;
  /** A message changed here before its notification comes (deleted). */
  changed(message: ChatMessage): void;
  announce(text: string): void;
}

export class MessageActions {
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly saved: SavedState,
    private readonly port: MessageActionsPort,
  ) {}

  react(message: ChatMessage, emoji: string, add: boolean): void {
    void this.port.act(async () => void (await request('react', { roomId: message.roomId, messageId: message.id, emoji, add })));
  }

  delete(message: ChatMessage): void {
    void this.port.act(async () => {
      await request('delete', { roomId: message.roomId, messageId: message.id });
      this.port.changed({ ...message, deleted: true, text: '', attachment: undefined });
    }, 'Message deleted');
  }

  rate(message: ChatMessage, rating: 'up' | 'down' | null): void {
    const ratings = { ...this.saved.value.ratings };
    if (rating) ratings[message.id] = rating;
    else delete ratings[message.id];
    const keys = Object.keys(ratings);
    for (const key of keys.slice(0, Math.max(0, keys.length - maxSavedRatings))) delete ratings[key];
    this.saved.save({ ratings });
    this.host.requestUpdate();
    vscode.postMessage({ type: 'rate', roomId: message.roomId, messageId: message.id, persona: participantKey(message.author), rating });
    this.port.announce(rating ? `Rated ${rating === 'up' ? 'good' : 'bad'}` : 'Rating removed');
  }

  code(action: 'copy' | 'insert', code: string, language: string): void {
    if (action === 'copy') void this.port.act(() => request('copyText', { text: code }), 'Copied');
    else void this.port.act(() => request('insertCode', { code, ...(language ? { language } : {}) }), 'Inserted at the cursor');
  }

  /** Workspace file links (a persona's sources) open in the editor; web links go to the browser. */
  link(url: string): void {
    const file = parseFileLink(url);
    if (file) this.openAttachment(file);
    else vscode.postMessage({ type: 'openLink', url });
  }

  openAttachment(a: Pick<CodeAttachment, 'path' | 'startLine' | 'endLine'>): void {
    void this.port.act(() => request('openAttachment', { path: a.path, startLine: a.startLine, endLine: a.endLine }));
  }
}
