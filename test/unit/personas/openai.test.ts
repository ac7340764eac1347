/**
 * The openai brain against a local HTTP server that speaks the chat-completions protocol with
 * streaming (SSE). The server's "model" answers from the prompt (it reverses the words of the
 * last user message), so the test sees the prompt go through, not canned text.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrainError, collect } from '../../../server/src/personas/brains/brain';
import { createBrainFactory } from '../../../server/src/personas/brains';
import { OpenAiBrain } from '../../../server/src/personas/brains/openai';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';

const persona = parsePersonaFile('---\nid: oracle\nbrain:\n  provider: openai\n  model: tiny\n---\nYou are terse.\n', { file: '/o.persona.md' }).persona!;

interface Seen {
  model: string;
  messages: { role: string; content: string }[];
  stream: boolean;
  seed?: number;
  auth?: string;
}

function startServer(seen: Seen[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: ['tiny', 'slow'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      const request = JSON.parse(body) as Seen;
      seen.push({ ...request, auth: req.headers.authorization });
      if (req.headers.authorization === 'Bearer wrong') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'bad key', type: 'auth' } }));
        return;
      }
      if (request.model !== 'tiny' && request.model !== 'slow') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `model "${request.model}" not found`, type: 'not_found' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
        res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      const last = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      const words = last.split(/\s+/).filter(Boolean).reverse();
      chunk({ role: 'assistant', content: '' });
      if (request.model === 'slow') {
        chunk({ content: 'thinking' });
        return; // never finishes: the client must cancel
      }
      for (const [i, word] of words.entries()) chunk({ content: i === 0 ? word : ` ${word}` });
      chunk({}, 'stop');
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })));
}

function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('openai brain (local chat-completions server, streaming)', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];

  before(async () => {
    ({ server, url } = await startServer(seen));
  });
  after(() => stopServer(server));
  beforeEach(() => (seen.length = 0));

  it('streams the reply and sends the prompt, options and key', async () => {
    const brain = new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: url, seed: 7, temperature: 0 }, apiKey: () => 'sk-test' });
    const parts: string[] = [];
    for await (const part of brain.reply({ persona, question: 'x', messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'one two three', name: 'Ann' }] })) parts.push(part);
    assert.deepEqual(parts, ['three', ' two', ' one', ' Ann:'], 'the user name prefixes the content');
    assert.equal(seen[0]!.model, 'tiny');
    assert.equal(seen[0]!.stream, true);
    assert.equal(seen[0]!.seed, 7);
    assert.equal(seen[0]!.auth, 'Bearer sk-test');
    assert.deepEqual(seen[0]!.messages[0], { role: 'system', content: 'You are terse.' });
  });

  it('turns failures into specific BrainErrors: unknown model, bad key, endpoint down', async () => {
    const ask = (brain: OpenAiBrain) => collect(brain.reply({ persona, question: 'q', messages: [{ role: 'user', content: 'q' }] }));
    await assert.rejects(ask(new OpenAiBrain({ config: { provider: 'openai', model: 'huge', baseUrl: url } })), (e: unknown) => e instanceof BrainError && e.code === 'missing-model' && /has no model "huge"/.test(e.message));
    await assert.rejects(ask(new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: url }, apiKey: () => 'wrong' })), (e: unknown) => e instanceof BrainError && e.code === 'unavailable' && /refused the API key \(401\)/.test(e.message));
    const closed = await startServer([]);
    await stopServer(closed.server);
    await assert.rejects(ask(new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: closed.url } })), (e: unknown) => e instanceof BrainError && e.code === 'unreachable' && e.message.startsWith(`${closed.url} is unreachable`));
    await assert.rejects(ask(new OpenAiBrain({ config: { provider: 'openai', baseUrl: url } })), (e: unknown) => e instanceof BrainError && e.code === 'missing-model');
  });

  it('stops a reply in the middle when cancelled', async () => {
    const brain = new OpenAiBrain({ config: { provider: 'openai', model: 'slow', baseUrl: url } });
    const controller = new AbortController();
    const parts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of brain.reply({ persona, question: 'q', messages: [{ role: 'user', content: 'q' }], signal: controller.signal })) {
          parts.push(part);
          controller.abort();
        }
      })(),
      (e: unknown) => e instanceof BrainError && e.code === 'cancelled',
    );
    assert.deepEqual(parts, ['thinking']);
  });

  it('checks the endpoint and the model without asking a question', async () => {
    await new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: url } }).check();
    await assert.rejects(new OpenAiBrain({ config: { provider: 'openai', model: 'huge', baseUrl: url } }).check(), (e: unknown) => e instanceof BrainError && e.code === 'missing-model' && /it has tiny, slow/.test(e.message));
    const closed = await startServer([]);
    await stopServer(closed.server);
    await assert.rejects(new OpenAiBrain({ config: { provider: 'openai', model: 'tiny', baseUrl: closed.url } }).check(), (e: unknown) => e instanceof BrainError && e.code === 'unreachable');
  });

  it('is what the factory makes for an openai persona', async () => {
    const make = createBrainFactory({ workspaceFolders: () => [], apiKey: () => 'k' });
    const brain = make({ ...persona, brain: { provider: 'openai', model: 'tiny', baseUrl: url } });
    assert.equal(await collect(brain.reply({ persona, question: 'q', messages: [{ role: 'user', content: 'a b' }] })), 'b a');
  });
});
