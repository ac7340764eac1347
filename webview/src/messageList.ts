/**
 * The messages of a room, virtualised: only the rows in and near the viewport are in the DOM;
 * spacers above and below stand for the rest, sized from measured (or estimated) row heights.
 * The reader's place is kept as an anchor (a message id and an offset into it), so loading
 * older pages, rows growing (streaming) or measured heights differing from estimates never
 * move what the reader sees. At the bottom, the list follows new messages.
 *
 * Keyboard: the list is one tab stop (roving tabindex over rows); Up/Down/PageUp/PageDown/Home/End
 * move between messages; Tab goes on into the active message's actions.
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import { participantKey, type ChatMessage, type CodeAttachment } from '../../protocol/rooms';
import type { ScrollAnchor } from '../../protocol/webview';
import { highlight } from './markdown';
import './markdownView';
import type { MarkdownView } from './markdownView';
import { base, codicons, highlightTheme } from './styles';

/** Height of the "start of room / loading older" line above the rows. */
const headPx = 32;
const overscanPx = 400;
const defaultRowPx = 64;
export const reactionChoices = ['👍', '👎', '❤️', '🎉', '😄', '🤔', '👀', '🚀'] as const;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function emit<T>(target: EventTarget, name: string, detail: T): void {
  target.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true }));
}

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
  @state() private activeId: string | undefined;
  @state() private pickerFor: string | undefined;
  @state() private confirmDelete: string | undefined;
  @state() private newBelow = 0;
  @state() private highlighted: string | undefined;

  private heights = new Map<string, number>();
  private offsets = new Float64Array(1);
  private index = new Map<string, number>();
  private measuredTotal = 0;
  private measuredCount = 0;
  private frozenEstimate: number | undefined;
  private anchor: { id: string; offset: number } | undefined;
  private atBottom = true;
  private frame = 0;
  private anchorTimer: ReturnType<typeof setTimeout> | undefined;
  private pendingFocus: string | undefined;
  private settleRounds = 0;
  /** The [start, end) of the rows in the DOM. */
  private rendered: [number, number] = [0, 0];
  private lastCount = 0;
  private lastLastId: string | undefined;
  private readonly observed = new Set<Element>();
  private readonly resizeObserver = new ResizeObserver((entries) => this.onResize(entries));

  static override styles = [
    base,
    highlightTheme,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; flex: 1; position: relative; }
      .scroller { flex: 1; overflow-y: auto; overflow-anchor: none; contain: strict; padding: 0 8px 0 4px; }
      .head { height: ${headPx}px; display: flex; align-items: center; justify-content: center; color: var(--vscode-descriptionForeground); font-size: 0.9em; }
      article { contain: layout style; position: relative; padding: 6px 8px 6px 8px; border-radius: 4px; border: 1px solid transparent; overflow-wrap: anywhere; }
      article:hover { background: var(--vscode-list-hoverBackground); }
      article:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
      article.highlight { background: var(--vscode-editor-findMatchHighlightBackground, var(--vscode-list-inactiveSelectionBackground));
        border-color: var(--vscode-contrastActiveBorder, transparent); }
      article.mention { border-left: 3px solid var(--vscode-editorInfo-foreground, var(--vscode-focusBorder)); }
      header { display: flex; align-items: baseline; gap: 6px; flex-wrap: wrap; }
      .author { font-weight: 600; }
      .kind { font-size: 0.8em; padding: 0 4px; border-radius: 3px; color: var(--vscode-badge-foreground); background: var(--vscode-badge-background); }
      time, .edited { color: var(--vscode-descriptionForeground); font-size: 0.85em; }
      .deleted { font-style: italic; color: var(--vscode-descriptionForeground); margin: 2px 0; }
      .quote { display: block; margin: 2px 0 4px; padding: 0 6px; border-left: 2px solid var(--vscode-textBlockQuote-border); color: var(--vscode-descriptionForeground);
        max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .actions { position: absolute; top: 2px; right: 4px; display: flex; gap: 2px; padding: 1px; visibility: hidden;
        background: var(--vscode-editorWidget-background); border: 1px solid var(--vscode-editorWidget-border, var(--vscode-contrastBorder, transparent)); border-radius: 4px; }
      article:hover .actions, article:focus-within .actions, .actions.open { visibility: visible; }
      .picker { display: flex; gap: 2px; }
      .reactions { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 4px; }
      .reactions button { border-radius: 10px; padding: 0 6px; border: 1px solid var(--vscode-widget-border, var(--vscode-contrastBorder, transparent));
        background: var(--vscode-editorWidget-background); color: var(--vscode-foreground); font: inherit; cursor: pointer; }
      .reactions button[aria-pressed='true'] { border-color: var(--vscode-focusBorder); background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
      .streaming mesh-markdown > :last-child::after { content: '▍'; animation: blink 1s steps(1) infinite; }
      @keyframes blink { 50% { opacity: 0; } }
      @media (prefers-reduced-motion: reduce) { .streaming mesh-markdown > :last-child::after { animation: none; } }
      mesh-markdown { display: block; }
      mesh-markdown p { margin: 2px 0; }
      mesh-markdown h1, mesh-markdown h2, mesh-markdown h3, mesh-markdown h4, mesh-markdown h5, mesh-markdown h6 { font-size: 1em; margin: 4px 0; }
      mesh-markdown a { color: var(--vscode-textLink-foreground); }
      mesh-markdown blockquote { margin: 4px 0; padding: 0 8px; border-left: 3px solid var(--vscode-textBlockQuote-border); background: var(--vscode-textBlockQuote-background); }
      mesh-markdown code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size, 0.95em); }
      mesh-markdown :not(pre) > code { padding: 0 3px; border-radius: 3px; background: var(--vscode-textCodeBlock-background); }
      mesh-markdown table { border-collapse: collapse; } mesh-markdown td, mesh-markdown th { border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border)); padding: 2px 6px; }
      .code-block, .attachment { margin: 4px 0; border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, transparent)); border-radius: 4px; overflow: hidden; }
      .code-bar { display: flex; align-items: center; gap: 6px; padding: 2px 6px; background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-sideBar-background));
        color: var(--vscode-descriptionForeground); font-size: 0.85em; }
      .code-lang, .code-bar .path { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .code-action { font: inherit; color: var(--vscode-textLink-foreground); background: none; border: 1px solid transparent; cursor: pointer; padding: 0 4px; border-radius: 3px; }
      .code-action:hover { background: var(--vscode-toolbar-hoverBackground); }
      pre { margin: 0; padding: 6px 8px; overflow-x: auto; background: var(--vscode-textCodeBlock-background); max-height: 480px; }
      .more { position: absolute; bottom: 8px; left: 50%; transform: translateX(-50%); }
      .more button { padding: 2px 10px; border-radius: 12px; border: 1px solid var(--vscode-contrastBorder, transparent);
        background: var(--vscode-button-background); color: var(--vscode-button-foreground); font: inherit; cursor: pointer; }
      .empty { padding: 24px; text-align: center; color: var(--vscode-descriptionForeground); }
    `,
  ];

  override disconnectedCallback(): void {
    this.resizeObserver.disconnect();
    this.observed.clear();
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
      this.heights.clear();
      this.measuredTotal = 0;
      this.measuredCount = 0;
      this.frozenEstimate = undefined;
      this.activeId = undefined;
      this.pickerFor = undefined;
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
      this.index = new Map(this.messages.map((m, i) => [m.id, i]));
      this.computeOffsets();
      this.computeRange(this.targetScrollTop());
    }
  }

  protected override updated(): void {
    const scroller = this.scroller;
    if (!scroller) return;
    this.applySpacers(scroller);
    const rows = scroller.querySelectorAll<HTMLElement>('article[data-id]');
    let changed = false;
    const live = new Set<Element>();
    for (const row of rows) {
      live.add(row);
      if (!this.observed.has(row)) {
        this.observed.add(row);
        this.resizeObserver.observe(row);
      }
      if (this.measure(row.dataset.id!, row.offsetHeight)) changed = true;
    }
    for (const element of this.observed) {
      if (!live.has(element)) {
        this.resizeObserver.unobserve(element);
        this.observed.delete(element);
      }
    }
    if (changed) this.computeOffsets();
    this.restoreScroll();
    if (this.pendingFocus) {
      const row = this.rowElement(this.pendingFocus);
      if (row) {
        this.pendingFocus = undefined;
        row.focus({ preventScroll: true });
        this.revealRow(row);
      }
    }
  }

  private measure(id: string, height: number): boolean {
    if (height <= 0) return false;
    const old = this.heights.get(id);
    if (old === height) return false;
    if (old === undefined) {
      this.measuredTotal += height;
      this.measuredCount++;
    } else {
      this.measuredTotal += height - old;
    }
    this.heights.set(id, height);
    return true;
  }

  private onResize(entries: ResizeObserverEntry[]): void {
    let changed = false;
    for (const entry of entries) {
      const row = entry.target as HTMLElement;
      if (!row.isConnected || !row.dataset.id) continue;
      const height = entry.borderBoxSize[0]?.blockSize ?? row.offsetHeight;
      if (this.measure(row.dataset.id, Math.round(height))) changed = true;
    }
    if (!changed) return;
    this.computeOffsets();
    this.restoreScroll();
  }

  /**
   * Height assumed for rows not measured yet: the mean of the first rows measured, then fixed, so
   * that measuring more rows does not shift every unmeasured row (and the reader's place).
   */
  private estimate(): number {
    if (this.frozenEstimate !== undefined) return this.frozenEstimate;
    if (this.measuredCount === 0) return defaultRowPx;
    const mean = this.measuredTotal / this.measuredCount;
    if (this.measuredCount >= 24) this.frozenEstimate = mean;
    return mean;
  }

  private computeOffsets(): void {
    const n = this.messages.length;
    const offsets = this.offsets.length === n + 1 ? this.offsets : new Float64Array(n + 1);
    const estimate = this.estimate();
    let top = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = top;
      top += this.heights.get(this.messages[i]!.id) ?? estimate;
    }
    offsets[n] = top;
    this.offsets = offsets;
  }

  private get total(): number {
    return this.offsets[this.messages.length] ?? 0;
  }

  /** Where the scroller should be to show the anchor (or the bottom). */
  private targetScrollTop(): number {
    const scroller = this.scroller;
    const viewport = scroller?.clientHeight ?? 600;
    if (!this.atBottom && this.anchor) {
      const i = this.index.get(this.anchor.id);
      if (i !== undefined) return headPx + this.offsets[i]! + this.anchor.offset;
      return scroller?.scrollTop ?? 0;
    }
    return Math.max(0, headPx + this.total - viewport);
  }

  /** First index whose row ends after `y` (row coordinates). */
  private indexAt(y: number): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid + 1]! <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private computeRange(scrollTop: number): boolean {
    const viewport = this.scroller?.clientHeight || 600;
    const top = scrollTop - headPx;
    const start = Math.max(0, this.indexAt(top - overscanPx));
    const end = Math.min(this.messages.length, this.indexAt(top + viewport + overscanPx) + 1);
    if (start === this.start && end === this.end) return false;
    this.start = start;
    this.end = end;
    return true;
  }

  /**
   * Puts the reader back on the anchor (or the bottom) after rows changed or were measured. The
   * spacers are sized directly (no re-render) unless other rows must be rendered.
   */
  /**
   * Keeps the rendered rows while they cover the viewport with some margin (fewer re-renders while
   * scrolling); otherwise picks a new range. True when the range changed.
   */
  private ensureRange(scrollTop: number): boolean {
    const viewport = this.scroller?.clientHeight || 600;
    const top = scrollTop - headPx;
    const n = this.messages.length;
    const { start, end } = this;
    const margin = overscanPx / 4;
    const coversTop = start === 0 || this.offsets[start]! <= top - margin;
    const coversBottom = end >= n || this.offsets[end]! >= top + viewport + margin;
    const tooMany = (this.offsets[Math.min(end, n)] ?? 0) - (this.offsets[start] ?? 0) > viewport + 4 * overscanPx;
    if (end <= n && coversTop && coversBottom && !tooMany) return false;
    return this.computeRange(scrollTop);
  }

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
    const top = this.offsets[this.rendered[0]] ?? 0;
    const bottom = this.total - (this.offsets[this.rendered[1]] ?? this.total);
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
    const i = this.indexAt(Math.max(0, y));
    const message = this.messages[i];
    this.anchor = message ? { id: message.id, offset: y - this.offsets[i]! } : undefined;
    if (this.ensureRange(scrollTop)) this.settleRounds = 0;
    if (scrollTop < headPx + overscanPx && this.hasMore && !this.loadingOlder && this.messages.length > 0) emit(this, 'load-older', { before: this.messages[0]!.id });
    clearTimeout(this.anchorTimer);
    this.anchorTimer = setTimeout(() => emit(this, 'anchor-change', this.scrollAnchor), 150);
  }

  /** Scrolls to a loaded message, focuses and highlights it. False when it is not loaded. */
  scrollToMessage(id: string, options: { focus?: boolean; highlight?: boolean } = {}): boolean {
    const i = this.index.get(id);
    const scroller = this.scroller;
    if (i === undefined || !scroller) return false;
    this.atBottom = false;
    this.anchor = { id, offset: -Math.max(0, (scroller.clientHeight - (this.heights.get(id) ?? this.estimate())) / 3) };
    if (options.focus) {
      this.activeId = id;
      this.pendingFocus = id;
    }
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
    const row = (this.activeId && this.rowElement(this.activeId)) || this.lastVisibleRow();
    if (row) {
      this.activeId = row.dataset.id;
      row.focus();
    } else {
      this.scroller?.focus();
    }
  }

  private rowElement(id: string): HTMLElement | null {
    return this.scroller?.querySelector<HTMLElement>(`article[data-id="${CSS.escape(id)}"]`) ?? null;
  }

  private lastVisibleRow(): HTMLElement | undefined {
    const scroller = this.scroller;
    if (!scroller) return undefined;
    const bottom = scroller.scrollTop + scroller.clientHeight - headPx;
    const i = Math.min(this.messages.length - 1, this.indexAt(bottom) - (this.offsets[this.indexAt(bottom) + 1]! > bottom ? 1 : 0));
    const message = this.messages[Math.max(0, i)];
    return (message && this.rowElement(message.id)) || undefined;
  }

  private revealRow(row: HTMLElement): void {
    const scroller = this.scroller!;
    const top = row.offsetTop;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + row.offsetHeight > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + row.offsetHeight - scroller.clientHeight;
  }

  private moveActive(to: number): void {
    const n = this.messages.length;
    if (n === 0) return;
    const i = Math.max(0, Math.min(n - 1, to));
    const id = this.messages[i]!.id;
    this.activeId = id;
    const row = this.rowElement(id);
    if (row) {
      row.focus({ preventScroll: true });
      this.revealRow(row);
      return;
    }
    this.pendingFocus = id;
    this.atBottom = i === n - 1;
    this.anchor = { id, offset: 0 };
    this.computeRange(this.targetScrollTop());
    this.requestUpdate();
  }

  private readonly onKeyDown = (event: KeyboardEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    if (event.key === 'Escape' && (this.pickerFor || this.confirmDelete)) {
      const id = this.pickerFor ?? this.confirmDelete!;
      this.pickerFor = undefined;
      this.confirmDelete = undefined;
      this.rowElement(id)?.focus();
      event.preventDefault();
      return;
    }
    if (target.tagName !== 'ARTICLE') {
      if (event.key === 'Escape') {
        const row = target.closest<HTMLElement>('article');
        row?.focus();
      }
      return;
    }
    const i = this.index.get(target.dataset.id ?? '') ?? -1;
    const page = Math.max(1, Math.floor((this.scroller?.clientHeight ?? 600) / this.estimate()) - 1);
    const moves: Record<string, number> = { ArrowUp: i - 1, ArrowDown: i + 1, PageUp: i - page, PageDown: i + page, Home: 0, End: this.messages.length - 1 };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    if (to < 0 && this.hasMore) emit(this, 'load-older', { before: this.messages[0]?.id });
    this.moveActive(to);
  };

  private readonly onFocusIn = (event: FocusEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    if (target === this.scroller) {
      this.focusMessages();
      return;
    }
    const row = target.closest<HTMLElement>('article[data-id]');
    if (row && row.dataset.id !== this.activeId) this.activeId = row.dataset.id;
  };

  private readonly onClick = (event: MouseEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    const link = target.closest?.('a');
    if (link) {
      event.preventDefault();
      const href = link.getAttribute('href');
      if (href) emit(this, 'open-link', { url: href });
      return;
    }
    const button = target.closest?.<HTMLElement>('button.code-action');
    const view = button?.closest<MarkdownView>('mesh-markdown');
    const blockElement = button?.closest('.code-block');
    if (button && view && blockElement) {
      const block = view.blocks[[...view.querySelectorAll('.code-block')].indexOf(blockElement)];
      if (block) emit(this, 'code-action', { action: button.classList.contains('insert') ? 'insert' : 'copy', code: block.code, language: block.language });
    }
  };

  override render() {
    const n = this.messages.length;
    this.rendered = [this.start, this.end];
    const window = this.messages.slice(this.start, this.end);
    const activeRendered = this.activeId !== undefined && this.index.has(this.activeId) && (this.index.get(this.activeId)! >= this.start && this.index.get(this.activeId)! < this.end);
    return html`${codicons()}
      <div
        class="scroller"
        role="feed"
        aria-label=${`Messages in ${this.roomName || this.roomId}`}
        aria-busy=${this.loadingOlder ? 'true' : 'false'}
        tabindex=${activeRendered ? -1 : 0}
        @scroll=${this.onScroll}
        @keydown=${this.onKeyDown}
        @focusin=${this.onFocusIn}
        @click=${this.onClick}
      >
        <div class="head">${this.loadingOlder ? 'Loading older messages…' : this.hasMore ? '' : n === 0 ? '' : `This is the start of #${this.roomName || this.roomId}.`}</div>
        ${n === 0 ? html`<p class="empty">No messages yet. Say hello below.</p>` : nothing}
        <div class="spacer top" aria-hidden="true"></div>
        ${repeat(window, (m) => m.id, (m, k) => this.row(m, this.start + k, n))}
        <div class="spacer bottom" aria-hidden="true"></div>
      </div>
      ${this.newBelow > 0
        ? html`<div class="more"><button @click=${() => this.scrollToBottom()}>${this.newBelow} new message${this.newBelow === 1 ? '' : 's'} <span class="codicon codicon-arrow-down" aria-hidden="true"></span></button></div>`
        : nothing}`;
  }

  private row(m: ChatMessage, i: number, n: number) {
    const self = this.selfKey !== undefined && participantKey(m.author) === this.selfKey;
    const active = m.id === this.activeId;
    const tab = active ? 0 : -1;
    const mentioned = this.selfKey !== undefined && m.mentions.includes(this.selfKey);
    const time = new Date(m.sentAt ?? m.hlc.wall);
    const classes = ['msg', m.author.kind, self ? 'self' : '', m.streaming ? 'streaming' : '', mentioned ? 'mention' : '', this.highlighted === m.id ? 'highlight' : ''].join(' ');
    return html`<article
      class=${classes}
      data-id=${m.id}
      tabindex=${tab}
      aria-posinset=${i + 1}
      aria-setsize=${this.hasMore ? -1 : n}
      aria-busy=${m.streaming ? 'true' : 'false'}
      aria-label=${`${m.author.displayName}${m.author.kind === 'persona' ? ' (persona)' : ''}, ${timeFormat.format(time)}`}
    >
      ${m.replyTo ? this.quote(m.replyTo, tab) : nothing}
      <header>
        <span class="author">${m.author.displayName}</span>
        ${m.author.kind !== 'human' ? html`<span class="kind">${m.author.kind}</span>` : nothing}
        <time datetime=${time.toISOString()} title=${dateFormat.format(time)}>${timeFormat.format(time)}</time>
        ${m.editedAt && !m.deleted ? html`<span class="edited">(edited)</span>` : nothing}
      </header>
      ${m.deleted ? html`<p class="deleted">This message was deleted.</p>` : html`<mesh-markdown .source=${m.text} .interactive=${active}></mesh-markdown>`}
      ${m.attachment && !m.deleted ? this.attachment(m.attachment, tab) : nothing}
      ${this.reactions(m, tab)}
      ${m.deleted ? nothing : this.actions(m, self)}
    </article>`;
  }

  private quote(replyTo: string, tab: number) {
    const original = this.lookup(replyTo);
    const label = original ? `${original.author.displayName}: ${original.deleted ? 'deleted message' : original.text.replace(/\s+/g, ' ').slice(0, 120)}` : 'an earlier message';
    return html`<button class="link quote" tabindex=${tab} title="Go to the message this replies to" @click=${() => emit(this, 'jump', { messageId: replyTo })}>
      <span class="codicon codicon-reply" aria-hidden="true"></span> Reply to ${label}
    </button>`;
  }

  private attachment(a: CodeAttachment, tab: number) {
    const where = `${a.path}:${a.startLine}${a.endLine !== a.startLine ? `-${a.endLine}` : ''}`;
    return html`<div class="attachment">
      <div class="code-bar">
        <span class="path"><button class="link" tabindex=${tab} title="Open ${where}" @click=${() => emit(this, 'open-attachment', a)}>${where}</button></span>
        <button class="code-action" tabindex=${tab} @click=${() => emit(this, 'code-action', { action: 'copy', code: a.content, language: a.language })}>Copy</button>
        <button class="code-action" tabindex=${tab} @click=${() => emit(this, 'code-action', { action: 'insert', code: a.content, language: a.language })}>Insert at Cursor</button>
      </div>
      <pre><code class="hljs">${unsafeHighlighted(a.content, a.language)}</code></pre>
    </div>`;
  }

  private reactions(m: ChatMessage, tab: number) {
    const entries = Object.entries(m.reactions).filter(([, who]) => who.length > 0);
    if (entries.length === 0) return nothing;
    return html`<div class="reactions">
      ${entries.map(([emoji, who]) => {
        const mine = this.selfKey !== undefined && who.includes(this.selfKey);
        return html`<button tabindex=${tab} aria-pressed=${mine ? 'true' : 'false'} aria-label=${`${emoji} ${who.length}${mine ? ', including you' : ''}. ${mine ? 'Remove' : 'Add'} reaction`}
          @click=${() => emit(this, 'react', { message: m, emoji, add: !mine })}>${emoji} ${who.length}</button>`;
      })}
    </div>`;
  }

  private actions(m: ChatMessage, self: boolean) {
    const rating = this.ratings[m.id];
    const picker = this.pickerFor === m.id;
    const confirming = this.confirmDelete === m.id;
    return html`<div class="actions ${picker || confirming ? 'open' : ''}" role="toolbar" aria-label="Message actions">
      ${picker
        ? html`<div class="picker" role="group" aria-label="Add a reaction">
            ${reactionChoices.map(
              (emoji) => html`<button class="icon" aria-label=${`React with ${emoji}`} @click=${() => {
                this.pickerFor = undefined;
                const mine = this.selfKey !== undefined && (m.reactions[emoji] ?? []).includes(this.selfKey);
                emit(this, 'react', { message: m, emoji, add: !mine });
                this.rowElement(m.id)?.focus();
              }}>${emoji}</button>`,
            )}
          </div>`
        : confirming
          ? html`<button class="icon" @click=${() => {
                this.confirmDelete = undefined;
                emit(this, 'delete', { message: m });
              }}>Delete message</button>
              <button class="icon" @click=${() => {
                this.confirmDelete = undefined;
                this.rowElement(m.id)?.focus();
              }}>Keep</button>`
          : html`
            <button class="icon" aria-label="Reply" title="Reply" @click=${() => emit(this, 'reply', { message: m })}><span class="codicon codicon-reply" aria-hidden="true"></span></button>
            <button class="icon" aria-label="Add reaction" title="Add reaction" aria-haspopup="true" @click=${() => this.openPicker(m.id)}><span class="codicon codicon-smiley" aria-hidden="true"></span></button>
            ${m.author.kind === 'persona' && !self
              ? html`<button class="icon" aria-label="Good answer" title="Good answer (for the academy)" aria-pressed=${rating === 'up' ? 'true' : 'false'}
                    @click=${() => emit(this, 'rate', { message: m, rating: rating === 'up' ? null : 'up' })}><span class="codicon codicon-thumbsup" aria-hidden="true"></span></button>
                  <button class="icon" aria-label="Bad answer" title="Bad answer (for the academy)" aria-pressed=${rating === 'down' ? 'true' : 'false'}
                    @click=${() => emit(this, 'rate', { message: m, rating: rating === 'down' ? null : 'down' })}><span class="codicon codicon-thumbsdown" aria-hidden="true"></span></button>`
              : nothing}
            ${self
              ? html`<button class="icon" aria-label="Edit" title="Edit (Up in an empty composer)" @click=${() => emit(this, 'edit', { message: m })}><span class="codicon codicon-edit" aria-hidden="true"></span></button>
                  <button class="icon" aria-label="Delete" title="Delete" @click=${() => this.askDelete(m.id)}><span class="codicon codicon-trash" aria-hidden="true"></span></button>`
              : nothing}
          `}
    </div>`;
  }

  private openPicker(id: string): void {
    this.pickerFor = id;
    void this.updateComplete.then(() => this.rowElement(id)?.querySelector<HTMLElement>('.picker button')?.focus());
  }

  private askDelete(id: string): void {
    this.confirmDelete = id;
    void this.updateComplete.then(() => this.rowElement(id)?.querySelector<HTMLElement>('.actions button')?.focus());
  }
}

/** hljs output is escaped source wrapped in spans: safe to use as HTML. */
function unsafeHighlighted(code: string, language: string) {
  return unsafeHTML(highlight(code.length > 256 * 1024 ? code.slice(0, 256 * 1024) : code, language));
}
