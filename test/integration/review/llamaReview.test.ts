/**
 * Review with the `llama` brain for real: the tiny generated model in node-llama-cpp's model
 * process, held to the review JSON schema by a grammar. The model is random, so what it says is
 * noise; what is tested is that its reply is valid JSON of the schema on the first attempt, where
 * the same model without the grammar does not produce JSON at all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../../../server/src/personas/brains/brain';
import { LlamaBrain } from '../../../server/src/personas/brains/llama';
import { LlamaRuntime } from '../../../server/src/personas/brains/llamaRuntime';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import { extractJson } from '../../../server/src/review/parse';
import { reviewMessages, reviewQuestion } from '../../../server/src/review/prompt';
import { reviewWith } from '../../../server/src/review/reviewer';
import { writeTinyFixture } from '../../fixtures/gguf/writer';

describe('review with the llama brain (tiny model, JSON schema grammar)', function () {
  this.timeout(120_000);
  let dir = '';
  let runtime: LlamaRuntime;
  let brain: LlamaBrain;
  let persona: PersonaDefinition;
  const input = { path: 'a.js', language: 'javascript', code: 'var a = 1;\nif (a == 2) b();', firstLine: 1 };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-llama-review-'));
    writeTinyFixture(dir);
    runtime = new LlamaRuntime();
    persona = {
      id: 'tiny',
      name: 'Tiny',
      brain: { provider: 'llama', model: 'tiny.gguf', seed: 7, temperature: 0.8, maxTokens: 700, contextSize: 1024, threads: 1 },
      capabilities: [],
      triggers: [],
      rooms: {},
      participation: defaultParticipation,
      genomes: [],
      knowledge: [],
      systemPrompt: 'Review.',
      file: join(dir, 'tiny.persona.md'),
    };
    brain = new LlamaBrain(persona, { runtime });
  });

  after(async () => {
    await brain.dispose();
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without the grammar the tiny model does not answer JSON', async () => {
    const text = await collect(brain.reply({ persona, messages: reviewMessages(persona, input), question: reviewQuestion(input) }));
    assert.throws(() => extractJson(text), /not JSON|empty/);
  });

  it('with the grammar its reply is review JSON on the first attempt; comments outside the code are dropped with a reason', async () => {
    const output = await reviewWith({ brainFor: () => ({ persona, brain }) }, 'tiny', input);
    assert.equal(output.attempts, 1);
    for (const comment of output.comments) {
      assert.ok(comment.startLine >= 1 && comment.endLine <= 2 && comment.startLine <= comment.endLine, JSON.stringify(comment));
      assert.ok(['error', 'warning', 'info'].includes(comment.severity));
    }
    for (const reason of output.dropped) assert.match(reason, /^comment \d+: /);
  });
});
