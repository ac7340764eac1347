/**
 * Hosts the chat panel webview. It talks to the webview only through the typed union in
 * server/src/protocol/webview.ts; the panel keeps its own state with getState/setState, and a
 * serializer brings it back after a reload.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { FromWebview, ToWebview, WebviewCommand } from '../../server/src/protocol/webview';
import type { Ctx } from './ctx';

export const chatViewType = 'personaMesh.chat';

const allowedCommands: ReadonlySet<WebviewCommand> = new Set<WebviewCommand>([
  'personaMesh.showStatus',
  'personaMesh.setMeshKey',
  'personaMesh.showLogs',
  'personaMesh.restartServer',
]);

export class ChatPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private panelDisposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.onDidChangeStatus(() => this.postStatus()),
      vscode.window.registerWebviewPanelSerializer(chatViewType, {
        deserializeWebviewPanel: (panel) => {
          this.attach(panel);
          return Promise.resolve();
        },
      }),
    );
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(chatViewType, 'Persona Mesh', vscode.ViewColumn.Active, this.webviewOptions());
    this.attach(panel);
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'webview', 'out')] };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'mesh.svg');
    panel.webview.options = this.webviewOptions();
    panel.webview.html = this.html(panel.webview);
    this.panelDisposables.push(
      panel.webview.onDidReceiveMessage((message: FromWebview) => this.onMessage(message)),
      panel.onDidDispose(() => {
        this.panel = undefined;
        for (const disposable of this.panelDisposables.splice(0)) disposable.dispose();
      }),
    );
  }

  private onMessage(message: FromWebview): void {
    switch (message.type) {
      case 'ready':
        this.postStatus();
        break;
      case 'runCommand':
        // The webview renders remote text: only a fixed set of commands may be triggered from it.
        if (allowedCommands.has(message.command)) void vscode.commands.executeCommand(message.command);
        else this.ctx.log.warn(`the chat panel asked for a command that is not allowed: ${String(message.command)}`);
        break;
    }
  }

  private postStatus(): void {
    const message: ToWebview = { type: 'status', status: this.ctx.status, serverRunning: this.ctx.serverState === 'running' };
    void this.panel?.webview.postMessage(message);
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const out = vscode.Uri.joinPath(this.extensionUri, 'webview', 'out');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(out, 'chat.js'));
    const codicons = webview.asWebviewUri(vscode.Uri.joinPath(out, 'codicon.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
      `img-src ${webview.cspSource} data:`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${codicons.toString()}" id="vscode-codicon-stylesheet">
  <title>Persona Mesh</title>
</head>
<body>
  <mesh-app></mesh-app>
  <script type="module" nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
