import { LitElement, css, html } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { ToWebview, WebviewCommand } from '../../server/src/protocol/webview';
import './nodeCard';
import { vscode } from './vscodeApi';

/** The chat panel's root: restores its last state at once, then follows the extension's messages. */
@customElement('mesh-app')
export class MeshApp extends LitElement {
  @state() private snapshot = vscode.getState() ?? { version: 1 as const };
  @state() private serverRunning = this.snapshot.lastStatus !== undefined;

  static override styles = css`
    :host { display: flex; flex-direction: column; height: 100vh; color: var(--vscode-foreground);
      font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('message', this.onMessage);
    vscode.postMessage({ type: 'ready' });
  }

  override disconnectedCallback(): void {
    window.removeEventListener('message', this.onMessage);
    super.disconnectedCallback();
  }

  private readonly onMessage = (event: MessageEvent<ToWebview>) => {
    const message = event.data;
    switch (message.type) {
      case 'status':
        this.serverRunning = message.serverRunning;
        this.snapshot = { ...this.snapshot, lastStatus: message.status };
        vscode.setState(this.snapshot);
        break;
    }
  };

  override render() {
    return html`<mesh-node-card
      .status=${this.snapshot.lastStatus}
      ?serverRunning=${this.serverRunning}
      @run-command=${(event: CustomEvent<WebviewCommand>) => vscode.postMessage({ type: 'runCommand', command: event.detail })}
    ></mesh-node-card>`;
  }
}
