import { LitElement, css, html, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { NodeStatus } from '../../protocol/status';
import type { WebviewCommand } from '../../protocol/webview';

/** This node at a glance: name, id, state, peers and any problem with the action that fixes it. */
@customElement('mesh-node-card')
export class NodeCard extends LitElement {
  @property({ attribute: false }) status: NodeStatus | undefined;
  @property({ type: Boolean }) serverRunning = false;

  static override styles = css`
    :host { display: block; padding: 12px 16px; border-bottom: 1px solid var(--vscode-panel-border, transparent); }
    h2 { margin: 0 0 4px; font-size: 1.1em; font-weight: 600; }
    .id { font-family: var(--vscode-editor-font-family); font-size: 0.95em; user-select: all; color: var(--vscode-descriptionForeground); }
    .state { display: inline-flex; align-items: center; gap: 4px; margin-top: 4px; }
    .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--vscode-testing-iconPassed, green); }
    .dot.degraded, .dot.down { background: var(--vscode-testing-iconFailed, red); }
    .problem { margin: 8px 0 0; padding: 6px 8px; border-left: 3px solid var(--vscode-inputValidation-warningBorder, orange);
      background: var(--vscode-inputValidation-warningBackground, transparent); }
    .actions { display: flex; gap: 8px; margin-top: 8px; flex-wrap: wrap; }
  `;

  override render() {
    const status = this.status;
    if (!status || !this.serverRunning) {
      return html`<h2>Persona Mesh</h2>
        <p class="state" role="status"><span class="dot down" aria-hidden="true"></span>The mesh server is not running.</p>
        <div class="actions">${this.button('Restart Mesh Server', 'personaMesh.restartServer')}${this.button('Show Logs', 'personaMesh.showLogs')}</div>`;
    }
    const peers = `${status.peers} peer${status.peers === 1 ? '' : 's'}`;
    return html`<h2>${status.name}</h2>
      <div class="id" aria-label="Node id">${status.nodeIdDisplay}</div>
      <p class="state" role="status"><span class="dot ${status.state}" aria-hidden="true"></span>${status.state}, ${peers}</p>
      ${status.problems.map((problem) => html`<p class="problem" role="alert">${problem.message}</p>`)}
      <div class="actions">
        ${status.meshKeySet ? nothing : this.button('Set Mesh Key', 'personaMesh.setMeshKey')}
        ${this.button('Show Status', 'personaMesh.showStatus')} ${this.button('Show Logs', 'personaMesh.showLogs')}
      </div>`;
  }

  private button(label: string, command: WebviewCommand) {
    return html`<vscode-button secondary @click=${() => this.dispatchEvent(new CustomEvent('run-command', { detail: command, bubbles: true, composed: true }))}>${label}</vscode-button>`;
  }
}
