/**
 * Hosts the chat panel webview. It talks to the webview only through the typed union in
 * protocol/webview.ts; the panel keeps its own state with getState/setState, and a
 * serializer brings it back after a reload.
 *
 * The webview renders remote text, so each message it posts is checked (chat/validate.ts) before
 * anything happens; every request gets exactly one response (a result or a one-line error).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { roomIdPattern } from '../../protocol/rooms';
import { MessageNotification, RoomsChangedNotification, TypingChangedNotification, TypingNotification } from '../../protocol/roomsRpc';
import type { FromWebview, RateParams, ToWebview, WebviewRequest } from '../../protocol/webview';
import { describeError, forwardRoomsRequest, isRoomsRequest, serverMethodOf } from './chat/bridge';
import { AcademyRateRequest } from '../../protocol/academy';
import { chatHtml } from './chat/html';
import { checkFromWebview } from './chat/validate';
import { JudgingQueue } from './chat/judging';
import { ChallengeChangedNotification, ListChallengesRequest, SubmitScoresRequest } from '../../protocol/challenges';
import type { Ctx } from './ctx';

export const chatViewType = 'personaMesh.chat';

export class ChatPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private pendingRoom: { roomId: string; mention?: string } | undefined;
  private shownRoom: string | undefined;
  private lastTextEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly rateEmitter = new vscode.EventEmitter<RateParams>();
  private readonly roomEmitter = new vscode.EventEmitter<string>();
  private readonly disposables: vscode.Disposable[] = [this.rateEmitter, this.roomEmitter];
  private panelDisposables: vscode.Disposable[] = [];
  private readonly judging = new JudgingQueue();

  /** A thumbs up/down on a persona message (for the academy). */
  readonly onDidRate = this.rateEmitter.event;
  /** The room the panel shows changed. */
  readonly onDidShowRoom = this.roomEmitter.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.onDidChangeStatus(() => this.postStatus()),
      ctx.onNotification(MessageNotification.type, (message) => this.post({ type: 'message', message })),
      ctx.onNotification(RoomsChangedNotification.type, (rooms) => this.post({ type: 'rooms', rooms })),
      ctx.onNotification(TypingChangedNotification.type, (event) => this.post({ type: 'typing', event })),
      ctx.onNotification(ChallengeChangedNotification.type, (view) => {
        if (this.judging.update(view, this.ctx.status?.nodeId)) this.postJudging();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) this.lastTextEditor = editor;
      }),
      vscode.window.registerWebviewPanelSerializer(chatViewType, {
        deserializeWebviewPanel: (panel) => {
          this.attach(panel);
          return Promise.resolve();
        },
      }),
    );
  }

  /** Opens (or reveals) the panel, on `roomId` when given. */
  /** Opens the panel (on a room), optionally with `mention` (`@id`) added to that room's draft. */
  show(roomId?: string, mention?: string): void {
    if (roomId !== undefined && !roomIdPattern.test(roomId)) throw new Error(`"${roomId}" is not a room id`);
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel(chatViewType, 'Persona Mesh', vscode.ViewColumn.Active, this.webviewOptions());
      this.attach(panel);
    } else {
      this.panel.reveal();
    }
    if (roomId === undefined) return;
    const shown = { roomId, ...(mention ? { mention } : {}) };
    if (this.ready) this.post({ type: 'showRoom', ...shown });
    else this.pendingRoom = shown;
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** The room the panel shows (or showed last), for commands that post "into the current room". */
  get currentRoomId(): string | undefined {
    return this.shownRoom;
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'webview', 'out')] };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'mesh.svg');
    panel.webview.options = this.webviewOptions();
    panel.webview.html = this.html(panel.webview);
    this.panelDisposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.onMessage(raw)),
      // Hidden webviews are destroyed (no retainContextWhenHidden); a new one posts `ready` again.
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => {
        this.panel = undefined;
        this.ready = false;
        for (const disposable of this.panelDisposables.splice(0)) disposable.dispose();
      }),
    );
  }

  private onMessage(raw: unknown): void {
    const checked = checkFromWebview(raw);
    if (!checked.ok) {
      this.ctx.log.warn(`chat panel: dropped a message: ${checked.error}`);
      if (checked.id !== undefined) this.post({ type: 'response', id: checked.id, ok: false, error: `Not sent: ${checked.error}.` });
      return;
    }
    const message: FromWebview = checked.message;
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.postStatus();
        if (this.pendingRoom !== undefined) {
          this.post({ type: 'showRoom', ...this.pendingRoom });
          this.pendingRoom = undefined;
        }
        void this.refreshJudging();
        break;
      case 'runCommand':
        void vscode.commands.executeCommand(message.command);
        break;
      case 'request':
        void this.answer(message);
        break;
      case 'typing':
        void this.ctx.sendNotification(TypingNotification.type, { roomId: message.roomId }).catch(() => undefined);
        break;
      case 'roomShown':
        if (this.shownRoom !== message.roomId) {
          this.shownRoom = message.roomId;
          this.roomEmitter.fire(message.roomId);
        }
        break;
      case 'rate':
        void this.rate(message);
        break;
      case 'openLink':
        void vscode.env.openExternal(vscode.Uri.parse(message.url, true));
        break;
    }
  }

  private async answer(request: WebviewRequest): Promise<void> {
    try {
      const result = isRoomsRequest(request) ? await forwardRoomsRequest(this.ctx, request) : await this.editorRequest(request);
      this.post({ type: 'response', id: request.id, ok: true, result });
    } catch (error) {
      const text = describeError(error, isRoomsRequest(request) ? serverMethodOf(request.method) : request.method);
      this.ctx.log.debug(`chat panel: ${request.method} failed: ${text}`);
      this.post({ type: 'response', id: request.id, ok: false, error: text });
    }
  }

  private async editorRequest(request: Exclude<WebviewRequest, { method: Parameters<typeof serverMethodOf>[0] }>): Promise<null> {
    switch (request.method) {
      case 'submitScores':
        await this.ctx.sendRequest(SubmitScoresRequest.type, request.params);
        if (this.judging.submitted(request.params.challengeId)) this.postJudging();
        return null;
      case 'copyText':
        await vscode.env.clipboard.writeText(request.params.text);
        return null;
      case 'insertCode': {
        const editor = vscode.window.activeTextEditor ?? this.lastTextEditor;
        if (!editor || editor.document.isClosed) throw new Error('Open a file in an editor first: there is no editor to insert into.');
        const shown = await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
        const ok = await shown.edit((edit) => {
          for (const selection of shown.selections) edit.replace(selection, request.params.code);
        });
        if (!ok) throw new Error('The editor did not accept the insertion (is it read-only?).');
        return null;
      }
      case 'openAttachment': {
        const { path, startLine, endLine } = request.params;
        for (const folder of vscode.workspace.workspaceFolders ?? []) {
          const uri = vscode.Uri.joinPath(folder.uri, ...path.split('/'));
          const exists = await vscode.workspace.fs.stat(uri).then(
            (stat) => (stat.type & vscode.FileType.File) !== 0,
            () => false,
          );
          if (!exists) continue;
          const document = await vscode.workspace.openTextDocument(uri);
          const last = Math.min(endLine, document.lineCount) - 1;
          const first = Math.min(startLine - 1, last);
          const range = new vscode.Range(first, 0, last, document.lineAt(Math.max(last, 0)).text.length);
          await vscode.window.showTextDocument(document, { selection: range, viewColumn: vscode.ViewColumn.One, preview: true });
          return null;
        }
        throw new Error(`${path} is not in this workspace.`);
      }
    }
  }

  private async rate(params: RateParams): Promise<void> {
    this.ctx.log.info(`chat panel: ${params.rating ?? 'no'} rating for ${params.persona} on ${params.roomId}/${params.messageId}`);
    this.rateEmitter.fire(params);
    try {
      await this.ctx.sendRequest(AcademyRateRequest.type, params);
    } catch (error) {
      this.ctx.log.warn(`chat panel: the rating was not recorded: ${describeError(error, AcademyRateRequest.method)}`);
    }
  }

  /** Cards for the challenges to judge, also those that started while the panel was closed. */
  private async refreshJudging(): Promise<void> {
    try {
      for (const view of await this.ctx.sendRequest(ListChallengesRequest.type)) this.judging.update(view, this.ctx.status?.nodeId);
    } catch (error) {
      this.ctx.log.debug(`chat panel: challenges not listed: ${describeError(error)}`);
    }
    this.postJudging();
  }

  private postJudging(): void {
    this.post({ type: 'judging', challenges: this.judging.list() });
  }

  private post(message: ToWebview): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  private postStatus(): void {
    this.post({ type: 'status', status: this.ctx.status, serverRunning: this.ctx.serverState === 'running' });
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const out = vscode.Uri.joinPath(this.extensionUri, 'webview', 'out');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(out, 'chat.js'));
    const codicons = webview.asWebviewUri(vscode.Uri.joinPath(out, 'codicon.css'));
    return chatHtml({ nonce, cspSource: webview.cspSource, script: script.toString(), codicons: codicons.toString() });
  }

  dispose(): void {
    this.panel?.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
