/** Rooms with unread counts, and a field to create or join a room (validated like the server does). */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { roomIdPattern, type RoomSummary } from '../../protocol/rooms';
import { base, codicons } from './styles';

export function roomIdProblem(value: string): string {
  if (value === '') return '';
  if (roomIdPattern.test(value)) return '';
  const suggestion = value.toLowerCase().trim().replace(/\s+/g, '-').replace(/[^a-z0-9_-]/g, '').replace(/^[-_]+/, '').slice(0, 64);
  return `Room names are lower-case letters, digits, "-" and "_" (up to 64, starting with a letter or digit)${suggestion && suggestion !== value ? `: try "${suggestion}"` : ''}.`;
}

@customElement('mesh-room-list')
export class RoomList extends LitElement {
  @property({ attribute: false }) rooms: readonly RoomSummary[] = [];
  @property() current = '';
  @property({ attribute: false }) unread: Readonly<Record<string, number>> = {};
  @property() error = '';
  @property({ type: Boolean }) busy = false;
  @state() private draft = '';

  static override styles = [
    base,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; overflow-y: auto; padding: 6px 0; }
      h2 { font-size: 0.85em; text-transform: uppercase; letter-spacing: 0.04em; margin: 4px 12px; color: var(--vscode-sideBarSectionHeader-foreground, var(--vscode-foreground)); }
      ul { list-style: none; margin: 0; padding: 0; }
      li button { display: flex; width: 100%; align-items: center; gap: 6px; padding: 3px 12px; border: 1px solid transparent; background: none; color: var(--vscode-foreground); font: inherit; text-align: left; cursor: pointer; }
      li button:hover { background: var(--vscode-list-hoverBackground); }
      li button[aria-current='true'] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground);
        outline: 1px solid var(--vscode-contrastActiveBorder, transparent); outline-offset: -1px; }
      .name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .unread .name { font-weight: 600; }
      .not-joined .name { color: var(--vscode-descriptionForeground); font-style: italic; }
      form { display: flex; flex-direction: column; gap: 4px; margin: 10px 12px 0; }
      label { font-size: 0.9em; }
      .field { display: flex; gap: 4px; }
      input { flex: 1; min-width: 0; padding: 2px 4px; font: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background);
        border: 1px solid var(--vscode-input-border, var(--vscode-contrastBorder, transparent)); }
      input:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
      input[aria-invalid='true'] { border-color: var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); }
    `,
  ];

  private submit(event: Event): void {
    event.preventDefault();
    const roomId = this.draft.trim();
    if (!roomId || roomIdProblem(roomId)) return;
    this.dispatchEvent(new CustomEvent('join-room', { detail: roomId, bubbles: true, composed: true }));
    this.draft = '';
  }

  override render() {
    const problem = roomIdProblem(this.draft.trim());
    const error = problem || this.error;
    return html`${codicons()}
      <nav aria-labelledby="rooms-heading">
        <h2 id="rooms-heading">Rooms</h2>
        <ul>
          ${this.rooms.map((room) => {
            const unread = this.unread[room.id] ?? 0;
            const label = `${room.name || room.id}${unread > 0 ? `, ${unread} unread` : ''}${room.joined ? '' : ', not joined'}`;
            return html`<li class="${unread > 0 ? 'unread' : ''} ${room.joined ? '' : 'not-joined'}">
              <button aria-current=${room.id === this.current ? 'true' : 'false'} aria-label=${label}
                @click=${() => this.dispatchEvent(new CustomEvent('select-room', { detail: room.id, bubbles: true, composed: true }))}>
                <span class="codicon codicon-comment-discussion" aria-hidden="true"></span>
                <span class="name">#${room.name || room.id}</span>
                ${unread > 0 ? html`<vscode-badge variant="counter" aria-hidden="true">${unread > 999 ? '999+' : unread}</vscode-badge>` : nothing}
              </button>
            </li>`;
          })}
        </ul>
      </nav>
      <form @submit=${(event: Event) => this.submit(event)}>
        <label for="room-id">Create or join a room</label>
        <div class="field">
          <input id="room-id" placeholder="room-name" autocomplete="off" spellcheck="false" maxlength="64"
            aria-invalid=${problem ? 'true' : 'false'} aria-describedby="room-error"
            .value=${this.draft} @input=${(event: Event) => (this.draft = (event.target as HTMLInputElement).value)} />
          <vscode-button type="submit" ?disabled=${!!problem || this.draft.trim() === '' || this.busy} @click=${(event: Event) => this.submit(event)}>Join</vscode-button>
        </div>
        <div id="room-error" class="${error ? 'error' : 'sr-only'}" role="alert">${error}</div>
      </form>`;
  }
}
