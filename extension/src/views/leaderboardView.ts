/**
 * The Leaderboard view (a webview view in the Persona Mesh container). It asks the node for the
 * board of the category the webview shows and for the board one trend window ago (the trend), and
 * refreshes live when the node reports a new signal (mesh/academy/signal), at most a few times a
 * second. Messages from the webview are checked before use.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { AcademyLeaderboardRequest, AcademySignalNotification, AcademySignalsRequest, signalCategories, type SignalCategory } from '../../../protocol/academy';
import type { FromLeaderboard, ToLeaderboard } from '../../../protocol/leaderboard';
import type { Ctx } from '../ctx';
import { leaderboardHtml } from './leaderboardHtml';

export const leaderboardViewId = 'personaMesh.leaderboard';
const trendDays = 7;
const refreshDelayMs = 300;

function checkCategory(value: unknown): SignalCategory | undefined {
  return (signalCategories as readonly unknown[]).includes(value) ? (value as SignalCategory) : undefined;
}

export class LeaderboardView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private category: SignalCategory | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private viewDisposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.onNotification(AcademySignalNotification.type, () => this.scheduleRefresh()),
      ctx.onDidChangeStatus((status) => {
        if (status) this.scheduleRefresh();
      }),
      vscode.window.registerWebviewViewProvider(leaderboardViewId, this),
      vscode.commands.registerCommand('personaMesh.refreshLeaderboard', () => this.refresh()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const disposable of this.viewDisposables.splice(0)) disposable.dispose();
    this.view = view;
    const root = vscode.Uri.joinPath(this.extensionUri, 'webview', 'out');
    view.webview.options = { enableScripts: true, localResourceRoots: [root] };
    view.webview.html = leaderboardHtml({
      nonce: randomBytes(16).toString('base64'),
      script: view.webview.asWebviewUri(vscode.Uri.joinPath(root, 'leaderboard.js')).toString(),
    });
    this.viewDisposables.push(
      view.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
      view.onDidChangeVisibility(() => {
        if (view.visible) this.scheduleRefresh();
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        for (const disposable of this.viewDisposables.splice(0)) disposable.dispose();
      }),
    );
  }

  private async receive(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Partial<FromLeaderboard> & Record<string, unknown>;
    if (m.type === 'category') {
      this.category = checkCategory(m.category);
      await this.refresh();
    } else if (m.type === 'signals' && typeof m.persona === 'string' && m.persona.length <= 300 && typeof m.name === 'string') {
      const category = checkCategory(m.category);
      try {
        const signals = await this.ctx.sendRequest(AcademySignalsRequest.type, { persona: m.persona, limit: 200, ...(category ? { category } : {}) });
        this.post({ type: 'signals', persona: m.persona, name: m.name.slice(0, 200), ...(category ? { category } : {}), signals });
      } catch (error) {
        this.post({ type: 'error', message: `The signals could not be loaded: ${(error as Error).message}` });
      }
    }
  }

  private scheduleRefresh(): void {
    if (!this.view?.visible || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, refreshDelayMs);
  }

  async refresh(): Promise<void> {
    if (!this.view) return;
    const category = this.category;
    try {
      const params = category ? { category } : {};
      const [board, earlier] = await Promise.all([
        this.ctx.sendRequest(AcademyLeaderboardRequest.type, params),
        this.ctx.sendRequest(AcademyLeaderboardRequest.type, { ...params, before: Date.now() - trendDays * 86_400_000 }),
      ]);
      const previous: Record<string, number> = {};
      for (const persona of earlier.personas) {
        const score = category ? persona.categories[category] : persona.overall;
        if (score && score.count > 0) previous[persona.key] = score.lowerBound;
      }
      this.post({ type: 'board', ...(category ? { category } : {}), board, previous, trendDays });
    } catch (error) {
      this.post({ type: 'error', message: `The leaderboard could not be loaded: ${(error as Error).message}` });
    }
  }

  private post(message: ToLeaderboard): void {
    void this.view?.webview.postMessage(message);
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const disposable of [...this.viewDisposables, ...this.disposables]) disposable.dispose();
  }
}
