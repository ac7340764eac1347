/**
 * The messages of a room, virtualised: only the rows in and near the viewport are in the DOM;
 * spacers above and below stand for the rest, sized from measured (or estimated) row heights.
 * The reader's place is kept as an anchor (a message id and an offset into it), so loading
 * older pages, rows growing (streaming) or measured heights differing from estimates never
 * move what the reader sees. At the bottom, the list follows new messages.
 *
 * Here: the reader's place and the rows rendered. The heights and offsets are virtualWindow.ts,
 * the keyboard (one tab stop, roving focus over the rows) is listKeyboard.ts, a row messageRow.ts.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChatMessage } from '../../protocol/rooms';
import type { ScrollAnchor } from '../../protocol/webview';
import { emit } from './events';
import { ListKeyboard } from './listKeyboard';
import { MessageRows, rowStyles, type RowView } from './messageRow';
import { base, codicons, highlightTheme } from './styles';
import { VirtualWindow, overscanPx } from './virtualWindow';

/** Height of the "start of room / loading older" line above the rows. */
const headPx = 32;

@customElement('mesh-message-list')
export class MessageList extends LitElement {
  @property() roomId = '';
  @property() roomName = '';
  @property({ attribute: false }) messages: readonly ChatMessage[] = [];
  @property({ type: Boolean }) hasMore = false;
  @property({ type: Boolean }) loadingOlder = false;
  @property({ attribute: false }) selfKey: string | undefined;
  @property({ attribute: false }) ratings: Readonly<Record<string, 'up' | 'down'>> = {};
  /** Where to start when the room is shown (from the saved state). */
  @property({ attribute: false }) initialAnchor: ScrollAnchor | undefined;
  @property({ attribute: false }) lookup: (id: string) => ChatMessage | undefined = () => undefined;

  @state() private start = 0;
  @state() private end = 0;
  @state() private newBelow = 0;
  @state() private highlighted: string | undefined;

  private anchor: { id: string; offset: number } | undefined;
  private atBottom = true;
  private frame = 0;
  private anchorTimer: ReturnType<typeof setTimeout> | undefined;
  private settleRounds = 0;
  /** The [start, end) of the rows in the DOM. */
  private rendered: [number, number] = [0, 0];
  private lastCount = 0;
  private lastLastId: string | undefined;
  private readonly virtual = new VirtualWindow(
    () => this.messages,
    () => this.restoreScroll(),
  );
  private readonly rows = new MessageRows(this, (id) => this.rowElement(id));
  private readonly keys = new ListKeyboard(this, {
    rows: () => this.messages,
    hasMore: () => this.hasMore,
    scroller: () => this.scroller,
    rowElement: (id) => this.rowElement(id),
    indexOf: (id) => this.virtual.indexOf(id),
    estimate: () => this.virtual.estimate(),
    lastVisibleRow: () => this.lastVisibleRow(),
    showRow: (i) => this.showRow(i),
    closeMenu: () => this.rows.closeMenu(),
  });

  static override styles = [
    base,
    highlightTheme,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; flex: 1; position: relative; }
      .scroller { flex: 1; overflow-y: auto; overflow-anchor: none; contain: strict; padding: 0 8px 0 4px; }
      .head { height: ${headPx}px; display: flex; align-items: center; justify-content: center; color: var(--vscode-descriptionForeground); font-size: 0.9em; }
      .more { position: absolute; bottom: 8px; left: 50%; transform: translateX(-50%); }
      .more button { padding: 2px 10px; border-radius: 12px; border: 1px solid var(--vscode-contrastBorder, transparent);
        background: var(--vscode-button-background); color: var(--vscode-button-foreground); font: inherit; cursor: pointer; }
      .empty { padding: 24px; text-align: center; color: var(--vscode-descriptionForeground); }
    `,
    rowStyles,
  ];

  override disconnectedCallback(): void {
    this.virtual.disconnect();
    cancelAnimationFrame(this.frame);
    clearTimeout(this.anchorTimer);
    super.disconnectedCallback();
  }

  private get scroller(): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>('.scroller');
  }

  /** Current place, for the saved state. */
  get scrollAnchor(): ScrollAnchor | undefined {
    if (this.atBottom || !this.anchor) {
      const last = this.messages.at(-1);
      return last ? { messageId: last.id, offset: 0, atBottom: true } : undefined;
    }
    return { messageId: this.anchor.id, offset: Math.round(this.anchor.offset), atBottom: false };
  }

  /** How many message rows are in the DOM (tests and the benchmark count them). */
  get renderedCount(): number {
    return this.end - this.start;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.frame && !changed.has('roomId')) {
      // A scroll not read yet: take the reader's place before the rows change.
      cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.readScroll();
    }
    if (changed.has('roomId')) {
      this.virtual.reset();
      this.keys.activeId = undefined;
      this.rows.closePicker();
      this.newBelow = 0;
      this.lastCount = 0;
      this.lastLastId = undefined;
      const saved = this.initialAnchor;
      this.atBottom = saved?.atBottom ?? true;
      this.anchor = saved && !saved.atBottom ? { id: saved.messageId, offset: saved.offset } : undefined;
    }
    if (changed.has('messages') || changed.has('roomId')) {
      const lastId = this.messages.at(-1)?.id;
      if (this.lastCount > 0 && lastId !== this.lastLastId && !this.atBottom) {
        // New messages arrived at the end while the reader is further up.
        const before = this.lastLastId === undefined ? -1 : this.messages.findIndex((m) => m.id === this.lastLastId);
        if (before >= 0) this.newBelow += this.messages.length - 1 - before;
      }
      this.lastCount = this.messages.length;
      this.lastLastId = lastId;
      this.virtual.reindex();
      this.computeRange(this.targetScrollTop());
    }
  }

  protected override updated(): void {
    const scroller = this.scroller;
    if (!scroller) return;
    this.applySpacers(scroller);
    this.virtual.measureRendered(scroller.querySelectorAll<HTMLElement>('article[data-id]'));
    this.restoreScroll();
    this.keys.focusPending();
  }

  /** Where the scroller should be to show the anchor (or the bottom). */
  private targetScrollTop(): number {
    const scroller = this.scroller;
    const viewport = scroller?.clientHeight ?? 600;
    if (!this.atBottom && this.anchor) {
      const i = this.virtual.indexOf(this.anchor.id);
      if (i !== undefined) return headPx + this.virtual.top(i)! + this.anchor.offset;
      return scroller?.scrollTop ?? 0;
    }
    return Math.max(0, headPx + this.virtual.total - viewport);
  }

  private computeRange(scrollTop: number): boolean {
    const viewport = this.scroller?.clientHeight || 600;
    const [start, end] = this.virtual.rangeAt(scrollTop - headPx, viewport);
    if (start === this.start && end === this.end) return false;
    this.start = start;
    this.end = end;
    return true;
  }

  /**
   * Keeps the rendered rows while they cover the viewport with some margin (fewer re-renders while
   * scrolling); otherwise picks a new range. True when the range changed.
   */
  private ensureRange(scrollTop: number): boolean {
    const viewport = this.scroller?.clientHeight || 600;
    if (this.virtual.covers(this.start, this.end, scrollTop - headPx, viewport)) return false;
    return this.computeRange(scrollTop);
  }

  /**
   * Puts the reader back on the anchor (or the bottom) after rows changed or were measured. The
   * spacers are sized directly (no re-render) unless other rows must be rendered.
   */
  private restoreScroll(): void {
    const scroller = this.scroller;
    if (!scroller) return;
    const target = this.targetScrollTop();
    if (this.ensureRange(target)) {
      // Bounded: heights converge in a few rounds; past that, the next scroll frame continues.
      if (this.settleRounds++ < 8) {
        this.requestUpdate();
        return;
      }
    }
    this.settleRounds = 0;
    this.applySpacers(scroller);
    if (Math.abs(scroller.scrollTop - target) > 1) scroller.scrollTop = target;
  }

  /** Through CSSOM: the CSP forbids style attributes. */
  private applySpacers(scroller: HTMLElement): void {
    const top = this.virtual.top(this.rendered[0]) ?? 0;
    const bottom = this.virtual.total - (this.virtual.top(this.rendered[1]) ?? this.virtual.total);
    scroller.querySelector<HTMLElement>('.spacer.top')!.style.height = `${top}px`;
    scroller.querySelector<HTMLElement>('.spacer.bottom')!.style.height = `${bottom}px`;
  }

  private readonly onScroll = () => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.readScroll();
    });
  };

  private readScroll(): void {
    const scroller = this.scroller;
    if (!scroller) return;
    const { scrollTop, clientHeight, scrollHeight } = scroller;
    this.atBottom = scrollHeight - scrollTop - clientHeight < 4;
    if (this.atBottom) this.newBelow = 0;
    const y = scrollTop - headPx;
    const i = this.virtual.indexAt(Math.max(0, y));
    const message = this.messages[i];
    this.anchor = message ? { id: message.id, offset: y - this.virtual.top(i)! } : undefined;
    if (this.ensureRange(scrollTop)) this.settleRounds = 0;
    if (scrollTop < headPx + overscanPx && this.hasMore && !this.loadingOlder && this.messages.length > 0) emit(this, 'load-older', { before: this.messages[0]!.id });
    clearTimeout(this.anchorTimer);
    this.anchorTimer = setTimeout(() => emit(this, 'anchor-change', this.scrollAnchor), 150);
  }

  /** Scrolls to a loaded message, focuses and highlights it. False when it is not loaded. */
  scrollToMessage(id: string, options: { focus?: boolean; highlight?: boolean } = {}): boolean {
    const i = this.virtual.indexOf(id);
    const scroller = this.scroller;
    if (i === undefined || !scroller) return false;
    this.atBottom = false;
    this.anchor = { id, offset: -Math.max(0, (scroller.clientHeight - this.virtual.heightOf(id)) / 3) };
    if (options.focus) this.keys.focusWhenRendered(id);
    if (options.highlight) {
      this.highlighted = id;
      setTimeout(() => {
        if (this.highlighted === id) this.highlighted = undefined;
      }, 2000);
    }
    this.computeRange(this.targetScrollTop());
    this.requestUpdate();
    return true;
  }

  scrollToBottom(): void {
    this.atBottom = true;
    this.anchor = undefined;
    this.newBelow = 0;
    this.computeRange(this.targetScrollTop());
    this.requestUpdate();
  }

  /** Focus the active message (or the last visible one). */
  focusMessages(): void {
    this.keys.focusRows();
  }

  /** The keyboard moved to row `i`, not rendered: render it, at the top (the last one at the bottom). */
  private showRow(i: number): void {
    const id = this.messages[i]!.id;
    this.atBottom = i === this.messages.length - 1;
    this.anchor = { id, offset: 0 };
    this.computeRange(this.targetScrollTop());
    this.requestUpdate();
  }

  private rowElement(id: string): HTMLElement | null {
    return this.scroller?.querySelector<HTMLElement>(`article[data-id="${CSS.escape(id)}"]`) ?? null;
  }

  private lastVisibleRow(): HTMLElement | undefined {
    const scroller = this.scroller;
    if (!scroller) return undefined;
    const i = this.virtual.lastEndingBy(scroller.scrollTop + scroller.clientHeight - headPx);
    const message = this.messages[Math.max(0, i)];
    return (message && this.rowElement(message.id)) || undefined;
  }

  override render() {
    const n = this.messages.length;
    this.rendered = [this.start, this.end];
    const window = this.messages.slice(this.start, this.end);
    const activeIndex = this.keys.activeId === undefined ? undefined : this.virtual.indexOf(this.keys.activeId);
    const activeRendered = activeIndex !== undefined && activeIndex >= this.start && activeIndex < this.end;
    const view: RowView = {
      selfKey: this.selfKey,
      ratings: this.ratings,
      setSize: this.hasMore ? -1 : n,
      activeId: this.keys.activeId,
      highlighted: this.highlighted,
      lookup: this.lookup,
    };
    return html`${codicons()}
      <div
        class="scroller"
        role="feed"
        aria-label=${`Messages in ${this.roomName || this.roomId}`}
        aria-busy=${this.loadingOlder ? 'true' : 'false'}
        tabindex=${activeRendered ? -1 : 0}
        @scroll=${this.onScroll}
        @keydown=${this.keys.onKeyDown}
        @focusin=${this.keys.onFocusIn}
        @click=${this.rows.onClick}
      >
        <div class="head">${this.loadingOlder ? 'Loading older messages…' : this.hasMore ? '' : n === 0 ? '' : `This is the start of #${this.roomName || this.roomId}.`}</div>
        ${n === 0 ? html`<p class="empty">No messages yet. Say hello below.</p>` : nothing}
        <div class="spacer top" aria-hidden="true"></div>
        ${repeat(window, (m) => m.id, (m, k) => this.rows.render(m, this.start + k, view))}
        <div class="spacer bottom" aria-hidden="true"></div>
      </div>
      ${this.newBelow > 0
        ? html`<div class="more"><button @click=${() => this.scrollToBottom()}>${this.newBelow} new message${this.newBelow === 1 ? '' : 's'} <span class="codicon codicon-arrow-down" aria-hidden="true"></span></button></div>`
        : nothing}`;
  }
}
