import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrainError, type Brain, type BrainRequest } from '../../../server/src/personas/brains/brain';
import { LibrarianBrain } from '../../../server/src/personas/brains/librarian';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import type { ReviewInput } from '../../../protocol/review';
import { ServiceError } from '../../../protocol/errors';
import { checkReviewInput, reviewWith, type ReviewBrains } from '../../../server/src/review/reviewer';
import { maxRemoteReviews, registerReviewRemoteMethod } from '../../../server/src/review/rpcHandlers';
import { useTempDir } from '../../support/tempDir';

const persona = (provider: PersonaDefinition['brain']['provider']): PersonaDefinition => ({
  id: 'critic',
  name: 'Critic',
  brain: { provider },
  capabilities: [],
  triggers: [],
  rooms: {},
  participation: defaultParticipation,
  genomes: [],
  knowledge: [],
  systemPrompt: 'You are a strict reviewer.',
  file: '/nowhere/critic.persona.md',
});

/** Stands in for a cloud model (an openai endpoint cannot exist here): replies from a script, records each request. */
class ScriptedCloudBrain implements Brain {
  readonly provider = 'openai' as const;
  readonly requests: BrainRequest[] = [];
  constructor(private readonly replies: (string | Error)[]) {}
  async *reply(request: BrainRequest): AsyncIterable<string> {
    this.requests.push(request);
    await Promise.resolve();
    const next = this.replies.shift() ?? '';
    if (next instanceof Error) throw next;
    yield next;
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

const input: ReviewInput = { path: 'src/a.ts', language: 'typescript', code: 'var total = 0;\nif (total == 1) log();', firstLine: 5 };
const brains = (brain: Brain, definition = persona(brain.provider)): ReviewBrains => ({ brainFor: (id) => (id === definition.id ? { persona: definition, brain } : undefined) });

describe('review: running a persona\'s brain', () => {
  const tmp = useTempDir('pm-review-');

  it('asks with the numbered code and the JSON schema; valid JSON takes one attempt (scripted stand-in for a cloud model)', async () => {
    const brain = new ScriptedCloudBrain([JSON.stringify({ comments: [{ startLine: 6, endLine: 6, severity: 'warning', message: 'strict equality', replacement: 'if (total === 1) log();' }] })]);
    const output = await reviewWith(brains(brain), 'critic', input);
    assert.equal(output.attempts, 1);
    assert.deepEqual(output.comments, [{ startLine: 6, endLine: 6, severity: 'warning', message: 'strict equality', replacement: 'if (total === 1) log();' }]);
    const request = brain.requests[0]!;
    assert.ok(request.jsonSchema, 'the schema goes to the brain (a grammar for llama)');
    assert.match(request.messages.at(-1)!.content, /5\| var total = 0;\n6\| if \(total == 1\) log\(\);/);
    assert.match(request.messages[0]!.content, /strict reviewer/);
  });

  it('an unusable reply is asked again once with the problem; a second one fails with a clear message (scripted stand-in)', async () => {
    const brain = new ScriptedCloudBrain(['Looks fine to me!', '{"comments": []}']);
    const output = await reviewWith(brains(brain), 'critic', input);
    assert.equal(output.attempts, 2);
    assert.deepEqual(output.comments, []);
    const retry = brain.requests[1]!.messages;
    assert.equal(retry.at(-2)!.content, 'Looks fine to me!');
    assert.match(retry.at(-1)!.content, /could not be used: the reply is not JSON/);

    const stubborn = new ScriptedCloudBrain(['no', 'still no']);
    await assert.rejects(reviewWith(brains(stubborn), 'critic', input), (e: unknown) => e instanceof ServiceError && /did not answer with a usable review twice \(the reply is not JSON\)/.test(e.message));
    assert.equal(stubborn.requests.length, 2);
  });

  it('a brain failure and an unknown persona are refusals with the reason', async () => {
    const failing = new ScriptedCloudBrain([new BrainError('unreachable', 'http://localhost:9 is not reachable')]);
    await assert.rejects(reviewWith(brains(failing), 'critic', input), /Critic could not review: http:\/\/localhost:9 is not reachable/);
    await assert.rejects(reviewWith(brains(failing), 'someone', input), /not hosted on this node/);
  });

  it('the librarian reviews without a model: fixes for loose equality, var and trailing spaces, and pointers from its index', async () => {
    const root = tmp.path;
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'totals.ts'), 'export function computeTotal(items: number[]): number {\n  return items.reduce((a, b) => a + b, 0);\n}\n');
    const code = "var sum = computeTotal(items);  \nif (sum == 0) console.log('empty');\nconst label = 'a == b';";
    const brain = new LibrarianBrain({ roots: [root] });
    const output = await reviewWith(brains(brain, persona('librarian')), 'critic', { path: 'src/main.ts', language: 'typescript', code, firstLine: 1 });
    assert.equal(output.attempts, 1);
    const byLine = output.comments.filter((c) => c.replacement !== undefined).map((c) => [c.startLine, c.replacement]);
    assert.deepEqual(byLine, [
      [1, 'let sum = computeTotal(items);  '],
      [2, "if (sum === 0) console.log('empty');"],
    ]);
    const pointer = output.comments.find((c) => /computeTotal/.test(c.message));
    assert.ok(pointer, JSON.stringify(output.comments));
    assert.match(pointer.message, /src\/totals\.ts:1/);
    assert.ok(!output.comments.some((c) => c.startLine === 3 && c.severity === 'warning'), 'a == inside a string is not code');
  });
});

describe('review: the remote command review.run', () => {
  it('is allowed for every peer, checks its input, and runs at most two reviews for peers at once', async () => {
    let handler: ((params: unknown) => unknown) | undefined;
    const allowed: [string, readonly string[]][] = [];
    const releases: (() => void)[] = [];
    /** Stands in for a slow local model: each reply waits until the test releases it. */
    const slow: Brain = {
      provider: 'llama',
      async *reply() {
        await new Promise<void>((resolve) => releases.push(resolve));
        yield '{"comments":[]}';
      },
      dispose: () => Promise.resolve(),
    };
    registerReviewRemoteMethod({ registerMethod: (_name, h) => (handler = h), allowMethods: (node, methods) => allowed.push([node, methods]) }, () => brains(slow, persona('llama')));
    assert.deepEqual(allowed, [['*', ['review.run']]]);
    const call = (params: unknown) => Promise.resolve(handler!(params));
    await assert.rejects(call({ personaId: 'critic', path: 'a', language: 'js', code: '', firstLine: 1 }), /no code to review/);
    await assert.rejects(call({ path: 'a' }), /personaId is missing/);
    const running = Array.from({ length: maxRemoteReviews }, () => call({ personaId: 'critic', ...input }));
    await assert.rejects(call({ personaId: 'critic', ...input }), /busy with 2 reviews/);
    while (releases.length < maxRemoteReviews) await new Promise((resolve) => setImmediate(resolve));
    for (const release of releases.splice(0)) release();
    for (const output of await Promise.all(running)) assert.deepEqual(output, { comments: [], dropped: [], attempts: 1 });
  });
});

describe('review: checking the input', () => {
  it('refuses more code than a review takes, with both sizes in characters', () => {
    assert.throws(
      () => checkReviewInput({ ...input, code: 'x'.repeat(24_001) }),
      (error: unknown) => error instanceof ServiceError && error.code === 'too-large' && error.message === 'the code is 24,001 characters; the limit is 24,000 characters (select a part)',
    );
  });
});
