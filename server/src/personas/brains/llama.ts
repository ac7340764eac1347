/**
 * The `llama` brain: a local GGUF model through node-llama-cpp, run in the node's shared model
 * process (llamaRuntime.ts), in it one model instance per file. LoRA adapters (from the persona's
 * genomes) are applied when the reply's context is created, each with its scale. `hf:` models are
 * downloaded first (modelDownload.ts).
 *
 * Before llama.cpp opens anything, the files are checked in pure JS (models/gguf.ts), so the
 * common mistakes get their own one-line error: missing model file, not a GGUF file, corrupt
 * GGUF, an adapter instead of a model, not a LoRA adapter, adapter for another architecture.
 */
import * as path from 'node:path';
import type { BrainConfig, BrainProvider, PersonaDefinition } from '../../../../protocol/personas';
import { BrainError, throwIfAborted, type Brain, type BrainMessage, type BrainRequest } from './brain';
import { GgufError, inspectGguf, type GgufSummary } from '../../models/gguf';
import type { LlamaAdapterSpec } from '../../models/loraAdapter';
import { acquireSharedLlamaRuntime, type LlamaRuntime } from './llamaRuntime';
import type { LlamaGenerateRequest } from './llamaWorkerProtocol';
import { downloadModel, type LlamaModelsOptions } from './modelDownload';

export const llamaDefaults = { contextSize: 4096, threads: 1, maxTokens: 512 };

export interface LlamaBrainOptions {
  /** The persona's LoRA adapters (from its genomes); paths relative to the persona file or absolute. */
  adapters?: () => Promise<LlamaAdapterSpec[]> | LlamaAdapterSpec[];
  /** A model process of its own (tests); default: the node's shared one. */
  runtime?: LlamaRuntime;
  /** Where `hf:<owner>/<repo>/<file>.gguf` models are downloaded (once, resumable). Without it `hf:` models are unavailable. */
  models?: LlamaModelsOptions;
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
