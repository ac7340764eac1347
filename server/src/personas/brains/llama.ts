/**
 * The `llama` brain: a local GGUF model through node-llama-cpp, run in a child process (the model
 * process, llamaWorker.ts) because a malformed model can abort llama.cpp; the node survives it,
 * the reply fails with "the model process crashed (signal SIGABRT) loading X", and the next reply
 * starts a new model process. One model process per node, shared by every llama persona, and in
 * it one model instance per file. LoRA adapters (from the persona's genomes) are applied when the
 * reply's context is created, each with its scale.
 *
 * Before llama.cpp opens anything, the files are checked in pure JS (models/gguf.ts), so the
 * common mistakes get their own one-line error: missing model file, not a GGUF file, corrupt
 * GGUF, an adapter instead of a model, not a LoRA adapter, adapter for another architecture.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { BrainConfig, BrainProvider, PersonaDefinition } from '../../../../protocol/personas';
import { BrainError, throwIfAborted, type Brain, type BrainMessage, type BrainRequest } from './brain';
import { GgufError, inspectGguf, type GgufSummary } from '../../models/gguf';
import type { LlamaAdapterSpec } from '../../models/loraAdapter';
import { loadNodeLlamaCpp } from '../../models/nodeLlamaCpp';
import type { LlamaGenerateRequest, LlamaParentMessage, LlamaWorkerMessage } from './llamaWorkerProtocol';

export const llamaDefaults = { contextSize: 4096, threads: 1, maxTokens: 512 };

/** How the model process is started. */
export interface LlamaWorkerEntry {
  file: string;
  execArgv: string[];
}

/**
 * The bundled worker next to the bundle (server/out/llamaWorker.js), or, when this module runs
 * from its TypeScript source (tests under tsx), llamaWorker.ts under `--import tsx`.
 */
export function defaultWorkerEntry(): LlamaWorkerEntry {
  if (__filename.endsWith('.ts')) {
    const source = path.join(__dirname, 'llamaWorker.ts');
    if (existsSync(source)) return { file: source, execArgv: ['--import', 'tsx'] };
  }
  return { file: path.join(__dirname, 'llamaWorker.js'), execArgv: [] };
}

interface Pending {
  request: LlamaGenerateRequest;
  /** The model as the persona file names it (for messages). */
  display: string;
  /** The model file's path + size + mtime. */
  crashKey: string;
  onChunk(text: string): void;
  onEnd(error?: BrainError): void;
}

/** A started reply in the model process. */
export interface LlamaGeneration {
  cancel(): void;
}

/** The model process: started on demand, restarted after a crash, stopped by {@link stop}. */
export class LlamaRuntime {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** The model the worker is loading (set by its `loading` message, cleared by `loaded`). */
  private loading: string | undefined;
  private stderrTail: string[] = [];
  /** Models that crashed the model process, by path + size + mtime: the same file fails fast. */
  private readonly crashed = new Map<string, string>();
  /** Model processes started so far (tests). */
  starts = 0;
  /** Models loaded so far, all processes together (tests). */
  modelLoads = 0;

  constructor(private readonly entry: LlamaWorkerEntry = defaultWorkerEntry()) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  crashedBefore(key: string): string | undefined {
    return this.crashed.get(key);
  }

  generate(request: Omit<LlamaGenerateRequest, 'type' | 'id'>, display: string, crashKey: string, onChunk: (text: string) => void, onEnd: (error?: BrainError) => void): LlamaGeneration {
    const id = this.nextId++;
    const full: LlamaGenerateRequest = { type: 'generate', id, ...request };
    this.pending.set(id, { request: full, display, crashKey, onChunk, onEnd });
    const child = this.start();
    this.post(child, full);
    return {
      cancel: () => {
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        if (this.child === child) this.post(child, { type: 'cancel', id });
        entry.onEnd(new BrainError('cancelled', 'the reply was cancelled'));
      },
    };
  }

  private post(child: ChildProcess, message: LlamaParentMessage): void {
    if (!child.connected) return;
    child.send(message, (error) => {
      if (error && this.child === child) this.fail(`the model process did not take the request: ${error.message}`);
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    this.starts++;
    this.loading = undefined;
    this.stderrTail = [];
    const child = fork(this.entry.file, [], { execArgv: this.entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (data: string) => {
      for (const line of data.split('\n')) if (line.trim()) this.stderrTail.push(line.trim());
      if (this.stderrTail.length > 20) this.stderrTail.splice(0, this.stderrTail.length - 20);
    });
    child.on('message', (message: LlamaWorkerMessage) => this.onMessage(message));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.onExit(code, signal);
        }
        resolve();
      });
    });
    child.on('error', (error) => {
      if (this.child === child) this.fail(`the model process could not start: ${error.message}`);
    });
    return child;
  }

  private onMessage(message: LlamaWorkerMessage): void {
    if (message.type === 'loading') {
      this.loading = message.model;
      this.modelLoads++;
      return;
    }
    if (message.type === 'loaded') {
      this.loading = undefined;
      return;
    }
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.type === 'chunk') return entry.onChunk(message.text);
    this.pending.delete(message.id);
    if (message.type === 'done') entry.onEnd();
    else entry.onEnd(new BrainError(message.code, message.message.split(entry.request.model).join(entry.display)));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const how = `the model process ${signal ? `crashed (signal ${signal})` : `exited (code ${code ?? '?'})`}`;
    const assertion = this.stderrTail.filter((line) => /GGML_ASSERT|error|abort/i.test(line)).pop();
    const detail = assertion ? `: ${assertion.replace(/^.*\/(llama\.cpp|ggml)\//, '')}` : '';
    const loading = this.loading;
    this.loading = undefined;
    const entries = [...this.pending.values()];
    this.pending.clear();
    if (loading) {
      const culprit = entries.find((entry) => entry.request.model === loading);
      if (culprit) this.crashed.set(culprit.crashKey, `${how} loading ${culprit.display}${detail}`);
    }
    for (const entry of entries) {
      const where = loading ? ` loading ${entry.request.model === loading ? entry.display : path.basename(loading)}` : '';
      entry.onEnd(new BrainError('failed', `${how}${where}${detail}`));
    }
  }

  private fail(message: string): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.onEnd(new BrainError('failed', message));
  }

  /** Ends the model process (pending replies fail as cancelled). */
  async stop(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    this.child = undefined;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.onEnd(new BrainError('cancelled', 'the reply was cancelled: the llama brain stopped'));
    if (!child) return;
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  }
}

let shared: { runtime: LlamaRuntime; users: number } | undefined;

/** The node's model process, shared by its llama brains (released by each brain's dispose). */
export function acquireSharedLlamaRuntime(): { runtime: LlamaRuntime; release: () => Promise<void> } {
  shared ??= { runtime: new LlamaRuntime(), users: 0 };
  const holder = shared;
  holder.users++;
  let released = false;
  return {
    runtime: holder.runtime,
    release: async () => {
      if (released) return;
      released = true;
      holder.users--;
      if (holder.users === 0) {
        if (shared === holder) shared = undefined;
        await holder.runtime.stop();
      }
    },
  };
}

export interface LlamaBrainOptions {
  /** The persona's LoRA adapters (from its genomes); paths relative to the persona file or absolute. */
  adapters?: () => Promise<LlamaAdapterSpec[]> | LlamaAdapterSpec[];
  /** A model process of its own (tests); default: the node's shared one. */
  runtime?: LlamaRuntime;
  /** Where `hf:<owner>/<repo>/<file>.gguf` models are downloaded (once, resumable). Without it `hf:` models are unavailable. */
  models?: LlamaModelsOptions;
}

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

/** inspectGguf, its refusals as the brain's own (same code, same words). */
async function inspect(file: string, display: string, kind: 'model' | 'adapter'): Promise<GgufSummary & { key: string }> {
  try {
    return await inspectGguf(file, display, kind);
  } catch (error) {
    throw error instanceof GgufError ? new BrainError(error.code, error.message) : error;
  }
}

interface Prepared {
  request: Omit<LlamaGenerateRequest, 'type' | 'id'>;
  display: string;
  crashKey: string;
}

export class LlamaBrain implements Brain {
  readonly provider: BrainProvider = 'llama';
  private readonly runtime: LlamaRuntime;
  private readonly release: () => Promise<void>;

  constructor(
    private readonly persona: Pick<PersonaDefinition, 'file' | 'brain' | 'systemPrompt'>,
    private readonly options: LlamaBrainOptions = {},
  ) {
    if (options.runtime) {
      this.runtime = options.runtime;
      this.release = () => Promise.resolve();
    } else {
      const acquired = acquireSharedLlamaRuntime();
      this.runtime = acquired.runtime;
      this.release = acquired.release;
    }
  }

  private get config(): BrainConfig {
    return this.persona.brain;
  }

  private resolve(file: string): string {
    return path.resolve(path.dirname(this.persona.file), file);
  }

  /** Checks the model and adapters; returns what the model process needs. */
  private async prepare(signal?: AbortSignal): Promise<Omit<Prepared, 'request'> & { model: string; adapters: LlamaAdapterSpec[] }> {
    const display = this.config.model;
    if (!display) throw new BrainError('missing-model', 'the llama brain has no `model` in the persona file');
    let model: string;
    if (display.startsWith('hf:')) {
      if (!this.options.models) throw new BrainError('unavailable', `${display} needs a models folder to be downloaded into (this node has none): download the .gguf file and give its path`);
      model = await downloadModel(display, this.options.models, signal);
    } else model = this.resolve(display);
    const summary = await inspect(model, display, 'model');
    const crashed = this.runtime.crashedBefore(summary.key);
    if (crashed) throw new BrainError('failed', crashed);
    const adapters: LlamaAdapterSpec[] = [];
    for (const adapter of (await this.options.adapters?.()) ?? []) {
      const file = this.resolve(adapter.path);
      const info = await inspect(file, adapter.path, 'adapter');
      if (info.architecture !== summary.architecture) {
        throw new BrainError('bad-adapter', `the LoRA adapter ${adapter.path} is for ${info.architecture} models, but ${display} is a ${summary.architecture} model`);
      }
      adapters.push({ path: file, scale: adapter.scale });
    }
    return { display, crashKey: summary.key, model, adapters };
  }

  async check(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.config.model?.startsWith('hf:') && this.options.models) return; // downloaded by the first reply
    await this.prepare(signal);
  }

  async *reply(request: BrainRequest): AsyncIterable<string> {
    const { signal } = request;
    throwIfAborted(signal);
    const prepared = await this.prepare(signal);
    throwIfAborted(signal);
    const { systemPrompt, history, prompt } = toChat(request, this.persona.systemPrompt);
    const chunks: string[] = [];
    let ended = false;
    let failure: BrainError | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    const generation = this.runtime.generate(
      {
        model: prepared.model,
        adapters: prepared.adapters,
        contextSize: this.config.contextSize ?? llamaDefaults.contextSize,
        threads: this.config.threads ?? llamaDefaults.threads,
        // A JSON reply cut short is useless: a schema-constrained reply may run past a chatty persona's cap.
        maxTokens: request.jsonSchema ? Math.max(this.config.maxTokens ?? llamaDefaults.maxTokens, llamaDefaults.maxTokens) : (this.config.maxTokens ?? llamaDefaults.maxTokens),
        ...(this.config.seed !== undefined ? { seed: this.config.seed } : {}),
        ...(this.config.temperature !== undefined ? { temperature: this.config.temperature } : {}),
        systemPrompt,
        history,
        prompt,
        ...(request.jsonSchema ? { jsonSchema: request.jsonSchema } : {}),
      },
      prepared.display,
      prepared.crashKey,
      (text) => {
        chunks.push(text);
        notify();
      },
      (error) => {
        ended = true;
        failure = error;
        notify();
      },
    );
    const onAbort = (): void => generation.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (chunks.length) {
          yield chunks.splice(0).join('');
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      throwIfAborted(signal);
      if (failure) throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // The consumer stopped early (or cancelled): stop generating.
      if (!ended) generation.cancel();
    }
  }

  dispose(): Promise<void> {
    return this.release();
  }
}

/** The context window as node-llama-cpp's chat session wants it: system prompt, earlier turns, the prompt. */
export function toChat(request: BrainRequest, fallbackSystemPrompt: string): { systemPrompt: string; history: LlamaGenerateRequest['history']; prompt: string } {
  const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const turns = request.messages.filter((m): m is BrainMessage & { role: 'user' | 'assistant' } => m.role !== 'system');
  let prompt = request.question;
  const last = turns[turns.length - 1];
  if (last?.role === 'user') {
    turns.pop();
    prompt = text(last);
  }
  const history: LlamaGenerateRequest['history'] = [];
  for (const turn of turns) {
    const previous = history[history.length - 1];
    if (previous?.role === turn.role) previous.content += `\n${text(turn)}`;
    else history.push({ role: turn.role, content: text(turn) });
  }
  return { systemPrompt: system.length ? system.join('\n\n') : fallbackSystemPrompt, history, prompt };
}

function text(message: BrainMessage): string {
  return message.role === 'user' && message.name ? `${message.name}: ${message.content}` : message.content;
}

function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim().slice(0, 300);
}
