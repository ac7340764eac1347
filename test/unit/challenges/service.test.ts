import { strict as assert } from 'node:assert';
import { dbExportSource, exportTrainingData } from '../../../server/src/academy/export';
import { personaKey } from '../../../protocol/academy';
import { challengeTopics, type ChallengeView } from '../../../protocol/challenges';
import { aiJudge, card, ChallengeMesh, human, persona, spec, type ChallengeNode, type ScriptedBrain } from './support';

const answerWith = (text: string): ScriptedBrain => () => text;
/** Never answers: rejects only when its deadline aborts it. */
const stuck: ScriptedBrain = (_prompt, { signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
/** Scores an answer by a word in it. */
const critic =
  (scoreOf: (text: string) => number): ScriptedBrain =>
  (prompt) => {
    const labels = [...prompt.matchAll(/--- Answer (\w+) ---\n([^\n]*)/g)].map((m) => [m[1]!, m[2]!] as const);
    return JSON.stringify(card(labels.map(([l]) => l), (l) => scoreOf(labels.find(([x]) => x === l)![1])));
  };

function roomTexts(node: ChallengeNode, roomId = 'arena'): string[] {
  return node.rooms.history({ roomId, limit: 100 }).messages.map((m) => m.text);
}

describe('challenges (service, in-memory mesh, scripted brains standing in for real ones)', () => {
  let mesh: ChallengeMesh;
  beforeEach(() => {
    mesh = new ChallengeMesh();
  });
  afterEach(async () => {
    await mesh.close();
  });

  async function threeNodes(brains: { b?: ScriptedBrain; c?: ScriptedBrain; critic?: ScriptedBrain } = {}) {
    const a = await mesh.add();
    const b = await mesh.add({ brains: { fast: brains.b ?? answerWith('fast answer: use setTimeout') } });
    const c = await mesh.add({ brains: { slow: brains.c ?? answerWith('slow answer: a loop'), critic: brains.critic ?? critic((t) => (t.startsWith('fast') ? 8 : 4)) } });
    const participants = [persona(b.id, 'fast', 'Fast'), persona(c.id, 'slow', 'Slow')];
    return { a, b, c, participants };
  }

  it('runs announced → answering → judging → revealed on every node, judged blind, ranked by weighted totals, with academy signals', async () => {
    const { a, b, c, participants } = await threeNodes();
    const states: string[] = [];
    a.challenges.on('changed', (v) => states.push(v.state));
    const started = a.challenges.create(spec({ participants, judges: [human(a.id), aiJudge(c.id, 'critic')] }));
    assert.equal(started.state, 'answering');
    await mesh.settle();

    // Answers are in: judges see labels and texts only, in the shuffled order.
    const judging = c.challenges.get(started.id)!;
    assert.equal(judging.state, 'judging');
    assert.deepEqual(judging.answers!.map((x) => Object.keys(x).sort()), [['label', 'text'], ['label', 'text']]);
    assert.equal(judging.results, undefined);
    assert.deepEqual(judging.judged, [`${c.id}/critic`]);
    // The person judges on A: the fast answer 6, the slow one 2.
    const labels = a.challenges.get(started.id)!.answers!;
    a.challenges.submitScores({ challengeId: started.id, scores: card(labels.map((x) => x.label), (l) => (labels.find((x) => x.label === l)!.text.startsWith('fast') ? 6 : 2)) });
    await mesh.settle();

    for (const node of [a, b, c]) {
      const view = node.challenges.get(started.id)!;
      assert.equal(view.state, 'revealed', `on ${node.id.slice(0, 6)}`);
      assert.deepEqual(
        view.results!.map((r) => [r.persona.personaId, r.rank, r.total]),
        [
          ['fast', 1, 7],
          ['slow', 2, 3],
        ],
      );
      assert.equal(view.scores!.length, 2);
    }
    assert.deepEqual([...new Set(states)], ['announced', 'answering', 'judging', 'revealed']);
    const texts = roomTexts(a);
    assert.match(texts[0]!, /Challenge: \*\*Debounce\*\*/);
    assert.match(texts.at(-1)!, /- #1 Fast: 7\.00 \/ 10 \(answer [AB]\)\n- #2 Slow: 3\.00/);

    // One pairwise result and one signal per answer and weighted criterion, signed by the coordinator.
    const signals = a.academy.store.all().filter((s) => s.source === 'challenge');
    assert.equal(signals.length, 1 + 2 * 4);
    const pair = signals.find((s) => s.opponent)!;
    assert.equal(personaKey(pair.persona), `${b.id}/fast`);
    assert.equal(personaKey(pair.opponent!), `${c.id}/slow`);
    assert.equal(pair.context.actual, 'fast answer: use setTimeout');
    const board = a.academy.leaderboard();
    assert.equal(board.personas.find((p) => p.key === `${b.id}/fast`)!.elo, 1016);
    assert.equal(board.personas.find((p) => p.key === `${c.id}/slow`)!.elo, 984);
    const slowTechnical = signals.find((s) => s.persona.personaId === 'slow' && s.category === 'technical' && !s.opponent)!;
    assert.equal(slowTechnical.value, (2 * 3) / 10 - 1);

    // The DPO export pairs the winner's answer with the loser's, for the task as the personas got it.
    const dpo = exportTrainingData(dbExportSource(c.db), 'dpo');
    assert.deepEqual(
      dpo.lines.map((line) => JSON.parse(line) as unknown),
      [{ prompt: 'Challenge (technical, medium): Debounce\n\nWrite a debounce function.', chosen: 'fast answer: use setTimeout', rejected: 'slow answer: a loop' }],
    );
  });

  it('a late answer and a failing brain forfeit with their reasons; the rest is still judged', async () => {
    const a = await mesh.add();
    const b = await mesh.add({ brains: { fast: answerWith('fast answer'), late: stuck } });
    const c = await mesh.add({
      brains: {
        broken: () => {
          throw new Error('model file missing');
        },
        ok: answerWith('ok answer'),
      },
    });
    const participants = [persona(b.id, 'fast'), persona(b.id, 'late'), persona(c.id, 'broken'), persona(c.id, 'ok')];
    const started = a.challenges.create(spec({ participants, judges: [human(a.id)], timeLimitMs: 30_000 }));
    await mesh.settle();
    let view = a.challenges.get(started.id)!;
    assert.equal(view.state, 'answering');
    assert.match(view.forfeits[`${c.id}/broken`]!, /its brain failed: model file missing/);
    await mesh.pass(30_000);
    view = a.challenges.get(started.id)!;
    assert.equal(view.state, 'judging');
    assert.match(view.forfeits[`${b.id}/late`]!, /^late: no answer within 30 s/);
    assert.equal(view.answers!.length, 2);
    // Nobody judges: at the judging deadline the ranking is revealed with what is in (a draw).
    await mesh.pass(120_000);
    view = b.challenges.get(started.id)!;
    assert.equal(view.state, 'revealed');
    // Equal totals share a rank (listed by label); forfeits come after every answer, by key.
    assert.deepEqual(
      view.results!.map((r) => [r.persona.personaId, r.rank]).sort(),
      [
        ['broken', 3],
        ['fast', 1],
        ['late', 3],
        ['ok', 1],
      ],
    );
    assert.deepEqual(view.results!.slice(2).map((r) => r.forfeit !== undefined), [true, true]);
    assert.match(roomTexts(a).at(-1)!, /Ada \(no scores\)/);
  });

  it('a participant whose node leaves mid-challenge forfeits', async () => {
    const { a, b, c, participants } = await threeNodes();
    const started = a.challenges.create(spec({ participants, judges: [human(a.id), aiJudge(c.id, 'critic')] }));
    await mesh.settle();
    assert.equal(a.challenges.get(started.id)!.state, 'judging');
    await mesh.crash(b);
    await mesh.settle();
    const labels = a.challenges.get(started.id)!.answers!.map((x) => x.label);
    a.challenges.submitScores({ challengeId: started.id, scores: card(labels, () => 5) });
    await mesh.settle();
    const view = c.challenges.get(started.id)!;
    assert.equal(view.state, 'revealed');
    const fast = view.results!.find((r) => r.persona.personaId === 'fast')!;
    assert.match(fast.forfeit!, /left the challenge: its node left the mesh/);
    assert.equal(fast.rank, 2);
    assert.equal(view.results![0]!.persona.personaId, 'slow');
  });

  it('when the coordinator leaves, every node taking part cancels once it has not heard from it for the timeout, with the reason', async () => {
    const { a, b, c, participants } = await threeNodes({ c: stuck });
    const started = a.challenges.create(spec({ participants, judges: [human(a.id)] }));
    await mesh.settle();
    assert.equal(b.challenges.get(started.id)!.state, 'answering');
    // Alive, the coordinator's state comes again every third of the timeout.
    await mesh.pass(25_000);
    assert.equal(b.challenges.get(started.id)!.state, 'answering');
    // Last heard within the last 3.4 s: 6 s after the crash it is still open, 10 s after it is not.
    await mesh.crash(a);
    mesh.clock.advance(6_000);
    assert.equal(b.challenges.get(started.id)!.state, 'answering');
    mesh.clock.advance(4_000);
    await mesh.settle();
    for (const node of [b, c]) {
      const view = node.challenges.get(started.id)!;
      assert.equal(view.state, 'cancelled');
      assert.match(view.cancelReason!, /the coordinator left the mesh: nothing heard from it for 10 s/);
    }
    // The stuck brain was stopped with the challenge.
    await c.challenges.idle();
  });

  it('survives a restart: the coordinator resumes its deadlines from the database, nodes taking part keep their copy', async () => {
    const { a, b, c, participants } = await threeNodes({ c: stuck });
    const started = a.challenges.create(spec({ participants, judges: [human(a.id)], timeLimitMs: 20_000 }));
    await mesh.settle();
    const { db, identity } = a;
    await mesh.crash(a);
    mesh.clock.advance(5_000);
    const again = await mesh.add({ db, identity });
    await mesh.settle();
    assert.equal(again.challenges.get(started.id)!.state, 'answering');
    // Its state comes again every third of the timeout: the nodes taking part keep waiting.
    await mesh.pass(15_000);
    assert.equal(again.challenges.get(started.id)!.state, 'judging');
    assert.equal(b.challenges.get(started.id)!.state, 'judging', 'the coordinator came back before the timeout: no cancellation');
    assert.match(c.challenges.get(started.id)!.forfeits[`${c.id}/slow`]!, /^late/);
  });

  it('an AI judge whose reply is unusable is asked once more, then counted out', async () => {
    let asked = 0;
    const { a, c, participants } = await threeNodes({
      critic: () => {
        asked++;
        return asked === 1 ? 'I like them both' : '{"A": {"technical": 11}}';
      },
    });
    const started = a.challenges.create(spec({ participants, judges: [aiJudge(c.id, 'critic')] }));
    await mesh.settle();
    assert.equal(asked, 2);
    const view = a.challenges.get(started.id)!;
    assert.equal(view.state, 'revealed');
    assert.deepEqual(view.scores, []);
    assert.ok(c.log.messages('warn').some((m) => /critic could not score: its reply could not be used twice: answer A: technical must be a whole number/.test(m)));
  });

  it('an AI judge that gets it right on the second try counts', async () => {
    let asked = 0;
    const { a, c, participants } = await threeNodes({
      critic: (prompt) => {
        asked++;
        return asked === 1 ? 'not json' : critic(() => 5)(prompt, { signal: new AbortController().signal });
      },
    });
    const started = a.challenges.create(spec({ participants, judges: [aiJudge(c.id, 'critic')] }));
    await mesh.settle();
    assert.equal(asked, 2);
    assert.equal(a.challenges.get(started.id)!.scores!.length, 1);
  });

  it('refuses bad specs and bad cards with a specific reason, and drops malformed mesh input', async () => {
    const { a, b, c, participants } = await threeNodes();
    assert.throws(() => a.challenges.create(spec({ participants, judges: [human(a.id)], weights: { technical: 0.5, collaborative: 0.5, innovative: 0.5, reliable: 0 } })), /must sum to 1 \(they sum to 1\.5\)/);
    assert.throws(() => a.challenges.create(spec({ participants: participants.slice(0, 1), judges: [human(a.id)] })), /2 to 16 participants/);
    assert.throws(() => a.challenges.create(spec({ participants, judges: [aiJudge(c.id, 'slow')] })), /cannot judge a challenge it takes part in/);
    const started = a.challenges.create(spec({ participants, judges: [human(a.id)] }));
    await mesh.settle();
    assert.throws(() => a.challenges.submitScores({ challengeId: started.id, scores: { A: { technical: 3 } } as never }), /answer A: collaborative must be a whole number/);
    assert.throws(() => b.challenges.submitScores({ challengeId: started.id, scores: {} }), /not a judge/);

    b.transport.publish(challengeTopics.node(a.id), 'junk');
    b.transport.publish(challengeTopics.node(c.id), { kind: 'state', challenge: { ...a.challenges.get(started.id)!, version: 99, state: 'revealed' } satisfies ChallengeView });
    b.transport.publish(challengeTopics.node(a.id), { kind: 'answer', challengeId: started.id, personaId: 'slow', text: 'impostor' });
    await mesh.settle();
    assert.ok(a.log.messages('warn').some((m) => /malformed challenge message/.test(m)));
    assert.ok(c.log.messages('warn').some((m) => /it is not the coordinator/.test(m)));
    assert.ok(a.log.messages('warn').some((m) => /slow is not a participant it hosts/.test(m)));
    assert.equal(c.challenges.get(started.id)!.state, 'judging');
  });
});
