/**
 * The `llama` brain's model process (llamaWorker.ts): llama.cpp runs in a child process because a
 * malformed model can abort it; the node survives, the reply fails with "the model process crashed
 * (signal SIGABRT) loading X", that model file then fails fast, and the next reply starts a new
 * model process. One model process per node, shared by every llama persona.
 *
 * This file must stay next to llamaWorker.ts: defaultWorkerEntry finds the worker beside
 * `__filename`, both from source (tsx) and in the bundle (server/out/llamaWorker.js).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { BrainError } from './brain';
import type { LlamaGenerateRequest, LlamaParentMessage, LlamaWorkerMessage } from './llamaWorkerProtocol';

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
