/**
 * One message as a row of the list: an `<article>` in the list's own shadow root (the list
 * measures, focuses and scrolls its rows there), with the quote of the message it replies to, the
 * text (Markdown) or a code attachment, the reactions and a toolbar of actions. The reaction picker
 * and the delete confirmation open in the toolbar, in one row at a time.
 */
import { css, html, nothing, type ReactiveControllerHost } from 'lit';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import { participantKey, type ChatMessage, type CodeAttachment } from '../../protocol/rooms';
import { emit } from './events';
import { highlight } from './markdown';
import './markdownView';
import type { MarkdownView } from './markdownView';

export const reactionChoices = ['👍', '👎', '❤️', '🎉', '😄', '🤔', '👀', '🚀'] as const;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** What every row of one render of the list shares. */
export interface RowView {
  readonly selfKey: string | undefined;
  readonly ratings: Readonly<Record<string, 'up' | 'down'>>;
  /** aria-setsize: -1 while older pages exist (the size is not known). */
  readonly setSize: number;
  /** The row that is the list's tab stop: its controls are in the tab order, the others' are not. */
  readonly activeId: string | undefined;
  readonly highlighted: string | undefined;
  readonly lookup: (id: string) => ChatMessage | undefined;
}

export const rowStyles = css`
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
`;

/** The rows of one list: their templates, the open menu, and the events they send through the list. */
export class MessageRows {
  private pickerFor: string | undefined;
  private confirmDelete: string | undefined;

  constructor(
    private readonly list: ReactiveControllerHost & HTMLElement,
    private readonly rowElement: (id: string) => HTMLElement | null,
  ) {}

  /** Escape: closes the open menu; the row it was in (for the focus), if one was open. */
  closeMenu(): string | undefined {
    if (!(this.pickerFor || this.confirmDelete)) return undefined;
    const id = this.pickerFor ?? this.confirmDelete!;
    this.setPicker(undefined);
    this.setConfirmDelete(undefined);
    return id;
  }

  /** Another room: its rows have no picker open. */
  closePicker(): void {
    this.setPicker(undefined);
  }

  /**
   * Clicks inside the Markdown (rendered as HTML, not as templates, so it has no listeners of its
   * own): links go to the extension, never navigate the webview; code-block buttons copy or insert.
   */
  readonly onClick = (event: MouseEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    const link = target.closest?.('a');
    if (link) {
      event.preventDefault();
      const href = link.getAttribute('href');
      if (href) emit(this.list, 'open-link', { url: href });
      return;
    }
    const button = target.closest?.<HTMLElement>('button.code-action');
    const view = button?.closest<MarkdownView>('mesh-markdown');
    const blockElement = button?.closest('.code-block');
    if (button && view && blockElement) {
      const block = view.blocks[[...view.querySelectorAll('.code-block')].indexOf(blockElement)];
      if (block) emit(this.list, 'code-action', { action: button.classList.contains('insert') ? 'insert' : 'copy', code: block.code, language: block.language });
    }
  };

  /** Message `m`, at index `i` of the room's loaded messages. */
  render(m: ChatMessage, i: number, view: RowView) {
    const self = view.selfKey !== undefined && participantKey(m.author) === view.selfKey;
    const active = m.id === view.activeId;
    const tab = active ? 0 : -1;
    const mentioned = view.selfKey !== undefined && m.mentions.includes(view.selfKey);
    const time = new Date(m.sentAt ?? m.hlc.wall);
    const classes = ['msg', m.author.kind, self ? 'self' : '', m.streaming ? 'streaming' : '', mentioned ? 'mention' : '', view.highlighted === m.id ? 'highlight' : ''].join(' ');
    return html`<article
      class=${classes}
      data-id=${m.id}
      tabindex=${tab}
      aria-posinset=${i + 1}
      aria-setsize=${view.setSize}
      aria-busy=${m.streaming ? 'true' : 'false'}
      aria-label=${`${m.author.displayName}${m.author.kind === 'persona' ? ' (persona)' : ''}, ${timeFormat.format(time)}`}
    >
      ${m.replyTo ? this.quote(m.replyTo, tab, view) : nothing}
      <header>
        <span class="author">${m.author.displayName}</span>
        ${m.author.kind !== 'human' ? html`<span class="kind">${m.author.kind}</span>` : nothing}
        <time datetime=${time.toISOString()} title=${dateFormat.format(time)}>${timeFormat.format(time)}</time>
        ${m.editedAt && !m.deleted ? html`<span class="edited">(edited)</span>` : nothing}
      </header>
      ${m.deleted ? html`<p class="deleted">This message was deleted.</p>` : html`<mesh-markdown .source=${m.text} .interactive=${active}></mesh-markdown>`}
      ${m.attachment && !m.deleted ? this.attachment(m.attachment, tab) : nothing}
      ${this.reactions(m, tab, view)}
      ${m.deleted ? nothing : this.actions(m, self, view)}
    </article>`;
  }

  private quote(replyTo: string, tab: number, view: RowView) {
    const original = view.lookup(replyTo);
    const label = original ? `${original.author.displayName}: ${original.deleted ? 'deleted message' : original.text.replace(/\s+/g, ' ').slice(0, 120)}` : 'an earlier message';
    return html`<button class="link quote" tabindex=${tab} title="Go to the message this replies to" @click=${() => emit(this.list, 'jump', { messageId: replyTo })}>
      <span class="codicon codicon-reply" aria-hidden="true"></span> Reply to ${label}
    </button>`;
  }

  private attachment(a: CodeAttachment, tab: number) {
    const where = `${a.path}:${a.startLine}${a.endLine !== a.startLine ? `-${a.endLine}` : ''}`;
    return html`<div class="attachment">
      <div class="code-bar">
        <span class="path"><button class="link" tabindex=${tab} title="Open ${where}" @click=${() => emit(this.list, 'open-attachment', a)}>${where}</button></span>
        <button class="code-action" tabindex=${tab} @click=${() => emit(this.list, 'code-action', { action: 'copy', code: a.content, language: a.language })}>Copy</button>
        <button class="code-action" tabindex=${tab} @click=${() => emit(this.list, 'code-action', { action: 'insert', code: a.content, language: a.language })}>Insert at Cursor</button>
      </div>
      <pre><code class="hljs">${unsafeHighlighted(a.content, a.language)}</code></pre>
    </div>`;
  }

  private reactions(m: ChatMessage, tab: number, view: RowView) {
    const entries = Object.entries(m.reactions).filter(([, who]) => who.length > 0);
    if (entries.length === 0) return nothing;
    return html`<div class="reactions">
      ${entries.map(([emoji, who]) => {
        const mine = view.selfKey !== undefined && who.includes(view.selfKey);
        return html`<button tabindex=${tab} aria-pressed=${mine ? 'true' : 'false'} aria-label=${`${emoji} ${who.length}${mine ? ', including you' : ''}. ${mine ? 'Remove' : 'Add'} reaction`}
          @click=${() => emit(this.list, 'react', { message: m, emoji, add: !mine })}>${emoji} ${who.length}</button>`;
      })}
    </div>`;
  }

  private actions(m: ChatMessage, self: boolean, view: RowView) {
    const rating = view.ratings[m.id];
    const picker = this.pickerFor === m.id;
    const confirming = this.confirmDelete === m.id;
    return html`<div class="actions ${picker || confirming ? 'open' : ''}" role="toolbar" aria-label="Message actions">
      ${picker
        ? html`<div class="picker" role="group" aria-label="Add a reaction">
            ${reactionChoices.map(
              (emoji) => html`<button class="icon" aria-label=${`React with ${emoji}`} @click=${() => {
                this.setPicker(undefined);
                const mine = view.selfKey !== undefined && (m.reactions[emoji] ?? []).includes(view.selfKey);
                emit(this.list, 'react', { message: m, emoji, add: !mine });
                this.rowElement(m.id)?.focus();
              }}>${emoji}</button>`,
            )}
          </div>`
        : confirming
          ? html`<button class="icon" @click=${() => {
                this.setConfirmDelete(undefined);
                emit(this.list, 'delete', { message: m });
              }}>Delete message</button>
              <button class="icon" @click=${() => {
                this.setConfirmDelete(undefined);
                this.rowElement(m.id)?.focus();
              }}>Keep</button>`
          : html`
            <button class="icon" aria-label="Reply" title="Reply" @click=${() => emit(this.list, 'reply', { message: m })}><span class="codicon codicon-reply" aria-hidden="true"></span></button>
            <button class="icon" aria-label="Add reaction" title="Add reaction" aria-haspopup="true" @click=${() => this.openPicker(m.id)}><span class="codicon codicon-smiley" aria-hidden="true"></span></button>
            ${m.author.kind === 'persona' && !self
              ? html`<button class="icon" aria-label="Good answer" title="Good answer (for the academy)" aria-pressed=${rating === 'up' ? 'true' : 'false'}
                    @click=${() => emit(this.list, 'rate', { message: m, rating: rating === 'up' ? null : 'up' })}><span class="codicon codicon-thumbsup" aria-hidden="true"></span></button>
                  <button class="icon" aria-label="Bad answer" title="Bad answer (for the academy)" aria-pressed=${rating === 'down' ? 'true' : 'false'}
                    @click=${() => emit(this.list, 'rate', { message: m, rating: rating === 'down' ? null : 'down' })}><span class="codicon codicon-thumbsdown" aria-hidden="true"></span></button>`
              : nothing}
            ${self
              ? html`<button class="icon" aria-label="Edit" title="Edit (Up in an empty composer)" @click=${() => emit(this.list, 'edit', { message: m })}><span class="codicon codicon-edit" aria-hidden="true"></span></button>
                  <button class="icon" aria-label="Delete" title="Delete" @click=${() => this.askDelete(m.id)}><span class="codicon codicon-trash" aria-hidden="true"></span></button>`
              : nothing}
          `}
    </div>`;
  }

  private openPicker(id: string): void {
    this.setPicker(id);
    void this.list.updateComplete.then(() => this.rowElement(id)?.querySelector<HTMLElement>('.picker button')?.focus());
  }

  private askDelete(id: string): void {
    this.setConfirmDelete(id);
    void this.list.updateComplete.then(() => this.rowElement(id)?.querySelector<HTMLElement>('.actions button')?.focus());
  }

  // The open menu is the list's state: a change renders the list again.
  private setPicker(id: string | undefined): void {
    if (id === this.pickerFor) return;
    this.pickerFor = id;
    this.list.requestUpdate();
  }

  private setConfirmDelete(id: string | undefined): void {
    if (id === this.confirmDelete) return;
    this.confirmDelete = id;
    this.list.requestUpdate();
  }
}

/** hljs output is escaped source wrapped in spans: safe to use as HTML. */
function unsafeHighlighted(code: string, language: string) {
  return unsafeHTML(highlight(code.length > 256 * 1024 ? code.slice(0, 256 * 1024) : code, language));
}
