import * as vscode from 'vscode';
import type { NodeStatus } from '../../protocol/status';
import type { Ctx } from './ctx';

/** Node state and peer count at a glance; a click opens the chat panel. */
export class MeshStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('personaMesh.status', vscode.StatusBarAlignment.Right, 100);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: Ctx) {
    this.item.name = 'Persona Mesh';
    this.item.command = 'personaMesh.openChat';
    this.subscription = ctx.onDidChangeStatus((status) => this.render(status));
    this.render(ctx.status);
    this.item.show();
  }

  private render(status: NodeStatus | undefined): void {
    const view = describeForStatusBar(status, this.ctx.serverState);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: view.tooltip, role: 'button' };
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

export function describeForStatusBar(status: NodeStatus | undefined, serverState: string): { text: string; tooltip: string; warning: boolean } {
  if (!status) {
    return serverState === 'starting'
      ? { text: '$(sync~spin) Mesh', tooltip: 'Persona Mesh: the mesh server is starting', warning: false }
      : { text: '$(debug-disconnect) Mesh', tooltip: 'Persona Mesh: the mesh server is not running. Click to open the panel; "Restart Mesh Server" starts it.', warning: true };
  }
  const peers = `${status.peers} peer${status.peers === 1 ? '' : 's'}`;
  if (status.problems.length > 0) {
    return { text: `$(warning) Mesh`, tooltip: `Persona Mesh (${status.state}): ${status.problems.map((p) => p.message).join(' · ')}`, warning: true };
  }
  return { text: `$(radio-tower) ${status.peers}`, tooltip: `Persona Mesh: ${status.name} is ${status.state}, ${peers}. Click to open the chat.`, warning: false };
}
