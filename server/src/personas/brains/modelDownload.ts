/**
 * `hf:<owner>/<repo>/<file>.gguf` models for the `llama` brain, fetched into the node's models
 * folder with node-llama-cpp's downloader; a download is shared by every persona waiting on it.
 */
import { BrainError } from './brain';
import { loadNodeLlamaCpp } from '../../models/nodeLlamaCpp';

export interface LlamaModelsOptions {
  folder: string;
  /** Replaces https://huggingface.co (a mirror; tests). */
  huggingFaceEndpoint?: string;
  onProgress?: (model: string, downloadedBytes: number, totalBytes: number) => void;
  /** Once per download: the file, or why it failed (`cancelled` when cancelModelDownload stopped it). */
  onSettled?: (model: string, outcome: { file: string } | { error: BrainError }) => void;
}

const downloads = new Map<string, { promise: Promise<string>; waiters: number; controller: AbortController }>();

/**
 * Downloads `hf:<owner>/<repo>/<file>.gguf` into the models folder with node-llama-cpp's
 * downloader (ipull): once per node (concurrent callers share the download), skipped when the file
 * is there with the remote size, resumed from its partial file after a cancel or a failure.
 */
export async function downloadModel(uri: string, models: LlamaModelsOptions, signal?: AbortSignal): Promise<string> {
  if (!/^hf:[^/\s]+\/[^/\s]+\/[^\s]+\.gguf$/i.test(uri)) throw new BrainError('missing-model', `${uri} is not a model reference of the form hf:<owner>/<repo>/<file>.gguf`);
  const key = `${models.folder}\n${uri}`;
  let entry = downloads.get(key);
  if (!entry) {
    const controller = new AbortController();
    const promise = (async () => {
      const lib = await loadNodeLlamaCpp();
      const downloader = await lib.createModelDownloader({
        modelUri: uri,
        dirPath: models.folder,
        skipExisting: true,
        deleteTempFileOnCancel: false,
        showCliProgress: false,
        ...(models.huggingFaceEndpoint ? { endpoints: { huggingFace: models.huggingFaceEndpoint } } : {}),
        onProgress: ({ downloadedSize, totalSize }) => models.onProgress?.(uri, downloadedSize, totalSize),
      });
      const file = await downloader.download({ signal: controller.signal });
      // ipull resolves (with the unfinished path) rather than rejects when it is aborted.
      if (controller.signal.aborted) throw new Error('aborted');
      return file;
    })().catch((error: unknown) => {
      throw controller.signal.aborted
        ? new BrainError('cancelled', `the download of ${uri} was cancelled`)
        : new BrainError('unreachable', `could not download ${uri}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    });
    promise.then(
      (file) => models.onSettled?.(uri, { file }),
      (error: BrainError) => models.onSettled?.(uri, { error }),
    );
    entry = { promise, waiters: 0, controller };
    downloads.set(key, entry);
    const current = entry;
    const forget = (): void => {
      if (downloads.get(key) === current) downloads.delete(key);
    };
    promise.then(forget, forget);
  }
  const download = entry;
  download.waiters++;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (): void => {
      // The last waiter to cancel stops the download; its partial file stays for a resume.
      if (--download.waiters === 0) {
        download.controller.abort();
        if (downloads.get(key) === download) downloads.delete(key);
      }
      reject(new BrainError('cancelled', `the download of ${uri} was cancelled`));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const file = await Promise.race([download.promise, aborted]);
    download.waiters--;
    return file;
  } catch (error) {
    if (!signal?.aborted) download.waiters--;
    if (error instanceof BrainError) throw error;
    throw new BrainError('unreachable', `could not download ${uri}: ${oneLine(error instanceof Error ? error.message : String(error))}`);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    download.promise.catch(() => undefined);
  }
}

/**
 * Stops a running download for every persona waiting on it (the user's Cancel); its partial file
 * stays for a resume. False when no such download runs.
 */
export function cancelModelDownload(uri: string, models: Pick<LlamaModelsOptions, 'folder'>): boolean {
  const key = `${models.folder}\n${uri}`;
  const entry = downloads.get(key);
  if (!entry) return false;
  downloads.delete(key);
  entry.controller.abort();
  return true;
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim().slice(0, 300);
}
