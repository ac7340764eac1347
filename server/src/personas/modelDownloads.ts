/**
 * The node's `hf:` model downloads as something a user can watch and stop: progress (at most a
 * few updates a second per model, so a fast download does not flood the client) and the end of
 * each download, plus Cancel. The llama brains download through the options this hands out.
 */
import { EventEmitter } from 'node:events';
import { chmodSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { privateFileMode } from '../kernel/privateFiles';
import type { ModelDownloadProgress } from '../../../protocol/personas';
import { cancelModelDownload, type LlamaModelsOptions } from './brains/modelDownload';

export interface ModelDownloadsOptions {
  folder: string;
  /** Replaces https://huggingface.co (a mirror). */
  huggingFaceEndpoint?: string;
  clock: Clock;
  logger: Logger;
  /** Minimum time between two progress events of one model. Default 250 ms. */
  progressIntervalMs?: number;
}

export class ModelDownloads extends EventEmitter<{ progress: [ModelDownloadProgress] }> {
  private readonly lastProgressAt = new Map<string, number>();

  constructor(private readonly options: ModelDownloadsOptions) {
    super();
  }

  get folder(): string {
    return path.resolve(this.options.folder);
  }

  /** What the llama brains download with. */
  llamaModels(): LlamaModelsOptions {
    return {
      folder: this.folder,
      ...(this.options.huggingFaceEndpoint ? { huggingFaceEndpoint: this.options.huggingFaceEndpoint } : {}),
      onProgress: (model, downloadedBytes, totalBytes) => this.progress(model, downloadedBytes, totalBytes),
      onSettled: (model, outcome) => {
        this.lastProgressAt.delete(model);
        if ('file' in outcome) {
          this.keepAsPrivateAsFolder(outcome.file);
          this.options.logger.info(`downloaded ${model} into ${outcome.file}`);
          this.emit('progress', { model, downloadedBytes: 0, totalBytes: 0, state: 'done' });
        } else {
          const cancelled = outcome.error.code === 'cancelled';
          this.options.logger[cancelled ? 'info' : 'warn'](outcome.error.message);
          this.emit('progress', { model, downloadedBytes: 0, totalBytes: 0, state: cancelled ? 'cancelled' : 'failed', message: outcome.error.message });
        }
      },
    };
  }

  /** Stops the download of `model` for every persona waiting on it. */
  cancel(model: string): boolean {
    return cancelModelDownload(model, { folder: this.folder });
  }

  /**
   * The downloader writes with the umask's mode. In a private folder (the data dir's `models/`) the
   * model is made private too; a --models-dir the user shares stays shared.
   */
  private keepAsPrivateAsFolder(file: string): void {
    try {
      if ((statSync(this.folder).mode & 0o077) === 0) chmodSync(file, privateFileMode);
    } catch (error) {
      this.options.logger.warn(`cannot make ${file} private to its owner: ${(error as Error).message}`);
    }
  }

  private progress(model: string, downloadedBytes: number, totalBytes: number): void {
    const now = this.options.clock.monotonic();
    const last = this.lastProgressAt.get(model);
    const finished = totalBytes > 0 && downloadedBytes >= totalBytes;
    if (last !== undefined && now - last < (this.options.progressIntervalMs ?? 250) && !finished) return;
    if (last === undefined) this.options.logger.info(`downloading ${model} into ${this.folder}`);
    this.lastProgressAt.set(model, now);
    this.emit('progress', { model, downloadedBytes, totalBytes, state: 'downloading' });
  }
}
