/**
 * Shows the server's `hf:` model downloads as progress notifications with Cancel: a llama
 * persona's first reply can mean gigabytes, and the user must see it and be able to stop it.
 */
import * as vscode from 'vscode';
import { CancelModelDownloadRequest, ModelDownloadNotification, type ModelDownloadProgress } from '../../protocol/personas';
import type { Ctx } from './ctx';

interface Shown {
  update(progress: ModelDownloadProgress): void;
  finish(): void;
}

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

export function registerModelDownloads(ctx: Ctx): vscode.Disposable {
  const shown = new Map<string, Shown>();

  const show = (model: string): Shown => {
    let reported = 0;
    let resolveDone: () => void = () => undefined;
    let report: ((value: { message?: string; increment?: number }) => void) | undefined;
    let pending: ModelDownloadProgress | undefined;
    const entry: Shown = {
      update(progress) {
        if (!report) {
          pending = progress;
          return;
        }
        const percent = progress.totalBytes > 0 ? Math.min(100, (progress.downloadedBytes / progress.totalBytes) * 100) : 0;
        const size = progress.totalBytes > 0 ? `${megabytes(progress.downloadedBytes)} of ${megabytes(progress.totalBytes)}` : megabytes(progress.downloadedBytes);
        report({ message: `${Math.floor(percent)}% (${size})`, increment: Math.max(0, percent - reported) });
        reported = Math.max(reported, percent);
      },
      finish: () => resolveDone(),
    };
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Persona Mesh: downloading ${model}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          resolveDone = resolve;
          report = (value) => progress.report(value);
          if (pending) entry.update(pending);
          token.onCancellationRequested(() => {
            ctx.sendRequest(CancelModelDownloadRequest.type, { model }).catch((error: unknown) => {
              ctx.log.warn(`could not cancel the download of ${model}: ${error instanceof Error ? error.message : String(error)}`);
            });
            resolve();
          });
        }),
    );
    return entry;
  };

  return ctx.onNotification(ModelDownloadNotification.type, (progress) => {
    if (progress.state === 'downloading') {
      let entry = shown.get(progress.model);
      if (!entry) shown.set(progress.model, (entry = show(progress.model)));
      entry.update(progress);
      return;
    }
    shown.get(progress.model)?.finish();
    shown.delete(progress.model);
    if (progress.state === 'failed') void vscode.window.showErrorMessage(`Persona Mesh: ${progress.message ?? `the download of ${progress.model} failed`}`);
    else if (progress.state === 'cancelled') ctx.log.info(progress.message ?? `the download of ${progress.model} was cancelled`);
  });
}
