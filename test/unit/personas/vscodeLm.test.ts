/** The vscode-lm brain over a real JSON-RPC connection, with a fake client standing in for vscode.lm. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import { BrainError, collect } from '../../../server/src/personas/brains/brain';
import { LanguageModelBridge, VscodeLmBrain } from '../../../server/src/personas/brains/vscodeLm';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';
import {
  LanguageModelCancelNotification,
  LanguageModelChatRequest,
  LanguageModelChunkNotification,
  type LanguageModelChatParams,
} from '../../../protocol/personas';
import { until } from '../../support/until';

const persona = parsePersonaFile('---\nid: lm\nbrain:\n  provider: vscode-lm\n  model: gpt-4o\n---\nBe kind.\n', { file: '/lm.persona.md' }).persona!;

describe('vscode-lm brain (through the client)', () => {
  let client: MessageConnection;
  let bridge: LanguageModelBridge;
  let asked: LanguageModelChatParams[];
  let cancelled: string[];

  beforeEach(() => {
    asked = [];
    cancelled = [];
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(toServer, toClient);
    bridge = new LanguageModelBridge(server);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    // The fake editor: "gpt-4o" streams the words of the last message back; "none" is not installed; "hang" never ends.
    client.onRequest(LanguageModelChatRequest.type, (params) => {
      asked.push(params);
      if (params.model === 'none') throw new ResponseError(1, 'no model matches "none"');
      const send = (p: { text: string; done?: boolean; error?: string }) => void client.sendNotification(LanguageModelChunkNotification.type, { requestId: params.requestId, ...p });
      setImmediate(() => {
        if (params.model === 'hang') return send({ text: 'partial' });
        if (params.model === 'broken') return send({ text: 'half', error: 'quota exceeded' });
        const words = params.messages.at(-1)!.content.split(' ');
        for (const word of words) send({ text: `${word}.` });
        send({ text: '', done: true });
      });
      return { model: params.model ?? 'default' };
    });
    client.onNotification(LanguageModelCancelNotification.type, ({ requestId }) => cancelled.push(requestId));
    client.listen();
  });

  afterEach(() => {
    bridge.dispose();
    client.dispose();
  });

  it('streams the editor model\'s reply', async () => {
    const brain = new VscodeLmBrain(persona.brain, bridge);
    const parts: string[] = [];
    for await (const part of brain.reply({ persona, question: 'q', messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'hello there', name: 'Ann' }] })) parts.push(part);
    assert.deepEqual(parts, ['Ann:.', 'hello.', 'there.']);
    assert.equal(asked[0]!.model, 'gpt-4o');
    assert.deepEqual(asked[0]!.messages[0], { role: 'system', content: 'Be kind.' });
  });

  it('fails with the reason: no model, a failing model, a headless node', async () => {
    const ask = (brain: VscodeLmBrain) => collect(brain.reply({ persona, question: 'q', messages: [{ role: 'user', content: 'x' }] }));
    await assert.rejects(ask(new VscodeLmBrain({ provider: 'vscode-lm', model: 'none' }, bridge)), (e: unknown) => e instanceof BrainError && e.code === 'unavailable' && /no model matches "none"/.test(e.message));
    await assert.rejects(ask(new VscodeLmBrain({ provider: 'vscode-lm', model: 'broken' }, bridge)), (e: unknown) => e instanceof BrainError && /quota exceeded/.test(e.message));
    await assert.rejects(ask(new VscodeLmBrain({ provider: 'vscode-lm' }, undefined)), (e: unknown) => e instanceof BrainError && /headless/.test(e.message));
  });

  it('cancels: tells the client and stops', async () => {
    const brain = new VscodeLmBrain({ provider: 'vscode-lm', model: 'hang' }, bridge);
    const controller = new AbortController();
    const parts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of brain.reply({ persona, question: 'q', messages: [{ role: 'user', content: 'x' }], signal: controller.signal })) {
          parts.push(part);
          setImmediate(() => controller.abort());
        }
      })(),
      (e: unknown) => e instanceof BrainError && e.code === 'cancelled',
    );
    assert.deepEqual(parts, ['partial']);
    await until('the cancel notification at the client', () => (cancelled.length > 0 ? true : undefined), 5000);
    // A later request on the same connection reaches the client after any further cancel sent before it: once only.
    await collect(new VscodeLmBrain(persona.brain, bridge).reply({ persona, question: 'q', messages: [{ role: 'user', content: 'after' }] }));
    assert.equal(asked.length, 2);
    assert.deepEqual(cancelled, [asked[0]!.requestId]);
  });
});
