/**
 * The chat panel: rooms on the left, the room's messages in the centre, who is here on the right.
 * It restores its last state at once (getState), asks the extension for rooms and history, and
 * follows the extension's notifications. Every failed request shows one line where it happened.
 *
 * Here: the rooms, the room shown and the composer's mode (reply, edit), wired to the services that
 * keep their own state: savedState, roomStore and roomHistory (messages), drafts, typing, judging
 * and messageActions (what a message's controls ask of the extension).
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { defaultRoomId, participantKey, type ChatMessage, type CodeAttachment, type Participant, type RoomSummary } from '../../protocol/rooms';
import type { NodeStatus } from '../../protocol/status';
import type { ScrollAnchor, ToWebview, WebviewCommand, WebviewState } from '../../protocol/webview';
import './composer';
import type { Composer, SendDetail } from './composer';
import { Drafts } from './drafts';
import { errorText, onHostMessage, request } from './host';
import { Judging } from './judging';
import { MessageActions } from './messageActions';
import './messageList';
import type { MessageList } from './messageList';
import './nodeCard';
import './participants';
import { typingText } from './participants';
import { RoomHistory } from './roomHistory';
import './roomList';
import { RoomStore } from './roomStore';
import { SavedState } from './savedState';
import { base, codicons } from './styles';
import { Typing } from './typing';
import { vscode } from './vscodeApi';

/** Older pages loaded at most to find a saved place or a replied-to message. */
const maxSearchPages = 20;

@customElement('mesh-app')
export class MeshApp extends LitElement {
  private readonly persisted = new SavedState();
  @state() private status: NodeStatus | undefined = this.saved.lastStatus;
  @state() private serverRunning = true;
  @state() private rooms: RoomSummary[] = this.saved.rooms ?? [];
  @state() private current = this.saved.currentRoom ?? '';
  @state() private roomsError = '';
  @state() private joinError = '';
  @state() private loadError = '';
  @state() private notice = '';
  @state() private busy = false;
  @state() private replyTo: ChatMessage | undefined;
  @state() private editing: ChatMessage | undefined;
  @state() private announce = '';

  @query('mesh-message-list') private list!: MessageList;
  @query('mesh-composer') private composer!: Composer;

  private readonly store = new RoomStore();
  private readonly history = new RoomHistory(this, this.store, {
    room: () => this.current,
    newestShown: () => {
      this.loadError = '';
      this.searchPages = 0;
    },
    newestFailed: (error) => (this.loadError = error),
    olderFailed: (error) => (this.notice = `Older messages did not load: ${error}`),
  });
  private readonly drafts = new Drafts(this, this.persisted, () => this.current);
  private readonly typing = new Typing(this, () => this.current);
  private readonly judging = new Judging(this, (text) => (this.announce = text));
  private readonly actions = new MessageActions(this, this.persisted, {
    act: (work, done) => this.act(work, done),
    changed: (message) => this.onChatMessage(message),
    announce: (text) => (this.announce = text),
  });
  /** Older pages loaded while looking for the saved place. */
  private searchPages = 0;
  private unsubscribe: (() => void) | undefined;

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
    window.addEventListener('pagehide', this.persisted.flush);
    vscode.postMessage({ type: 'ready' });
    void this.refresh();
  }

  override disconnectedCallback(): void {
    this.unsubscribe?.();
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('pagehide', this.persisted.flush);
    this.typing.stop();
    super.disconnectedCallback();
  }

  private get selfKey(): string | undefined {
    return this.status ? `${this.status.nodeId}/user` : undefined;
  }

  // ---- state that survives hide/show

  private get saved(): WebviewState {
    return this.persisted.value;
  }

  private save(patch: Partial<WebviewState>): void {
    this.persisted.save(patch);
  }

  private readonly onVisibility = () => {
    if (document.visibilityState === 'hidden') this.persisted.flush();
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
      case 'typing': {
        const key = participantKey(message.event.author);
        if (key !== this.selfKey) this.typing.started(message.event.roomId, key, message.event.author.displayName, message.event.ttlMs);
        break;
      }
      case 'showRoom':
        void this.openRoom(message.roomId).then(() => {
          if (message.mention) this.addMention(message.mention);
        });
        break;
      case 'judging':
        this.judging.show(message.challenges);
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
    if (this.store.receive(message)) {
      this.rooms = this.rooms.map((r) => (r.id === message.roomId ? { ...r, messageCount: r.messageCount + 1, lastActivity: message.sentAt ?? message.hlc.wall } : r));
      const fromOthers = participantKey(message.author) !== this.selfKey;
      if (message.roomId === this.current) {
        this.markSeen();
        if (fromOthers) this.announce = `${message.author.displayName}: ${message.text.replace(/\s+/g, ' ').slice(0, 140)}`;
      }
      this.typing.stopped(message.roomId, participantKey(message.author));
    }
    if (message.roomId === this.current && loaded) this.history.show(loaded);
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
      this.drafts.showRoom();
      this.save({ currentRoom: roomId });
      this.typing.update();
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
      this.history.show(loaded);
      return;
    }
    await this.history.loadNewest(roomId);
  }

  private onLoadOlder = () => {
    void this.history.loadOlder().then(() => {
      // Still looking for the saved place? Give up after a while and show the newest.
      const anchor = this.saved.scroll?.[this.current];
      if (anchor && !anchor.atBottom && this.store.get(this.current)?.indexOf(anchor.messageId) === -1 && ++this.searchPages > maxSearchPages) this.list?.scrollToBottom();
    });
  };

  private async jumpTo(messageId: string): Promise<void> {
    for (let pages = 0; pages <= maxSearchPages; pages++) {
      if (this.list?.scrollToMessage(messageId, { focus: true, highlight: true })) return;
      if (!(await this.history.loadOlder())) break;
      await this.updateComplete;
    }
    this.notice = 'The message this replies to is not in the loaded history.';
  }

  // ---- composer

  private onDraft = (event: CustomEvent<string>) => {
    this.drafts.typed(event.detail, this.editing !== undefined);
    this.notice = '';
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
        this.drafts.endEdit();
      } else {
        await request('send', { roomId, text: detail.text, ...(this.replyTo ? { replyTo: this.replyTo.id } : {}), ...(detail.mentions.length ? { mentions: detail.mentions } : {}) });
        this.replyTo = undefined;
        this.drafts.set('');
        this.typing.sent();
        this.list?.scrollToBottom();
      }
    } catch (error) {
      this.notice = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  private addMention(mention: string): void {
    this.drafts.addMention(mention);
    void this.updateComplete.then(() => this.composer?.focus());
  }

  private startEdit(message: ChatMessage | undefined): void {
    if (!message) return;
    this.drafts.startEdit(message.text, this.editing !== undefined);
    this.replyTo = undefined;
    this.editing = message;
    void this.updateComplete.then(() => this.composer?.focus());
  }

  private editLast = () => {
    const self = this.selfKey;
    const mine = [...this.history.messages].reverse().find((m) => !m.deleted && participantKey(m.author) === self);
    if (mine) this.startEdit(mine);
    else this.notice = 'You have no message to edit in this room yet.';
  };

  private cancel = () => {
    if (this.editing) {
      this.editing = undefined;
      this.drafts.cancelEdit();
    } else {
      this.replyTo = undefined;
    }
  };

  // ---- requests, joining and leaving

  /** A request for the person: a failure shows as the composer's line, else `done` is announced. */
  private async act(work: () => Promise<unknown>, done?: string): Promise<void> {
    try {
      await work();
      this.notice = '';
      if (done) this.announce = done;
    } catch (error) {
      this.notice = errorText(error);
    }
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
      this.store.forget(roomId);
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
          ${this.judging.cards()}
          <mesh-message-list
            .roomId=${this.current}
            .roomName=${name}
            .messages=${this.history.messages}
            ?hasMore=${this.history.hasMore}
            ?loadingOlder=${this.history.loadingOlder}
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
            @delete=${(event: CustomEvent<{ message: ChatMessage }>) => this.actions.delete(event.detail.message)}
            @react=${(event: CustomEvent<{ message: ChatMessage; emoji: string; add: boolean }>) => this.actions.react(event.detail.message, event.detail.emoji, event.detail.add)}
            @rate=${(event: CustomEvent<{ message: ChatMessage; rating: 'up' | 'down' | null }>) => this.actions.rate(event.detail.message, event.detail.rating)}
            @code-action=${(event: CustomEvent<{ action: 'copy' | 'insert'; code: string; language: string }>) => this.actions.code(event.detail.action, event.detail.code, event.detail.language)}
            @open-attachment=${(event: CustomEvent<CodeAttachment>) => this.actions.openAttachment(event.detail)}
            @open-link=${(event: CustomEvent<{ url: string }>) => this.actions.link(event.detail.url)}
            @jump=${(event: CustomEvent<{ messageId: string }>) => void this.jumpTo(event.detail.messageId)}
          ></mesh-message-list>
          <div class="typing" role="status" aria-live="polite">${typingText(this.typing.names)}</div>
          <mesh-composer
            .roomId=${this.current}
            .roomName=${name}
            .value=${this.drafts.value}
            .participants=${this.allParticipants}
            .selfKey=${this.selfKey}
            .replyTo=${this.replyTo}
            .editing=${this.editing}
            .error=${this.notice}
            ?busy=${this.busy}
            @draft-change=${this.onDraft}
            @typing=${() => this.typing.typed()}
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
