import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { pairOutcomes, rankAnswers } from '../../../server/src/challenges/ranking';
import { answerLabel, deterministicShuffle } from '../../../server/src/challenges/shuffle';
import { parseJudgeReply } from '../../../server/src/challenges/aiJudge';
import { judgeJsonSchema } from '../../../protocol/challenges';
import { card, human, persona } from './support';

describe('challenges: shuffle, ranking, judge replies', () => {
  it('shuffles deterministically from the challenge id, as a permutation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 30 }), fc.string({ minLength: 16, maxLength: 32 }), (items, seed) => {
        const once = deterministicShuffle(items, seed);
        assert.deepEqual(deterministicShuffle(items, seed), once);
        assert.deepEqual([...once].sort((a, b) => a - b), [...items].sort((a, b) => a - b));
      }),
    );
    const ten = Array.from({ length: 10 }, (_, i) => i);
    assert.notDeepEqual(deterministicShuffle(ten, 'aaaaaaaaaaaaaaaa'), deterministicShuffle(ten, 'bbbbbbbbbbbbbbbb'));
    assert.deepEqual([0, 1, 25, 26, 27].map(answerLabel), ['A', 'B', 'Z', 'AA', 'AB']);
  });

  it('ranks by weighted mean scores over the judges who scored, ties share a rank, forfeits last', () => {
    const [p, q, r, s] = ['p', 'q', 'r', 's'].map((id) => persona('n1', id));
    const weights = { technical: 0.5, collaborative: 0, innovative: 0.25, reliable: 0.25 };
    const judge = human('n1');
    const results = rankAnswers({
      participants: [p!, q!, r!, s!],
      weights,
      answers: new Map([
        ['n1/p', { label: 'B', text: 'p' }],
        ['n1/q', { label: 'A', text: 'q' }],
        ['n1/r', { label: 'C', text: 'r' }],
      ]),
      forfeits: { 'n1/s': 'late' },
      scores: [
        { judge, ts: 1, scores: { A: { technical: 10, collaborative: 0, innovative: 0, reliable: 0 }, B: card(['B'], () => 5).B!, C: card(['C'], () => 5).C! } },
        { judge: { ...judge, nodeId: 'n2' }, ts: 2, scores: { A: { technical: 0, collaborative: 10, innovative: 0, reliable: 0 }, B: card(['B'], () => 5).B!, C: card(['C'], () => 5).C! } },
      ],
    });
    assert.deepEqual(
      results.map((x) => [x.persona.personaId, x.rank, x.total]),
      [
        ['p', 1, 5],
        ['r', 1, 5],
        ['q', 3, 2.5],
        ['s', 4, undefined],
      ],
    );
    assert.deepEqual(results[2]!.criteria, { technical: 5, collaborative: 5, innovative: 0, reliable: 0 });
    assert.deepEqual(
      pairOutcomes(results).map((o) => [o.winner.persona.personaId, o.loser.persona.personaId, o.draw]),
      [
        ['p', 'r', true],
        ['p', 'q', false],
        ['p', 's', false],
        ['r', 'q', false],
        ['r', 's', false],
        ['q', 's', false],
      ],
    );
  });

  it('reads an AI judge card from JSON, checking every label and criterion', () => {
    const good = JSON.stringify(card(['A', 'B'], () => 3));
    assert.deepEqual(parseJudgeReply(`Sure! ${good} Thanks.`, ['A', 'B']), { scores: card(['A', 'B'], () => 3) });
    assert.deepEqual(parseJudgeReply('{"A": 1', ['A']), { problem: 'the reply has no JSON object' });
    assert.match((parseJudgeReply(good, ['A', 'B', 'C']) as { problem: string }).problem, /answer C is not scored/);
    assert.match((parseJudgeReply(JSON.stringify(card(['A'], () => 2.5)), ['A']) as { problem: string }).problem, /whole number/);
    const schema = judgeJsonSchema(['A', 'B']) as { required: string[]; properties: Record<string, { required: string[] }> };
    assert.deepEqual(schema.required, ['A', 'B']);
    assert.deepEqual(schema.properties.A!.required, ['technical', 'collaborative', 'innovative', 'reliable']);
  });
});
