/**
 * The `vscode-lm` brain: the editor's own language models (`vscode.lm`), which only the client can
 * reach. The server asks with `mesh/personas/lm/chat`; the client streams the text back with
 * `mesh/personas/lm/chunk` notifications; a cancelled reply sends `mesh/personas/lm/cancel`.
 * A headless node has no bridge: the brain fails with a reason the persona shows as degraded.
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import {
  LanguageModelCancelNotification,
  LanguageModelChatRequest,
  LanguageModelChunkNotification,
  type BrainConfig,
  type BrainProvider,
} from '../../../../protocol/personas';
import { BrainError, throwIfAborted, type Brain, type BrainMessage, type BrainRequest } from './brain';

export type LanguageModelConnection = Pick<Connection, 'sendRequest' | 'sendNotification' | 'onNotification'>;

interface Pending {
  chunks: string[];
  done: boolean;
  error?: string;
  wake?: () => void;
}

/** One per client connection: routes streamed chunks to the reply that asked for them. */
export class LanguageModelBridge {
  private readonly pending = new Map<string, Pending>();
  private readonly subscription: Disposable;
  private counter = 0;

  constructor(private readonly connection: LanguageModelConnection) {
    this.subscription = connection.onNotification(LanguageModelChunkNotification.type, ({ requestId, text, done, error }) => {
      const entry = this.pending.get(requestId);
      if (!entry) return;
      if (typeof text === 'string' && text) entry.chunks.push(text);
      if (error) entry.error = String(error).slice(0, 300);
      if (done || error) entry.done = true;
      entry.wake?.();
    });
  }

  async *chat(model: string | undefined, messages: BrainMessage[], signal?: AbortSignal): AsyncIterable<string> {
    throwIfAborted(signal);
    const requestId = `lm-${process.pid}-${++this.counter}`;
    const entry: Pending = { chunks: [], done: false };
    this.pending.set(requestId, entry);
    const onAbort = () => {
      void this.connection.sendNotification(LanguageModelCancelNotification.type, { requestId }).catch(() => undefined);
      entry.wake?.();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        await this.connection.sendRequest(LanguageModelChatRequest.type, {
          requestId,
          ...(model ? { model } : {}),
          messages: messages.map((m) => ({ role: m.role, content: m.role === 'user' && m.name ? `${m.name}: ${m.content}` : m.content })),
        });
      } catch (error) {
        throw new BrainError('unavailable', `the editor's language model is not available: ${(error as Error).message.split('\n')[0]}`);
      }
      for (;;) {
        throwIfAborted(signal);
        const chunk = entry.chunks.shift();
        if (chunk !== undefined) {
          yield chunk;
          continue;
        }
        if (entry.error) throw new BrainError('failed', `the editor's language model failed: ${entry.error}`);
        if (entry.done) return;
        await new Promise<void>((resolve) => (entry.wake = resolve));
        entry.wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.pending.delete(requestId);
    }
  }

  dispose(): void {
    this.subscription.dispose();
    for (const entry of this.pending.values()) {
      entry.error ??= 'the connection to VS Code closed';
      entry.wake?.();
    }
  }
}

export class VscodeLmBrain implements Brain {
  readonly provider: BrainProvider = 'vscode-lm';

  constructor(private readonly config: BrainConfig, private readonly bridge: LanguageModelBridge | undefined) {}

  async *reply(request: BrainRequest): AsyncIterable<string> {
    if (!this.bridge) throw new BrainError('unavailable', 'the vscode-lm brain needs VS Code: this node runs headless');
    yield* this.bridge.chat(this.config.model, request.messages, request.signal);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
