/**
 * The chat panel: rooms on the left, the room's messages in the centre, who is here on the right.
 * It restores its last state at once (getState), asks the extension for rooms and history, and
 * follows the extension's notifications. Every failed request shows one line where it happened.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { defaultRoomId, participantKey, type ChatMessage, type CodeAttachment, type Participant, type RoomSummary } from '../../protocol/rooms';
import type { NodeStatus } from '../../protocol/status';
import type { ScrollAnchor, ToWebview, WebviewCommand, WebviewState } from '../../protocol/webview';
import './composer';
import type { Composer, SendDetail } from './composer';
import { errorText, onHostMessage, request } from './host';
import './messageList';
import type { MessageList } from './messageList';
import './nodeCard';
import './judgingCard';
import type { ScoresDetail } from './judgingCard';
import type { ChallengeView } from '../../protocol/challenges';
import './participants';
import { typingText } from './participants';
import { parseFileLink } from './markdown';
import { RoomMessages } from './roomMessages';
import './roomList';
import { base, codicons } from './styles';
import { vscode } from './vscodeApi';

const pageSize = 100;
/** Older pages loaded at most to find a saved place or a replied-to message. */
const maxSearchPages = 20;
const typingEveryMs = 2000;
const maxSavedDraft = 64 * 1024;

@customElement('mesh-app')
export class MeshApp extends LitElement {
  private saved: WebviewState = vscode.getState() ?? { version: 1 };
  @state() private status: NodeStatus | undefined = this.saved.lastStatus;
  @state() private serverRunning = true;
  @state() private rooms: RoomSummary[] = this.saved.rooms ?? [];
  @state() private current = this.saved.currentRoom ?? '';
  @state() private roomsError = '';
  @state() private joinError = '';
  @state() private loadError = '';
  @state() private notice = '';
  @state() private busy = false;
  @state() private loadingOlder = false;
  @state() private replyTo: ChatMessage | undefined;
  @state() private editing: ChatMessage | undefined;
  @state() private draft = this.current ? (this.saved.drafts?.[this.current] ?? '') : '';
  @state() private messages: readonly ChatMessage[] = [];
  @state() private hasMore = false;
  @state() private typingNames: string[] = [];
  @state() private announce = '';
  @state() private judging: ChallengeView[] = [];
  @state() private judgingError: Record<string, string> = {};
  @state() private judgingBusy = '';

  @query('mesh-message-list') private list!: MessageList;
  @query('mesh-composer') private composer!: Composer;

  private readonly store = new Map<string, RoomMessages>();
  /** Ids seen in rooms whose history is not loaded (to count new messages, not updates). */
  private readonly seenIds = new Map<string, Set<string>>();
  private readonly typing = new Map<string, Map<string, { name: string; until: number }>>();
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private lastTypingSent = 0;
  private draftBeforeEdit = '';
  private searchPages = 0;
  private loadGeneration = 0;
  private unsubscribe: (() => void) | undefined;
  private flushQueued = false;

  static override styles = [
    base,
    css`
      :host { display: flex; flex-direction: column; height: 100vh; color: var(--vscode-foreground); font-family: var(--vscode-font-family);
        font-size: var(--vscode-font-size); background: var(--vscode-editor-background); }
      .banner { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 4px 12px; border-bottom: 1px solid var(--vscode-inputValidation-warningBorder, var(--vscode-contrastBorder, transparent));
        background: var(--vscode-inputValidation-warningBackground, transparent); }
      .banner span { flex: 1; }
      .layout { flex: 1; display: grid; grid-template-columns: minmax(140px, 200px) 1fr minmax(160px, 220px); min-height: 0; }
      aside { display: flex; flex-direction: column; min-height: 0; background: var(--vscode-sideBar-background, transparent); }
      aside.rooms { border-right: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); }
      aside.people { border-left: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); }
      main { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
      main > header { display: flex; align-items: center; gap: 8px; padding: 4px 12px; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); min-height: 32px; }
      main > header h1 { font-size: 1.05em; margin: 0; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .here { color: var(--vscode-descriptionForeground); display: none; align-items: center; gap: 4px; }
      .typing { min-height: 1.4em; padding: 0 12px; font-size: 0.9em; color: var(--vscode-descriptionForeground); font-style: italic; }
      .centre-message { padding: 16px; }
      .centre-message .error { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
      @media (max-width: 720px) {
        .layout { grid-template-columns: minmax(120px, 160px) 1fr; }
        aside.people { display: none; }
        .here { display: inline-flex; }
      }
      @media (max-width: 460px) {
        .layout { grid-template-columns: 1fr; }
        aside.rooms { display: none; }
      }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.unsubscribe = onHostMessage((message) => this.onMessage(message));
    document.addEventListener('visibilitychange', this.onVisibility);
    window.addEventListener('pagehide', this.flush);
    vscode.postMessage({ type: 'ready' });
    void this.refresh();
  }

  override disconnectedCallback(): void {
    this.unsubscribe?.();
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('pagehide', this.flush);
    clearTimeout(this.typingTimer);
    super.disconnectedCallback();
  }

  private get selfKey(): string | undefined {
    return this.status ? `${this.status.nodeId}/user` : undefined;
  }

  // ---- state that survives hide/show

  private save(patch: Partial<WebviewState>): void {
    this.saved = { ...this.saved, ...patch };
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = () => {
    this.flushQueued = false;
    vscode.setState(this.saved);
  };

  private readonly onVisibility = () => {
    if (document.visibilityState === 'hidden') this.flush();
    else this.markSeen();
  };

  // ---- extension messages

  private onMessage(message: ToWebview): void {
    switch (message.type) {
      case 'status': {
        const wasRunning = this.serverRunning;
        this.serverRunning = message.serverRunning;
        if (message.status) this.status = message.status;
        this.save({ lastStatus: message.status ?? this.saved.lastStatus });
        if (message.serverRunning && (!wasRunning || this.roomsError || this.loadError)) void this.refresh();
        break;
      }
      case 'rooms':
        this.setRooms(message.rooms);
        break;
      case 'message':
        this.onChatMessage(message.message);
        break;
      case 'typing':
        this.onTyping(message.event.roomId, participantKey(message.event.author), message.event.author.displayName, message.event.ttlMs);
        break;
      case 'showRoom':
        void this.openRoom(message.roomId).then(() => {
          if (message.mention) this.addMention(message.mention);
        });
        break;
      case 'judging':
        this.judging = message.challenges;
        break;
      case 'response':
        break;
    }
  }

  private setRooms(rooms: readonly RoomSummary[]): void {
    const seen = { ...this.saved.seen };
    for (const room of rooms) if (seen[room.id] === undefined) seen[room.id] = room.messageCount;
    this.rooms = [...rooms].sort((a, b) => Number(b.joined) - Number(a.joined) || a.id.localeCompare(b.id));
    this.save({ rooms: this.rooms.slice(0, 200), seen });
    this.markSeen();
  }

  private markSeen(): void {
    const room = this.rooms.find((r) => r.id === this.current);
    if (!room || document.visibilityState === 'hidden') return;
    if (this.saved.seen?.[room.id] !== room.messageCount) this.save({ seen: { ...this.saved.seen, [room.id]: room.messageCount } });
    this.requestUpdate();
  }

  private get unread(): Record<string, number> {
    const unread: Record<string, number> = {};
    for (const room of this.rooms) unread[room.id] = Math.max(0, room.messageCount - (this.saved.seen?.[room.id] ?? room.messageCount));
    return unread;
  }

  private onChatMessage(message: ChatMessage): void {
    const loaded = this.store.get(message.roomId);
    let isNew: boolean;
    if (loaded?.loaded) {
      isNew = loaded.upsert(message);
    } else {
      const ids = this.seenIds.get(message.roomId) ?? new Set<string>();
      this.seenIds.set(message.roomId, ids);
      isNew = !ids.has(message.id) && !message.editedAt && !message.deleted;
      ids.add(message.id);
      if (ids.size > 5000) ids.delete(ids.values().next().value!);
    }
    if (isNew) {
      this.rooms = this.rooms.map((r) => (r.id === message.roomId ? { ...r, messageCount: r.messageCount + 1, lastActivity: message.sentAt ?? message.hlc.wall } : r));
      const fromOthers = participantKey(message.author) !== this.selfKey;
      if (message.roomId === this.current) {
        this.markSeen();
        if (fromOthers) this.announce = `${message.author.displayName}: ${message.text.replace(/\s+/g, ' ').slice(0, 140)}`;
      }
      // Whoever wrote stops typing.
      this.typing.get(message.roomId)?.delete(participantKey(message.author));
      this.updateTyping();
    }
    if (message.roomId === this.current && loaded) this.showStore(loaded);
  }

  private onTyping(roomId: string, key: string, name: string, ttlMs: number): void {
    if (key === this.selfKey) return;
    const room = this.typing.get(roomId) ?? new Map<string, { name: string; until: number }>();
    this.typing.set(roomId, room);
    room.set(key, { name, until: Date.now() + Math.min(Math.max(ttlMs, 500), 30_000) });
    this.updateTyping();
  }

  private updateTyping(): void {
    clearTimeout(this.typingTimer);
    const now = Date.now();
    let next = Infinity;
    for (const room of this.typing.values()) {
      for (const [key, entry] of room) {
        if (entry.until <= now) room.delete(key);
        else next = Math.min(next, entry.until);
      }
    }
    this.typingNames = [...(this.typing.get(this.current)?.values() ?? [])].map((entry) => entry.name);
    if (next !== Infinity) this.typingTimer = setTimeout(() => this.updateTyping(), next - now + 10);
  }

  // ---- rooms and history

  private async refresh(): Promise<void> {
    try {
      const rooms = await request('listRooms', {});
      this.roomsError = '';
      this.setRooms(rooms);
    } catch (error) {
      this.roomsError = errorText(error);
    }
    const target = this.current || this.rooms.find((r) => r.joined)?.id || defaultRoomId;
    await this.openRoom(target, { reload: true });
  }

  private async openRoom(roomId: string, options: { reload?: boolean } = {}): Promise<void> {
    const changed = roomId !== this.current;
    if (changed) {
      this.replyTo = undefined;
      this.editing = undefined;
      this.notice = '';
      this.current = roomId;
      this.draft = this.saved.drafts?.[roomId] ?? '';
      this.save({ currentRoom: roomId });
      this.updateTyping();
    }
    vscode.postMessage({ type: 'roomShown', roomId });
    const room = this.rooms.find((r) => r.id === roomId);
    if (!room?.joined && !this.roomsError) {
      try {
        const joined = await request('joinRoom', { roomId });
        this.rooms = [...this.rooms.filter((r) => r.id !== roomId), joined].sort((a, b) => Number(b.joined) - Number(a.joined) || a.id.localeCompare(b.id));
        this.save({ rooms: this.rooms });
        this.joinError = '';
      } catch (error) {
        if (roomId === this.current) this.loadError = errorText(error);
        return;
      }
    }
    this.markSeen();
    const loaded = this.store.get(roomId);
    if (loaded?.loaded && !options.reload) {
      this.loadError = '';
      this.showStore(loaded);
      return;
    }
    await this.loadNewest(roomId);
  }

  private async loadNewest(roomId: string): Promise<void> {
    const generation = ++this.loadGeneration;
    try {
      const page = await request('history', { roomId, limit: pageSize });
      if (generation !== this.loadGeneration) return;
      const messages = this.store.get(roomId) ?? new RoomMessages();
      this.store.set(roomId, messages);
      messages.setPage(page.messages, page.hasMore);
      this.loadError = '';
      this.searchPages = 0;
      this.showStore(messages);
    } catch (error) {
      if (generation === this.loadGeneration && roomId === this.current) this.loadError = errorText(error);
    }
  }

  private showStore(messages: RoomMessages): void {
    this.messages = messages.list;
    this.hasMore = messages.hasMore;
  }

  private async loadOlder(): Promise<boolean> {
    const roomId = this.current;
    const messages = this.store.get(roomId);
    const first = messages?.list[0];
    if (!messages || !first || !messages.hasMore || this.loadingOlder) return false;
    this.loadingOlder = true;
    try {
      const page = await request('history', { roomId, before: first.id, limit: pageSize });
      messages.prepend(page.messages, page.hasMore);
      if (roomId === this.current) this.showStore(messages);
      return true;
    } catch (error) {
      this.notice = `Older messages did not load: ${errorText(error)}`;
      return false;
    } finally {
      this.loadingOlder = false;
    }
  }

  private onLoadOlder = () => {
    void this.loadOlder().then(() => {
      // Still looking for the saved place? Give up after a while and show the newest.
      const anchor = this.saved.scroll?.[this.current];
      if (anchor && !anchor.atBottom && this.store.get(this.current)?.indexOf(anchor.messageId) === -1 && ++this.searchPages > maxSearchPages) this.list?.scrollToBottom();
    });
  };

  private async jumpTo(messageId: string): Promise<void> {
    for (let pages = 0; pages <= maxSearchPages; pages++) {
      if (this.list?.scrollToMessage(messageId, { focus: true, highlight: true })) return;
      if (!(await this.loadOlder())) break;
      await this.updateComplete;
    }
    this.notice = 'The message this replies to is not in the loaded history.';
  }

  // ---- composer and message actions

  private onDraft = (event: CustomEvent<string>) => {
    this.draft = event.detail;
    this.notice = '';
    if (this.editing) return;
    const drafts = { ...this.saved.drafts };
    if (event.detail) drafts[this.current] = event.detail.slice(0, maxSavedDraft);
    else delete drafts[this.current];
    this.save({ drafts });
  };

  private onTypingInput = () => {
    const now = Date.now();
    if (now - this.lastTypingSent < typingEveryMs || !this.current) return;
    this.lastTypingSent = now;
    vscode.postMessage({ type: 'typing', roomId: this.current });
  };

  private async onSend(detail: SendDetail): Promise<void> {
    const roomId = this.current;
    this.busy = true;
    this.notice = '';
    try {
      // The message itself arrives as a `message` post before the answer (onChatMessage).
      if (this.editing) {
        await request('edit', { roomId, messageId: this.editing.id, text: detail.text });
        this.editing = undefined;
        this.setDraft(this.draftBeforeEdit);
      } else {
        await request('send', { roomId, text: detail.text, ...(this.replyTo ? { replyTo: this.replyTo.id } : {}), ...(detail.mentions.length ? { mentions: detail.mentions } : {}) });
        this.replyTo = undefined;
        this.setDraft('');
        this.lastTypingSent = 0;
        this.list?.scrollToBottom();
      }
    } catch (error) {
      this.notice = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  private addMention(mention: string): void {
    const draft = this.draft.trimEnd();
    if (!new RegExp(`(^|\\s)${mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(draft)) this.setDraft(`${draft}${draft ? ' ' : ''}${mention} `);
    void this.updateComplete.then(() => this.composer?.focus());
  }

  private setDraft(text: string): void {
    this.draft = text;
    const drafts = { ...this.saved.drafts };
    if (text) drafts[this.current] = text;
    else delete drafts[this.current];
    this.save({ drafts });
  }

  private startEdit(message: ChatMessage | undefined): void {
    if (!message) return;
    if (!this.editing) this.draftBeforeEdit = this.draft;
    this.replyTo = undefined;
    this.editing = message;
    this.draft = message.text;
    void this.updateComplete.then(() => this.composer?.focus());
  }

  private editLast = () => {
    const self = this.selfKey;
    const mine = [...this.messages].reverse().find((m) => !m.deleted && participantKey(m.author) === self);
    if (mine) this.startEdit(mine);
    else this.notice = 'You have no message to edit in this room yet.';
  };

  private cancel = () => {
    if (this.editing) {
      this.editing = undefined;
      this.draft = this.draftBeforeEdit;
    } else {
      this.replyTo = undefined;
    }
  };

  private async act(work: () => Promise<unknown>, done?: string): Promise<void> {
    try {
      await work();
      this.notice = '';
      if (done) this.announce = done;
    } catch (error) {
      this.notice = errorText(error);
    }
  }

  private onReact(message: ChatMessage, emoji: string, add: boolean): void {
    void this.act(async () => void (await request('react', { roomId: message.roomId, messageId: message.id, emoji, add })));
  }

  private onDelete(message: ChatMessage): void {
    void this.act(async () => {
      await request('delete', { roomId: message.roomId, messageId: message.id });
      this.onChatMessage({ ...message, deleted: true, text: '', attachment: undefined });
    }, 'Message deleted');
  }

  private onRate(message: ChatMessage, rating: 'up' | 'down' | null): void {
    const ratings = { ...this.saved.ratings };
    if (rating) ratings[message.id] = rating;
    else delete ratings[message.id];
    const keys = Object.keys(ratings);
    for (const key of keys.slice(0, Math.max(0, keys.length - 500))) delete ratings[key];
    this.save({ ratings });
    this.requestUpdate();
    vscode.postMessage({ type: 'rate', roomId: message.roomId, messageId: message.id, persona: participantKey(message.author), rating });
    this.announce = rating ? `Rated ${rating === 'up' ? 'good' : 'bad'}` : 'Rating removed';
  }

  private onCode(action: 'copy' | 'insert', code: string, language: string): void {
    if (action === 'copy') void this.act(() => request('copyText', { text: code }), 'Copied');
    else void this.act(() => request('insertCode', { code, ...(language ? { language } : {}) }), 'Inserted at the cursor');
  }

  /** Workspace file links (a persona's sources) open in the editor; web links go to the browser. */
  private onLink(url: string): void {
    const file = parseFileLink(url);
    if (file) this.onOpenAttachment(file);
    else vscode.postMessage({ type: 'openLink', url });
  }

  private onOpenAttachment(a: Pick<CodeAttachment, 'path' | 'startLine' | 'endLine'>): void {
    void this.act(() => request('openAttachment', { path: a.path, startLine: a.startLine, endLine: a.endLine }));
  }

  private async joinFromList(roomId: string): Promise<void> {
    this.busy = true;
    try {
      const room = await request('joinRoom', { roomId });
      this.rooms = [...this.rooms.filter((r) => r.id !== roomId), room].sort((a, b) => Number(b.joined) - Number(a.joined) || a.id.localeCompare(b.id));
      this.joinError = '';
      await this.openRoom(roomId);
    } catch (error) {
      this.joinError = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  private async leave(): Promise<void> {
    const roomId = this.current;
    await this.act(async () => {
      await request('leaveRoom', { roomId });
      this.rooms = this.rooms.map((r) => (r.id === roomId ? { ...r, joined: false } : r));
      this.store.delete(roomId);
      const next = this.rooms.find((r) => r.joined && r.id !== roomId)?.id ?? defaultRoomId;
      await this.openRoom(next);
    }, `Left #${roomId}`);
  }

  // ---- rendering

  private get participants(): Participant[] {
    return this.rooms.find((r) => r.id === this.current)?.participants ?? [];
  }

  private get allParticipants(): Participant[] {
    const byKey = new Map<string, Participant>();
    for (const p of this.participants) byKey.set(participantKey(p), p);
    for (const room of this.rooms) for (const p of room.participants) if (!byKey.has(participantKey(p))) byKey.set(participantKey(p), p);
    return [...byKey.values()];
  }

  private async onSubmitScores(detail: ScoresDetail): Promise<void> {
    this.judgingBusy = detail.challengeId;
    this.judgingError = { ...this.judgingError, [detail.challengeId]: '' };
    try {
      await request('submitScores', detail);
      this.announce = 'Scores submitted.';
    } catch (error) {
      this.judgingError = { ...this.judgingError, [detail.challengeId]: errorText(error) };
    } finally {
      this.judgingBusy = '';
    }
  }

  private runCommand(command: WebviewCommand): void {
    vscode.postMessage({ type: 'runCommand', command });
  }

  override render() {
    const room = this.rooms.find((r) => r.id === this.current);
    const name = room?.name || this.current;
    const here = this.participants.filter((p) => p.presence !== 'offline').length;
    const anchor: ScrollAnchor | undefined = this.saved.scroll?.[this.current];
    return html`${codicons()}
      ${this.serverRunning
        ? nothing
        : html`<div class="banner" role="alert">
            <span>The Persona Mesh server is not running: messages cannot be sent or loaded.</span>
            <vscode-button secondary @click=${() => this.runCommand('personaMesh.restartServer')}>Restart Mesh Server</vscode-button>
            <vscode-button secondary @click=${() => this.runCommand('personaMesh.showLogs')}>Show Logs</vscode-button>
          </div>`}
      <div class="layout">
        <aside class="rooms">
          <mesh-room-list
            .rooms=${this.rooms}
            .current=${this.current}
            .unread=${this.unread}
            .error=${this.joinError || this.roomsError}
            ?busy=${this.busy}
            @select-room=${(event: CustomEvent<string>) => void this.openRoom(event.detail)}
            @join-room=${(event: CustomEvent<string>) => void this.joinFromList(event.detail)}
          ></mesh-room-list>
          <mesh-node-card .status=${this.status} ?serverRunning=${this.serverRunning} @run-command=${(event: CustomEvent<WebviewCommand>) => this.runCommand(event.detail)}></mesh-node-card>
        </aside>
        <main aria-label=${`Room ${name}`}>
          <header>
            <h1>#${name}</h1>
            <span class="here" title="People and personas online in this room"><span class="codicon codicon-person" aria-hidden="true"></span>${here} here</span>
            ${room?.joined ? html`<vscode-button secondary @click=${() => void this.leave()} aria-label=${`Leave ${name}`}>Leave</vscode-button>` : nothing}
          </header>
          ${this.loadError
            ? html`<div class="centre-message"><div class="error" role="alert"><span>${this.loadError}</span>
                <vscode-button secondary @click=${() => void this.refresh()}>Retry</vscode-button></div></div>`
            : nothing}
          ${this.judging.map(
            (challenge) => html`<mesh-judging-card
              role="region"
              aria-label=${`Judge ${challenge.spec.title}`}
              .challenge=${challenge}
              .error=${this.judgingError[challenge.id] ?? ''}
              ?busy=${this.judgingBusy === challenge.id}
              @submit-scores=${(event: CustomEvent<ScoresDetail>) => void this.onSubmitScores(event.detail)}
            ></mesh-judging-card>`,
          )}
          <mesh-message-list
            .roomId=${this.current}
            .roomName=${name}
            .messages=${this.messages}
            ?hasMore=${this.hasMore}
            ?loadingOlder=${this.loadingOlder}
            .selfKey=${this.selfKey}
            .ratings=${this.saved.ratings ?? {}}
            .initialAnchor=${anchor}
            .lookup=${(id: string) => this.store.get(this.current)?.get(id)}
            @load-older=${this.onLoadOlder}
            @anchor-change=${(event: CustomEvent<ScrollAnchor | undefined>) => {
              const scroll = { ...this.saved.scroll };
              if (event.detail) scroll[this.current] = event.detail;
              else delete scroll[this.current];
              this.save({ scroll });
            }}
            @reply=${(event: CustomEvent<{ message: ChatMessage }>) => {
              this.editing = undefined;
              this.replyTo = event.detail.message;
              this.composer?.focus();
            }}
            @edit=${(event: CustomEvent<{ message: ChatMessage }>) => this.startEdit(event.detail.message)}
            @delete=${(event: CustomEvent<{ message: ChatMessage }>) => this.onDelete(event.detail.message)}
            @react=${(event: CustomEvent<{ message: ChatMessage; emoji: string; add: boolean }>) => this.onReact(event.detail.message, event.detail.emoji, event.detail.add)}
            @rate=${(event: CustomEvent<{ message: ChatMessage; rating: 'up' | 'down' | null }>) => this.onRate(event.detail.message, event.detail.rating)}
            @code-action=${(event: CustomEvent<{ action: 'copy' | 'insert'; code: string; language: string }>) => this.onCode(event.detail.action, event.detail.code, event.detail.language)}
            @open-attachment=${(event: CustomEvent<CodeAttachment>) => this.onOpenAttachment(event.detail)}
            @open-link=${(event: CustomEvent<{ url: string }>) => this.onLink(event.detail.url)}
            @jump=${(event: CustomEvent<{ messageId: string }>) => void this.jumpTo(event.detail.messageId)}
          ></mesh-message-list>
          <div class="typing" role="status" aria-live="polite">${typingText(this.typingNames)}</div>
          <mesh-composer
            .roomId=${this.current}
            .roomName=${name}
            .value=${this.draft}
            .participants=${this.allParticipants}
            .selfKey=${this.selfKey}
            .replyTo=${this.replyTo}
            .editing=${this.editing}
            .error=${this.notice}
            ?busy=${this.busy}
            @draft-change=${this.onDraft}
            @typing=${this.onTypingInput}
            @send=${(event: CustomEvent<SendDetail>) => void this.onSend(event.detail)}
            @edit-last=${this.editLast}
            @cancel=${this.cancel}
          ></mesh-composer>
        </main>
        <aside class="people" aria-label="People and personas">
          <mesh-participants .participants=${this.participants} .selfKey=${this.selfKey}></mesh-participants>
        </aside>
      </div>
      <div class="sr-only" aria-live="polite">${this.announce}</div>`;
  }
}
