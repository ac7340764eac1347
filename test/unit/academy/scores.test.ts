import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  bradleyTerry,
  computeLeaderboard,
  decayedScore,
  effectiveSignals,
  eloRatings,
  pairwiseMatches,
  percentile,
  strengthToRating,
  wilsonLowerBound,
  type Match,
} from '../../../server/src/academy/scores';
import { signalCategories, signalSources, type Signal } from '../../../protocol/academy';

const t0 = 1_800_000_000_000;
let counter = 0;

/** An unsigned-but-complete signal (scores never look at signatures). */
function sig(fields: Partial<Signal> = {}): Signal {
  counter++;
  return {
    id: counter.toString(16).padStart(64, '0'),
    persona: { nodeId: 'N1', personaId: 'helper', name: 'Helper' },
    room: 'general',
    category: 'technical',
    value: 1,
    source: 'thumbs',
    context: { input: 'q' },
    ts: t0,
    signer: 'S1',
    signerKey: 'k',
    signature: 's',
    ...fields,
  };
}

const close = (actual: number, expected: number, epsilon = 1e-6) => assert.ok(Math.abs(actual - expected) < epsilon, `${actual} is not ${expected} ± ${epsilon}`);

describe('academy/scores', () => {
  it('decayed mean: weights halve every half-life, measured from the reference time', () => {
    // Weights 0.5 (one half-life old) and 1: mean = (0.5·1 + 1·(-1)) / 1.5 = -1/3.
    const score = decayedScore([{ value: 1, ts: 0 }, { value: -1, ts: 1000 }], 1000, 1000);
    close(score.weight, 1.5);
    close(score.mean, -1 / 3);
    assert.equal(score.count, 2);
    // Two half-lives: weight 0.25.
    close(decayedScore([{ value: 1, ts: 0 }], 2000, 1000).weight, 0.25);
    // No weight: the worst bound.
    assert.equal(decayedScore([], 0).lowerBound, -1);
  });

  it('Wilson lower bound matches the hand-computed value', () => {
    // p = 1, n = 2, z = 1.96: (1 + z²/4 − z·√(z²/16)) / (1 + z²/2) = 1 / 2.9208.
    close(wilsonLowerBound(1, 2, 1.96), 1 / 2.9208);
    // p = 0.5, n = 100: (0.5 + 0.019208 − 1.96·√(0.0025 + 0.00009604)) / 1.038416.
    close(wilsonLowerBound(0.5, 100, 1.96), (0.5 + 0.019208 - 1.96 * Math.sqrt(0.0025 + 0.00009604)) / 1.038416);
    assert.equal(wilsonLowerBound(0.7, 0), 0);
  });

  it('the lower bound ranks 2 perfect votes below 200 votes at 90 %, and the leaderboard agrees', () => {
    const few = [1, 1].map((value) => ({ value, ts: t0 }));
    const many = Array.from({ length: 200 }, (_, i) => ({ value: i < 180 ? 1 : -1, ts: t0 }));
    const a = decayedScore(few, t0);
    const b = decayedScore(many, t0);
    assert.ok(a.mean > b.mean, 'the 2 votes have the higher mean');
    assert.ok(b.lowerBound > a.lowerBound, `200 votes (${b.lowerBound}) rank above 2 (${a.lowerBound})`);
    const signals = [
      ...few.map(() => sig({ persona: { nodeId: 'N1', personaId: 'lucky', name: 'Lucky' } })),
      ...many.map((m) => sig({ persona: { nodeId: 'N1', personaId: 'proven', name: 'Proven' }, value: m.value })),
    ];
    assert.deepEqual(computeLeaderboard(signals).personas.map((p) => p.persona.personaId), ['proven', 'lucky']);
  });

  it('a later signal of the same signer and slot replaces the earlier one; a withdrawn one counts nothing', () => {
    const up = sig({ slot: 'thumbs:general/A:1', value: 1, ts: t0 });
    const down = sig({ slot: 'thumbs:general/A:1', value: -1, ts: t0 + 1 });
    const otherSigner = sig({ slot: 'thumbs:general/A:1', value: 1, ts: t0, signer: 'S2' });
    assert.deepEqual(effectiveSignals([down, up, otherSigner]).map((s) => s.value), [1, -1]);
    const back = sig({ slot: 'thumbs:general/A:1', value: 0, withdrawn: true, ts: t0 + 2 });
    assert.deepEqual(effectiveSignals([up, down, back, otherSigner]), [otherSigner]);
    assert.equal(effectiveSignals([up, up]).length, 1, 'a duplicate counts once');
  });

  it('latency percentiles by nearest rank', () => {
    const ms = [1000, 200, 300, 400, 500, 600, 700, 800, 900, 100];
    assert.equal(percentile(ms, 0.5), 500);
    assert.equal(percentile(ms, 0.95), 1000);
    assert.equal(percentile([42], 0.95), 42);
  });

  it('Elo matches hand-computed values, in (ts, id) order whatever the input order', () => {
    const matches: Match[] = [
      { id: 'm2', ts: 2, a: 'A', b: 'B', score: 0 },
      { id: 'm1', ts: 1, a: 'A', b: 'B', score: 1 },
    ];
    // 1: A beats B at 1000/1000: expected 0.5, so ±16 → 1016 / 984.
    const first = eloRatings([matches[1]!]);
    assert.equal(first.get('A'), 1016);
    assert.equal(first.get('B'), 984);
    // 2: B beats A: B's expectation 1 / (1 + 10^(32/400)) = 0.4540781; B gains 32 · 0.5459219 = 17.469502.
    const both = eloRatings(matches);
    close(both.get('B')!, 984 + 32 * (1 - 1 / (1 + Math.pow(10, 32 / 400))));
    close(both.get('B')!, 1001.469502, 1e-5);
    close(both.get('A')!, 998.530498, 1e-5);
    close(both.get('A')! + both.get('B')!, 2000, 1e-9);
  });

  it('Bradley-Terry: the maximum-likelihood ratio for two players, and the score equations for three', () => {
    // A beat B twice, B beat A once: p_A / p_B = 2; normalised to geometric mean 1.
    const two: Match[] = [
      { id: '1', ts: 1, a: 'A', b: 'B', score: 1 },
      { id: '2', ts: 2, a: 'B', b: 'A', score: 0 },
      { id: '3', ts: 3, a: 'B', b: 'A', score: 1 },
    ];
    const p = bradleyTerry(two, { prior: 0 });
    close(p.get('A')! / p.get('B')!, 2, 1e-9);
    close(strengthToRating(p.get('A')!), 1000 + 400 * Math.log10(Math.SQRT2), 1e-6);
    close(strengthToRating(p.get('A')!), 1060.205999, 1e-5);
    // Three players: at the MLE, each player's wins equal its expected wins.
    const results: [string, string, number][] = [['A', 'B', 1], ['A', 'B', 1], ['B', 'A', 1], ['B', 'C', 1], ['B', 'C', 1], ['C', 'B', 1], ['C', 'A', 1], ['A', 'C', 1], ['A', 'C', 0.5]];
    const three = results.map(([a, b, score], i): Match => ({ id: String(i), ts: i, a, b, score }));
    const q = bradleyTerry(three, { prior: 0 });
    for (const player of ['A', 'B', 'C']) {
      let wins = 0;
      let expected = 0;
      for (const m of three) {
        if (m.a !== player && m.b !== player) continue;
        const other = m.a === player ? m.b : m.a;
        wins += m.a === player ? m.score : 1 - m.score;
        expected += q.get(player)! / (q.get(player)! + q.get(other)!);
      }
      close(expected, wins, 1e-8);
    }
    // With the default prior, an unbeaten player stays finite and first.
    const unbeaten = bradleyTerry([{ id: '1', ts: 1, a: 'A', b: 'B', score: 1 }]);
    assert.ok(Number.isFinite(unbeaten.get('A')!) && unbeaten.get('A')! > unbeaten.get('B')!);
  });

  it('pairwise results: opposite thumbs on two answers to one prompt, and challenge results', () => {
    const good = { nodeId: 'N1', personaId: 'good', name: 'Good' };
    const bad = { nodeId: 'N2', personaId: 'bad', name: 'Bad' };
    const matches = pairwiseMatches([
      sig({ persona: bad, promptId: 'P:1', messageId: 'N2:2', value: -1, ts: t0 + 1 }),
      sig({ persona: good, promptId: 'P:1', messageId: 'N1:2', value: 1, ts: t0 + 2 }),
      // Same sign on another prompt: no result.
      sig({ persona: good, promptId: 'P:2', messageId: 'N1:3', value: 1 }),
      sig({ persona: bad, promptId: 'P:2', messageId: 'N2:3', value: 1 }),
      sig({ persona: bad, source: 'challenge', opponent: good, value: 1, ts: t0 + 5 }),
    ]);
    assert.deepEqual(
      matches.map((m) => [m.a, m.b, m.score]),
      [
        ['N1/good', 'N2/bad', 1],
        ['N2/bad', 'N1/good', 1],
      ],
    );
  });

  it('the same signals give the same leaderboard whatever order they arrive in (fast-check)', () => {
    const personas = ['a', 'b', 'c', 'd'].map((id, i) => ({ nodeId: `N${i % 2}`, personaId: id, name: id.toUpperCase() }));
    const arbitrarySignal = fc.record({
      persona: fc.constantFrom(...personas),
      opponent: fc.option(fc.constantFrom(...personas), { nil: undefined }),
      category: fc.constantFrom(...signalCategories),
      source: fc.constantFrom(...signalSources),
      value: fc.oneof(fc.constantFrom(-1, 0, 1), fc.double({ min: -1, max: 1, noNaN: true })),
      ts: fc.integer({ min: t0, max: t0 + 90 * 24 * 3600 * 1000 }),
      prompt: fc.integer({ min: 1, max: 4 }),
      slot: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      withdrawn: fc.boolean(),
      signer: fc.constantFrom('S1', 'S2'),
    });
    fc.assert(
      fc.property(
        fc.array(arbitrarySignal, { minLength: 1, maxLength: 40 }).chain((raw) => {
          const signals = raw.map((r, i) =>
            sig({
              id: (i + 1).toString(16).padStart(64, '0'),
              persona: r.persona,
              ...(r.opponent && r.source === 'challenge' ? { opponent: r.opponent } : {}),
              category: r.category,
              source: r.source,
              value: r.value,
              ts: r.ts,
              promptId: `P:${r.prompt}`,
              messageId: `${r.persona.nodeId}:${r.prompt + 10}`,
              ...(r.slot !== undefined ? { slot: `s${r.slot}`, withdrawn: r.withdrawn } : {}),
              signer: r.signer,
            }),
          );
          return fc.tuple(fc.constant(signals), fc.shuffledSubarray(signals, { minLength: signals.length, maxLength: signals.length }));
        }),
        ([signals, shuffled]) => {
          const latencies = signals.map((s, i) => ({ messageId: `${s.persona.nodeId}:${i}`, room: 'general', personaKey: `${s.persona.nodeId}/${s.persona.personaId}`, ms: (s.ts % 997) + i, ts: s.ts }));
          const expected = computeLeaderboard(signals, latencies);
          const actual = computeLeaderboard([...shuffled, ...shuffled.slice(0, 3)], [...latencies].reverse());
          assert.deepEqual(actual, expected);
          assert.deepEqual(computeLeaderboard(shuffled, latencies, { category: 'technical' }), computeLeaderboard(signals, latencies, { category: 'technical' }));
        },
      ),
      { numRuns: 200 },
    );
  });
});
