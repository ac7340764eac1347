/**
 * What the chat panel keeps across hide/show (VS Code's getState/setState). Changes are written
 * once per microtask (a draft changes on every key), and at once when the panel is hidden or
 * unloaded (flush), so nothing typed is lost.
 */
import type { WebviewState } from '../../protocol/webview';
import { vscode } from './vscodeApi';

export class SavedState {
  private state: WebviewState = vscode.getState() ?? { version: 1 };
  private flushQueued = false;

  get value(): WebviewState {
    return this.state;
  }

  save(patch: Partial<WebviewState>): void {
    this.state = { ...this.state, ...patch };
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  readonly flush = () => {
    this.flushQueued = false;
    vscode.setState(this.state);
  };
}
