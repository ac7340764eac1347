/**
 * The `openai` brain: any OpenAI-compatible chat-completions endpoint (Ollama, LM Studio,
 * llama.cpp server, vLLM, OpenAI) through the `openai` package, streamed (SSE) and cancellable.
 * Failures become BrainErrors with one line for the user: `unreachable` (connection refused,
 * timeout), `missing-model` (404), `unavailable` (401/403: the API key), `failed` (other).
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { BrainConfig, BrainProvider } from '../../../../protocol/personas';
import { BrainError, throwIfAborted, type Brain, type BrainRequest } from './brain';

export const defaultOpenAiBaseUrl = 'https://api.openai.com/v1';

export interface OpenAiBrainOptions {
  config: BrainConfig;
  /** The API key (from SecretStorage through the client); endpoints such as Ollama accept any. */
  apiKey?: () => Promise<string | undefined> | string | undefined;
  /** Replaces global fetch (tests). */
  fetch?: typeof fetch;
}

export class OpenAiBrain implements Brain {
  readonly provider: BrainProvider = 'openai';
  private readonly baseURL: string;

  constructor(private readonly options: OpenAiBrainOptions) {
    this.baseURL = (options.config.baseUrl ?? defaultOpenAiBaseUrl).replace(/\/+$/, '');
  }

  async *reply(request: BrainRequest): AsyncIterable<string> {
    throwIfAborted(request.signal);
    const { config } = this.options;
    if (!config.model) throw new BrainError('missing-model', 'the openai brain has no `model` in the persona file');
    const apiKey = (await this.options.apiKey?.()) || 'not-needed';
    const timeoutMs = (config.timeoutSeconds ?? 120) * 1000;
    const client = new OpenAI({ baseURL: this.baseURL, apiKey, timeout: timeoutMs, maxRetries: 0, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) });
    const messages = request.messages.map((m) =>
      m.role === 'user' && m.name ? { role: 'user' as const, content: `${m.name}: ${m.content}` } : { role: m.role, content: m.content },
    );
    try {
      const stream = await client.chat.completions.create(
        {
          model: config.model,
          messages,
          stream: true,
          ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
          ...(config.maxTokens !== undefined ? { max_tokens: config.maxTokens } : {}),
          ...(config.seed !== undefined ? { seed: config.seed } : {}),
        },
        { signal: request.signal },
      );
      for await (const chunk of stream) {
        throwIfAborted(request.signal);
        const text = chunk.choices[0]?.delta?.content;
        if (text) yield text;
      }
      // An aborted stream may just end: that is still a cancellation.
      throwIfAborted(request.signal);
    } catch (error) {
      throw this.translate(error, request.signal);
    }
  }

  /** Lists the endpoint's models: reachable, key accepted, and the model present. */
  async check(signal?: AbortSignal): Promise<void> {
    const { config } = this.options;
    if (!config.model) throw new BrainError('missing-model', 'the openai brain has no `model` in the persona file');
    const apiKey = (await this.options.apiKey?.()) || 'not-needed';
    const client = new OpenAI({ baseURL: this.baseURL, apiKey, timeout: 10_000, maxRetries: 0, ...(this.options.fetch ? { fetch: this.options.fetch } : {}) });
    try {
      const ids: string[] = [];
      for await (const model of client.models.list({ signal })) ids.push(model.id);
      if (ids.length > 0 && !ids.includes(config.model)) throw new BrainError('missing-model', `${this.baseURL} has no model "${config.model}" (it has ${ids.slice(0, 5).join(', ')})`);
    } catch (error) {
      throw this.translate(error, signal);
    }
  }

  private translate(error: unknown, signal: AbortSignal | undefined): BrainError {
    if (error instanceof BrainError) return error;
    if (error instanceof APIUserAbortError || signal?.aborted) return new BrainError('cancelled', 'the reply was cancelled');
    if (error instanceof APIConnectionError) return new BrainError('unreachable', `${this.baseURL} is unreachable: ${oneLine(error.message)}`);
    if (error instanceof APIError) {
      const status = error.status as number | undefined;
      const detail = oneLine(error.message);
      if (status === 404) return new BrainError('missing-model', `${this.baseURL} has no model "${this.options.config.model ?? ''}" (${detail})`);
      if (status === 401 || status === 403) return new BrainError('unavailable', `${this.baseURL} refused the API key (${status}): set it with Persona Mesh: Set API Key`);
      return new BrainError('failed', `${this.baseURL} answered ${status ?? 'an error'}: ${detail}`);
    }
    return new BrainError('failed', `the openai brain failed: ${oneLine(error instanceof Error ? error.message : String(error))}`);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
