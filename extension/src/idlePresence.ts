import * as vscode from 'vscode';
import { SetPresenceRequest } from '../../protocol/roomsRpc';
import type { Ctx } from './ctx';

/**
 * Shows the user as away after the editor window has been out of focus for a while, and online
 * again when it comes back. A presence the user chose (busy, collaborating…) is left alone.
 */
export class IdlePresence implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wentAway = false;
  /** A presence other than online picked by hand; idle tracking pauses until the user goes online. */
  private chosen = false;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly ctx: Ctx, private readonly idleMs = () => vscode.workspace.getConfiguration('personaMesh').get<number>('presence.awayAfterMinutes', 5) * 60_000) {
    this.subscription = vscode.window.onDidChangeWindowState((state) => this.onWindowState(state.focused));
  }

  /** The user picked a presence by hand: idle tracking must not override it. */
  userChosePresence(presence: string): void {
    this.wentAway = false;
    this.chosen = presence !== 'online';
  }

  private onWindowState(focused: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (focused) {
      if (this.wentAway) {
        this.wentAway = false;
        void this.set('online');
      }
      return;
    }
    const idleMs = this.idleMs();
    if (idleMs <= 0 || this.chosen) return;
    this.timer = setTimeout(() => {
      this.wentAway = true;
      void this.set('away');
    }, idleMs);
  }

  private async set(presence: 'online' | 'away'): Promise<void> {
    try {
      await this.ctx.sendRequest(SetPresenceRequest.type, { presence });
    } catch (error) {
      this.ctx.log.debug(`presence ${presence} not sent: ${(error as Error).message}`);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscription.dispose();
  }
}
