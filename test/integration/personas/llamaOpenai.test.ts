/**
 * The `openai` brain against a local OpenAI-compatible endpoint (chat completions streamed as
 * SSE, and the models list) whose replies come from the tiny generated llama model through the
 * llama brain's model process: real tokens, not canned text.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersonaDefinition } from '../../../protocol/personas';
import { BrainError, collect, type BrainMessage, type BrainRequest } from '../../../server/src/personas/brains/brain';
import { LlamaBrain, toChat } from '../../../server/src/personas/brains/llama';
import { LlamaRuntime } from '../../../server/src/personas/brains/llamaRuntime';
import { OpenAiBrain } from '../../../server/src/personas/brains/openai';
import { writeTinyFixture, type TinyFixture } from '../../fixtures/gguf/writer';
import { until } from '../../support/until';

interface ChatCompletionBody {
  model: string;
  messages: BrainMessage[];
  stream?: boolean;
  seed?: number;
  temperature?: number;
  max_tokens?: number;
}

/** An OpenAI-compatible endpoint backed by the model process. */
function startEndpoint(runtime: LlamaRuntime, fixture: TinyFixture): Promise<{ server: Server; url: string; cancelled: () => number }> {
  let cancelled = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/models') return json(200, { object: 'list', data: [{ id: 'tiny', object: 'model', created: 0, owned_by: 'test' }] });
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return json(404, { error: { message: 'not found' } });
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw) as ChatCompletionBody;
      if (body.model !== 'tiny') return json(404, { error: { message: `model "${body.model}" not found`, type: 'invalid_request_error' } });
      const request: BrainRequest = { persona: undefined as unknown as PersonaDefinition, messages: body.messages, question: '' };
      const chat = toChat(request, '');
      const id = 'chatcmpl-tiny';
      const created = Math.floor(Date.now() / 1000);
      const chunk = (delta: Record<string, string>, finish: string | null): string =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: 'tiny', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(chunk({ role: 'assistant', content: '' }, null));
      let finished = false;
      const generation = runtime.generate(
        {
          model: fixture.modelPath,
          adapters: [],
          contextSize: 1024,
          threads: 1,
          maxTokens: body.max_tokens ?? 64,
          ...(body.seed !== undefined ? { seed: body.seed } : {}),
          ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
          ...chat,
        },
        'tiny.gguf',
        'endpoint',
        (text) => res.write(chunk({ content: text }, null)),
        (error) => {
          finished = true;
          if (error?.code === 'cancelled') return;
          if (error) res.write(`data: ${JSON.stringify({ error: { message: error.message } })}\n\n`);
          else res.write(chunk({}, 'stop'));
          res.end('data: [DONE]\n\n');
        },
      );
      res.on('close', () => {
        if (!finished) {
          cancelled++;
          generation.cancel();
        }
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, cancelled: () => cancelled })),
  );
}

describe('openai brain against an OpenAI-compatible endpoint backed by the tiny llama model', function () {
  this.timeout(60_000);
  let dir = '';
  let fixture: TinyFixture;
  let runtime: LlamaRuntime;
  let endpoint: { server: Server; url: string; cancelled: () => number };
  let llama: LlamaBrain;

  const request = (signal?: AbortSignal): BrainRequest => ({
    persona: undefined as unknown as PersonaDefinition,
    messages: [
      { role: 'system', content: 'You are a tiny test model.' },
      { role: 'user', content: 'hi', name: 'ada' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'hello mesh', name: 'ada' },
    ],
    question: 'hello mesh',
    ...(signal ? { signal } : {}),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pm-llama-openai-'));
    fixture = writeTinyFixture(dir);
    runtime = new LlamaRuntime();
    endpoint = await startEndpoint(runtime, fixture);
    llama = new LlamaBrain(
      { file: join(dir, 'tiny.persona.md'), systemPrompt: '', brain: { provider: 'llama', model: 'tiny.gguf', seed: 42, temperature: 0.8, maxTokens: 24 } },
      { runtime },
    );
  });

  after(async () => {
    endpoint.server.closeAllConnections();
    await new Promise<void>((resolve) => endpoint.server.close(() => resolve()));
    await llama.dispose();
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const persona = (model = 'tiny'): OpenAiBrain => new OpenAiBrain({ config: { provider: 'openai', model, baseUrl: endpoint.url, seed: 42, temperature: 0.8, maxTokens: 24 } });

  it('streams the model’s reply over SSE: the same text as the llama brain with the same seed', async () => {
    const chunks: string[] = [];
    for await (const chunk of persona().reply(request())) chunks.push(chunk);
    assert.ok(chunks.length > 1, 'streamed in several chunks');
    const direct = await collect(llama.reply(request()));
    assert.ok(direct.length > 0);
    assert.equal(chunks.join(''), direct);
    assert.equal(await collect(persona().reply(request())), direct, 'deterministic with a seed');
  });

  it('lists the model (check) and reports a model the endpoint does not have', async () => {
    await persona().check();
    await assert.rejects(persona('nope').check(), (e: unknown) => e instanceof BrainError && e.code === 'missing-model');
    await assert.rejects(collect(persona('nope').reply(request())), (e: unknown) => e instanceof BrainError && e.code === 'missing-model');
  });

  it('cancelling the request stops the generation in the model process', async () => {
    const controller = new AbortController();
    const brain = new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: endpoint.url, temperature: 1, maxTokens: 1000 } });
    await assert.rejects(
      (async () => {
        for await (const _chunk of brain.reply(request(controller.signal))) controller.abort();
      })(),
      (e: unknown) => e instanceof BrainError && e.code === 'cancelled',
    );
    await until('the model process to stop the generation', () => (endpoint.cancelled() > 0 ? true : undefined), 5000);
    assert.equal(endpoint.cancelled(), 1);
    // The model process is free again.
    assert.ok((await collect(persona().reply(request()))).length > 0);
  });
});
