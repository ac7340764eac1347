/**
 * The composer: Enter sends, Shift+Enter is a newline, Up in an empty composer edits your last
 * message, Escape cancels an edit or a reply. `@` opens completion of the participants
 * (a listbox driven by aria-activedescendant: focus stays in the text area).
 */
import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { participantKey, roomLimits, type ChatMessage, type Participant } from '../../protocol/rooms';
import { overLimit } from '../../protocol/sizeLimit';
import { base, codicons } from './styles';

export interface SendDetail {
  text: string;
  mentions: string[];
}

const encoder = new TextEncoder();

function emit<T>(target: EventTarget, name: string, detail?: T): void {
  target.dispatchEvent(new CustomEvent<T | undefined>(name, { detail, bubbles: true, composed: true }));
}

/** `@` and the word being typed before the caret. */
const mentionQuery = /(^|[\s([{])@([\p{L}\p{N}_.-]{0,40})$/u;

@customElement('mesh-composer')
export class Composer extends LitElement {
  @property() roomId = '';
  @property() roomName = '';
  @property() value = '';
  @property({ attribute: false }) participants: readonly Participant[] = [];
  @property({ attribute: false }) selfKey: string | undefined;
  @property({ attribute: false }) replyTo: ChatMessage | undefined;
  @property({ attribute: false }) editing: ChatMessage | undefined;
  @property() error = '';
  @property({ type: Boolean }) busy = false;

  @state() private mentionOpen = false;
  @state() private mentionStart = 0;
  @state() private mentionIndex = 0;
  @state() private mentionMatches: Participant[] = [];

  @query('textarea') private textarea!: HTMLTextAreaElement;

  static override styles = [
    base,
    css`
      :host { display: block; padding: 6px 8px 8px; border-top: 1px solid var(--vscode-panel-border, var(--vscode-contrastBorder, transparent)); position: relative; }
      .context { display: flex; align-items: center; gap: 6px; font-size: 0.9em; color: var(--vscode-descriptionForeground); margin-bottom: 4px; }
      .context .codicon { flex: none; }
      .context span:not(.codicon) { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .row { display: flex; gap: 6px; align-items: flex-end; }
      textarea {
        flex: 1; resize: none; field-sizing: content; min-height: 2.2em; max-height: 40vh; padding: 4px 6px;
        font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); line-height: 1.4;
        color: var(--vscode-input-foreground); background: var(--vscode-input-background);
        border: 1px solid var(--vscode-input-border, var(--vscode-contrastBorder, transparent)); border-radius: 2px;
      }
      textarea:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
      textarea::placeholder { color: var(--vscode-input-placeholderForeground); }
      textarea[aria-invalid='true'] { border-color: var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); }
      [role='listbox'] { position: absolute; bottom: 100%; left: 8px; max-height: 200px; min-width: 220px; overflow-y: auto; margin: 0; padding: 2px; list-style: none;
        background: var(--vscode-editorSuggestWidget-background, var(--vscode-editorWidget-background)); color: var(--vscode-editorSuggestWidget-foreground, var(--vscode-foreground));
        border: 1px solid var(--vscode-editorSuggestWidget-border, var(--vscode-contrastBorder, var(--vscode-widget-border))); z-index: 2; }
      [role='option'] { display: flex; align-items: center; gap: 6px; padding: 2px 6px; cursor: pointer; }
      [role='option'][aria-selected='true'] { background: var(--vscode-editorSuggestWidget-selectedBackground, var(--vscode-list-activeSelectionBackground));
        color: var(--vscode-editorSuggestWidget-selectedForeground, var(--vscode-list-activeSelectionForeground)); outline: 1px solid var(--vscode-contrastActiveBorder, transparent); }
      .kind { color: var(--vscode-descriptionForeground); font-size: 0.85em; }
      .hint { font-size: 0.85em; color: var(--vscode-descriptionForeground); margin-top: 2px; }
    `,
  ];

  protected override updated(changed: PropertyValues<this>): void {
    // Lit's `.value` binding does not move the caret; keep the text area in step with `value`.
    if (changed.has('value') && this.textarea && this.textarea.value !== this.value) this.textarea.value = this.value;
  }

  override focus(): void {
    this.textarea?.focus();
  }

  get bytes(): number {
    return encoder.encode(this.value).length;
  }

  private get limitError(): string {
    const size = this.bytes;
    return size > roomLimits.maxMessageBytes ? `The message is ${overLimit(size, roomLimits.maxMessageBytes)}.` : '';
  }

  private onInput = () => {
    this.value = this.textarea.value;
    emit(this, 'draft-change', this.value);
    if (this.value.trim() !== '') emit(this, 'typing');
    this.updateMention();
  };

  private updateMention(): void {
    const caret = this.textarea.selectionStart;
    const before = this.value.slice(0, caret);
    const match = mentionQuery.exec(before);
    if (!match) {
      this.mentionOpen = false;
      return;
    }
    const query = match[2]!.toLowerCase();
    const seen = new Set<string>();
    this.mentionMatches = this.participants
      .filter((p) => {
        const key = participantKey(p);
        if (key === this.selfKey || seen.has(key)) return false;
        seen.add(key);
        return p.displayName.toLowerCase().includes(query) || p.participantId.toLowerCase().startsWith(query);
      })
      .sort((a, b) => Number(!a.displayName.toLowerCase().startsWith(query)) - Number(!b.displayName.toLowerCase().startsWith(query)) || a.displayName.localeCompare(b.displayName))
      .slice(0, 20);
    this.mentionStart = caret - match[2]!.length - 1;
    this.mentionIndex = 0;
    this.mentionOpen = this.mentionMatches.length > 0;
  }

  private acceptMention(p: Participant): void {
    const caret = this.textarea.selectionStart;
    const insert = `@${p.displayName} `;
    const next = this.value.slice(0, this.mentionStart) + insert + this.value.slice(caret);
    this.value = next;
    this.textarea.value = next;
    const at = this.mentionStart + insert.length;
    this.textarea.setSelectionRange(at, at);
    this.mentionOpen = false;
    emit(this, 'draft-change', this.value);
    this.textarea.focus();
  }

  /** Participants whose `@Name` is in the text. */
  private mentionsIn(text: string): string[] {
    const keys = new Set<string>();
    for (const p of this.participants) {
      if (text.includes(`@${p.displayName}`)) keys.add(participantKey(p));
    }
    return [...keys];
  }

  private onKeyDown = (event: KeyboardEvent) => {
    if (event.isComposing) return;
    if (this.mentionOpen) {
      const n = this.mentionMatches.length;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        this.mentionIndex = (this.mentionIndex + (event.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.renderRoot.querySelector(`#mention-${this.mentionIndex}`)?.scrollIntoView({ block: 'nearest' });
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        this.acceptMention(this.mentionMatches[this.mentionIndex]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        this.mentionOpen = false;
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.send();
      return;
    }
    if (event.key === 'ArrowUp' && this.value === '' && !this.editing) {
      event.preventDefault();
      emit(this, 'edit-last');
      return;
    }
    if (event.key === 'Escape' && (this.editing || this.replyTo)) {
      event.preventDefault();
      emit(this, 'cancel');
    }
  };

  private send(): void {
    if (this.busy) return;
    const text = this.value;
    if (text.trim() === '') return;
    if (this.limitError) return;
    emit<SendDetail>(this, 'send', { text, mentions: this.mentionsIn(text) });
  }

  override render() {
    const limit = this.limitError;
    const error = limit || this.error;
    const active = this.mentionOpen ? `mention-${this.mentionIndex}` : '';
    const placeholder = this.editing ? 'Edit your message' : `Message #${this.roomName || this.roomId} (Enter to send, Shift+Enter for a new line, @ to mention)`;
    return html`${codicons()}
      ${this.editing || this.replyTo
        ? html`<div class="context">
            <span class="codicon ${this.editing ? 'codicon-edit' : 'codicon-reply'}" aria-hidden="true"></span>
            <span>${this.editing ? 'Editing your message' : `Replying to ${this.replyTo!.author.displayName}: ${this.replyTo!.text.replace(/\s+/g, ' ').slice(0, 100)}`}</span>
            <button class="icon" aria-label=${this.editing ? 'Cancel editing (Escape)' : 'Cancel reply (Escape)'} title="Cancel (Escape)" @click=${() => emit(this, 'cancel')}>
              <span class="codicon codicon-close" aria-hidden="true"></span>
            </button>
          </div>`
        : nothing}
      ${this.mentionOpen
        ? html`<ul id="mentions" role="listbox" aria-label="People and personas to mention">
            ${this.mentionMatches.map(
              (p, i) => html`<li id="mention-${i}" role="option" aria-selected=${i === this.mentionIndex ? 'true' : 'false'}
                @mousedown=${(event: Event) => {
                  event.preventDefault();
                  this.acceptMention(p);
                }}>
                <span class="dot ${p.presence}" aria-hidden="true"></span>${p.displayName}<span class="kind">${p.kind === 'human' ? '' : p.kind} ${p.presence}</span>
              </li>`,
            )}
          </ul>`
        : nothing}
      <div class="row">
        <textarea
          rows="1"
          aria-label=${this.editing ? 'Edit message' : `Message #${this.roomName || this.roomId}`}
          placeholder=${placeholder}
          role="combobox"
          aria-autocomplete="list"
          aria-haspopup="listbox"
          aria-expanded=${this.mentionOpen ? 'true' : 'false'}
          aria-controls="mentions"
          aria-activedescendant=${active}
          aria-invalid=${error ? 'true' : 'false'}
          aria-describedby="composer-error"
          .value=${this.value}
          @input=${this.onInput}
          @keydown=${this.onKeyDown}
          @click=${() => this.updateMention()}
          @blur=${() => (this.mentionOpen = false)}
        ></textarea>
        <vscode-button ?disabled=${this.busy || !!limit} @click=${() => this.send()} aria-label=${this.editing ? 'Save edit' : 'Send message'}>${this.editing ? 'Save' : 'Send'}</vscode-button>
      </div>
      <div id="composer-error" class="${error ? 'error' : 'sr-only'}" role="alert">${error}</div>`;
  }
}
