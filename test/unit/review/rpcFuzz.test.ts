import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CancellationTokenSource, ResponseError } from 'vscode-languageserver';
import type { Brain } from '../../../server/src/personas/brains/brain';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import { reviewOutcomes } from '../../../protocol/review';
import { registerReviewHandlers, type ReviewNode } from '../../../server/src/review/rpcHandlers';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { AcademyMesh } from '../academy/support';

const critic: PersonaDefinition = {
  id: 'critic',
  name: 'Critic',
  brain: { provider: 'openai' },
  capabilities: [],
  triggers: [],
  rooms: {},
  participation: defaultParticipation,
  genomes: [],
  knowledge: [],
  systemPrompt: 'You are a strict reviewer.',
  file: '/nowhere/critic.persona.md',
};

/** A brain whose replies come round from a list: a good review, an empty one, prose, a comment off the code. */
function roundRobinBrain(): Brain {
  const replies = ['{"comments":[{"startLine":1,"endLine":1,"severity":"warning","message":"m","replacement":"x"}]}', '{"comments":[]}', 'no JSON here', '{"comments":[{"startLine":900,"endLine":901,"severity":"info","message":"m"}]}'];
  let next = 0;
  return {
    provider: 'openai',
    async *reply() {
      await Promise.resolve();
      yield replies[next++ % replies.length]!;
    },
    dispose: () => Promise.resolve(),
  };
}

describe('review/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  let mesh: AcademyMesh | undefined;
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  it('for any params, plausible or not (and any answer from the node hosting a persona)', async () => {
    mesh = new AcademyMesh();
    const academyNode = await mesh.add();
    const brain = roundRobinBrain();
    const answers: unknown[] = [null, 'x', { comments: 'x' }, { comments: [{}], dropped: [7], attempts: 'x' }, { comments: [] }];
    let calls = 0;
    const node: ReviewNode = {
      nodeId: 'A',
      brains: { brainFor: (id) => (id === 'critic' ? { persona: critic, brain } : undefined) },
      personaName: (key) => (key === 'A/critic' ? 'Critic' : undefined),
      academy: academyNode.academy,
      call: () => (calls++ % 3 === 0 ? Promise.reject(new Error('timed out')) : Promise.resolve(answers[calls % answers.length])),
    };
    const fake = fakeConnection();
    const registration = registerReviewHandlers(fake.connection, () => node);
    const code = fc.oneof(fc.constant('let a = 1;\nlet b = 2;'), fc.string(), fc.constant('c'.repeat(25_000)));
    const input = fc.record({ path: fc.oneof(fc.constant('src/a.ts'), fc.string()), language: fc.constantFrom('typescript', ''), code, firstLine: fc.oneof(fc.constant(1), fc.integer(), fc.double()) }, { requiredKeys: [] });
    const personaKey = fc.constantFrom('A/critic', 'A/nobody', 'B/critic', 'A/', '/critic', 'critic');
    const personaRef = fc.oneof(fc.constant({ nodeId: 'A', personaId: 'critic', name: 'Critic' }), fc.record({ nodeId: fc.string(), personaId: fc.string(), name: fc.string() }, { requiredKeys: [] }));
    const comment = fc.record({ startLine: fc.integer({ min: -1, max: 3 }), endLine: fc.integer({ min: -1, max: 3 }), severity: fc.constantFrom('info', 'warning', 'error', 'nope'), message: fc.string(), replacement: fc.string() }, { requiredKeys: [] });
    const common = { reviewId: fc.constantFrom('r1', '', 'r'.repeat(100)), persona: personaRef, index: fc.oneof(fc.nat(30), fc.integer(), fc.double()) };
    try {
      await fuzzHandlers(fake, {
        'mesh/review/run': fc.oneof(
          paramsOf({ persona: personaKey, path: fc.constant('src/a.ts'), language: fc.constant('typescript'), code, firstLine: fc.constant(1) }),
          fc.tuple(input, personaKey).map(([fields, persona]) => ({ ...fields, persona })),
        ),
        'mesh/review/feedback': paramsOf({ ...common, input, comment, outcome: fc.constantFrom(...reviewOutcomes, 'nope'), edit: fc.string() }),
        'mesh/review/outcome': paramsOf({ ...common, suggestion: fc.string(), path: fc.string(), source: fc.constantFrom('test_outcome', 'compilation_result', 'nope'), value: fc.oneof(fc.double({ min: -1, max: 1 }), fc.double()), detail: fc.string() }),
      });
    } finally {
      registration.dispose();
    }
  });

  it('malformed params are refused by the protocol checker, with its words and code, before the node is asked', async () => {
    let asked = 0;
    const node: ReviewNode = { nodeId: 'A', personaName: () => (asked++, undefined) };
    const fake = fakeConnection();
    const registration = registerReviewHandlers(fake.connection, () => node);
    const tokens = new CancellationTokenSource();
    const refused = (method: string, params: unknown, code: number, message: string) =>
      assert.rejects(Promise.resolve(fake.requests.get(method)!(params, tokens.token)), (error: unknown) => {
        assert.ok(error instanceof ResponseError, String(error));
        assert.equal(error.message, message);
        assert.equal(error.code, code);
        return true;
      });
    const run = { persona: 'A/critic', path: 'src/a.ts', language: 'typescript', code: 'let a = 1;', firstLine: 1 };
    try {
      await refused('mesh/review/run', { ...run, persona: 'critic' }, serviceErrorRpcCodes.invalid, 'the persona must be a persona key (nodeId/personaId)');
      await refused('mesh/review/run', { ...run, firstLine: 0 }, serviceErrorRpcCodes.invalid, 'the first line must be a whole number from 1 to 100000000');
      await refused('mesh/review/run', undefined, serviceErrorRpcCodes.invalid, 'the request has no parameters');
      await refused('mesh/review/run', { ...run, code: 'c'.repeat(24_001) }, serviceErrorRpcCodes['too-large'], 'the code is 24,001 characters; the limit is 24,000 characters (select a part)');
      const comment = { startLine: 1, endLine: 1, severity: 'warning', message: 'm' };
      await refused('mesh/review/feedback', { reviewId: 'r1', persona: { nodeId: 'A', personaId: 'critic', name: 'Critic' }, index: 0, input: run, comment, outcome: 'loved' }, serviceErrorRpcCodes.invalid, 'the outcome is one of accepted, rejected, applied, edited');
      await refused('mesh/review/outcome', { reviewId: 'r1', persona: { nodeId: 'A', personaId: 'critic', name: 'Critic' }, index: 0, suggestion: 's', path: 'src/a.ts', source: 'test_outcome', value: 2, detail: 'd' }, serviceErrorRpcCodes.invalid, 'the value must be a number in [-1, 1]');
      assert.equal(asked, 0, 'nothing reached the node');
    } finally {
      tokens.dispose();
      registration.dispose();
    }
  });
});
