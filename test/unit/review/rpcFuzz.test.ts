import fc from 'fast-check';
import type { Brain } from '../../../server/src/personas/brains/brain';
import { defaultParticipation, type PersonaDefinition } from '../../../protocol/personas';
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
  let mesh: AcademyMesh;
  afterEach(async () => {
    await mesh.close();
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
});
