import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { registerChallengeHandlers } from '../../../server/src/challenges/rpcHandlers';
import { challengeDifficulties, challengeTypes } from '../../../protocol/challenges';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { card, ChallengeMesh, human, persona, spec } from './support';

describe('challenges/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  let mesh: ChallengeMesh;
  afterEach(async () => {
    await mesh.close();
  });

  it('for any params, plausible or not', async () => {
    mesh = new ChallengeMesh();
    const node = await mesh.add({ brains: { p1: () => 'first answer', p2: () => 'second answer' } });
    const participants = [persona(node.id, 'p1'), persona(node.id, 'p2')];
    // One challenge waits for this node's person to judge it.
    const judged = node.challenges.create(spec({ participants, judges: [human(node.id)] }));
    await mesh.settle();
    const labels = node.challenges.get(judged.id)!.answers!.map((answer) => answer.label);
    assert.equal(labels.length, 2);

    const fake = fakeConnection();
    const registration = registerChallengeHandlers(fake.connection, () => node.challenges);
    const valid = spec({ participants, judges: [human(node.id)] });
    const score = fc.oneof(fc.integer({ min: -1, max: 11 }), fc.double());
    const scores = fc.oneof(
      fc.constant(card(labels, () => 5)),
      fc.dictionary(fc.constantFrom(...labels, 'Z'), fc.record({ technical: score, collaborative: score, innovative: score, reliable: score }, { requiredKeys: [] })),
    );
    try {
      await fuzzHandlers(fake, {
        'mesh/challenges/start': fc.oneof(
          fc.constant(valid),
          paramsOf({
            title: fc.oneof(fc.constant(valid.title), fc.string()),
            description: fc.string(),
            type: fc.constantFrom(...challengeTypes, 'nope'),
            difficulty: fc.constantFrom(...challengeDifficulties, 'nope'),
            roomId: fc.constantFrom('arena', 'Not A Room!'),
            timeLimitMs: fc.oneof(fc.constant(valid.timeLimitMs), fc.integer(), fc.double()),
            judgingMs: fc.oneof(fc.constant(valid.judgingMs), fc.integer()),
            participants: fc.oneof(fc.constant(participants), fc.array(fc.record({ nodeId: fc.constantFrom(node.id, 'X'), personaId: fc.constantFrom('p1', 'p3'), name: fc.string() }, { requiredKeys: [] }))),
            judges: fc.oneof(fc.constant(valid.judges), fc.array(fc.record({ kind: fc.constantFrom('human', 'persona', 'cat'), nodeId: fc.constant(node.id), participantId: fc.string(), name: fc.string() }, { requiredKeys: [] }))),
            weights: fc.oneof(fc.constant(valid.weights), fc.record({ technical: score, collaborative: score, innovative: score, reliable: score }, { requiredKeys: [] })),
          }),
        ),
        'mesh/challenges/list': fc.anything(),
        'mesh/challenges/score': paramsOf({ challengeId: fc.constantFrom(judged.id, 'nope'), scores }),
      });
    } finally {
      registration.dispose();
    }
  });
});
