import * as vscode from 'vscode';
import type { LogLevel } from '../../protocol/extension';

/** The "Persona Mesh" LogOutputChannel: the user picks the level; the server follows it. */
export class Log implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('Persona Mesh', { log: true });
  }

  trace(message: string): void {
    this.channel.trace(message);
  }
  debug(message: string): void {
    this.channel.debug(message);
  }
  info(message: string): void {
    this.channel.info(message);
  }
  warn(message: string): void {
    this.channel.warn(message);
  }
  error(message: string): void {
    this.channel.error(message);
  }

  write(level: LogLevel, message: string): void {
    this[level](message);
  }

  /** The channel's level in the server's vocabulary (off and trace both let the server decide little). */
  get level(): LogLevel {
    switch (this.channel.logLevel) {
      case vscode.LogLevel.Trace:
        return 'trace';
      case vscode.LogLevel.Debug:
        return 'debug';
      case vscode.LogLevel.Warning:
        return 'warn';
      case vscode.LogLevel.Error:
      case vscode.LogLevel.Off:
        return 'error';
      default:
        return 'info';
    }
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
