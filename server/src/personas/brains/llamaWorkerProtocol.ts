/**
 * Messages between the `llama` brain (parent) and the model process (llamaWorker), over the
 * node:child_process IPC channel. One worker per node; models are shared by file path in it.
 */

import type { LlamaAdapterSpec } from '../../models/loraAdapter';

export interface LlamaGenerateRequest {
  type: 'generate';
  id: number;
  /** Absolute path of the GGUF model. */
  model: string;
  adapters: LlamaAdapterSpec[];
  contextSize: number;
  threads: number;
  seed?: number;
  temperature?: number;
  maxTokens: number;
  systemPrompt: string;
  /** Earlier turns, oldest first. */
  history: { role: 'user' | 'assistant'; content: string }[];
  prompt: string;
  /** Constrain the reply to JSON matching this schema (node-llama-cpp's JSON-schema grammar). */
  jsonSchema?: Record<string, unknown>;
}

export type LlamaParentMessage = LlamaGenerateRequest | { type: 'cancel'; id: number };

export type LlamaWorkerMessage =
  /** The worker starts loading a model (a crash from now on is a crash loading it). */
  | { type: 'loading'; id: number; model: string }
  | { type: 'loaded'; id: number; model: string }
  | { type: 'chunk'; id: number; text: string }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; code: 'cancelled' | 'missing-model' | 'bad-adapter' | 'failed'; message: string };
