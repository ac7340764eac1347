/** The extension side of judging and the challenge commands' text: no `vscode` needed. */
import assert from 'node:assert/strict';
import { historyMarkdown, parseSeconds, parseWeights } from '../../extension/src/challenge/format';
import { JudgingQueue } from '../../extension/src/chat/judging';
import { checkFromWebview } from '../../extension/src/chat/validate';
import type { ChallengeView } from '../../protocol/challenges';

function view(fields: Partial<ChallengeView> = {}): ChallengeView {
  return {
    id: 'c'.repeat(32),
    coordinator: 'N1',
    spec: {
      title: 'Debounce',
      description: 'Write one.',
      type: 'technical',
      difficulty: 'easy',
      roomId: 'general',
      timeLimitMs: 60_000,
      judgingMs: 300_000,
      participants: [
        { nodeId: 'N2', personaId: 'fast', name: 'Fast' },
        { nodeId: 'N3', personaId: 'slow', name: 'Slow' },
      ],
      judges: [{ kind: 'human', nodeId: 'N1', participantId: 'user', name: 'Ada' }],
      weights: { technical: 0.4, collaborative: 0.2, innovative: 0.2, reliable: 0.2 },
    },
    state: 'judging',
    version: 3,
    createdAt: 1_800_000_000_000,
    answerDeadline: 1_800_000_060_000,
    judgeDeadline: 1_800_000_360_000,
    forfeits: {},
    answers: [
      { label: 'A', text: 'slow one' },
      { label: 'B', text: 'fast one' },
    ],
    judged: [],
    updatedAt: 1_800_000_001_000,
    ...fields,
  };
}

describe('challenges in the editor (judging queue, card checks, command text)', () => {
  it('queues a challenge for the person here only while it is being judged and they have not scored', () => {
    const queue = new JudgingQueue();
    assert.equal(queue.update(view(), 'N9'), false, 'not a judge here');
    assert.equal(queue.update(view({ state: 'answering', answers: undefined, version: 2 }), 'N1'), false);
    assert.equal(queue.update(view(), 'N1'), true);
    assert.deepEqual(queue.list().map((v) => v.id), ['c'.repeat(32)]);
    assert.equal(queue.update(view({ version: 2 }), 'N1'), false, 'an older state changes nothing');
    assert.equal(queue.update(view({ judged: ['N1/user'], version: 4 }), 'N1'), true);
    assert.deepEqual(queue.list(), []);
    queue.update(view(), 'N1');
    assert.equal(queue.submitted(view().id), true);
    assert.deepEqual(queue.list(), []);
  });

  it('checks a judging card from the panel: whole scores 0…10 per criterion, known fields only', () => {
    const scores = { A: { technical: 10, collaborative: 0, innovative: 5, reliable: 7, extra: 1 } };
    assert.deepEqual(checkFromWebview({ type: 'request', id: 3, method: 'submitScores', params: { challengeId: 'x1', scores } }), {
      ok: true,
      message: { type: 'request', id: 3, method: 'submitScores', params: { challengeId: 'x1', scores: { A: { technical: 10, collaborative: 0, innovative: 5, reliable: 7 } } } },
    });
    for (const bad of [{ A: { technical: 11, collaborative: 0, innovative: 0, reliable: 0 } }, { A: { technical: 1.5, collaborative: 0, innovative: 0, reliable: 0 } }, { 'a<b': {} }, {}, null]) {
      const checked = checkFromWebview({ type: 'request', id: 4, method: 'submitScores', params: { challengeId: 'x1', scores: bad } });
      assert.equal(checked.ok, false, JSON.stringify(bad));
      assert.equal((checked as { id?: number }).id, 4, 'a refused card is still answered');
    }
  });

  it('parses weights that sum to 1 and time limits, with a reason when they do not', () => {
    assert.deepEqual(parseWeights('0.4 0.1 0.2 0.3'), { technical: 0.4, collaborative: 0.1, innovative: 0.2, reliable: 0.3 });
    assert.deepEqual(parseWeights('1, 0, 0, 0'), { technical: 1, collaborative: 0, innovative: 0, reliable: 0 });
    assert.equal(parseWeights('0.5 0.5 0.5 0'), 'The weights must sum to 1 (they sum to 1.5)');
    assert.match(parseWeights('0.5 0.5') as string, /Four numbers/);
    assert.match(parseWeights('-0.5 0.5 0.5 0.5') as string, /from 0 to 1/);
    assert.equal(parseSeconds('90'), 90);
    assert.match(parseSeconds('0') as string, /from 1 to 3600/);
  });

  it('shows a revealed challenge with answers, scores and judges', () => {
    const text = historyMarkdown(
      view({
        state: 'revealed',
        results: [
          { persona: { nodeId: 'N2', personaId: 'fast', name: 'Fast' }, label: 'B', text: 'fast one', total: 7.5, criteria: { technical: 7.5, collaborative: 7.5, innovative: 7.5, reliable: 7.5 }, rank: 1 },
          { persona: { nodeId: 'N3', personaId: 'slow', name: 'Slow' }, forfeit: 'late: no answer within 60 s', rank: 2 },
        ],
        scores: [{ judge: { kind: 'human', nodeId: 'N1', participantId: 'user', name: 'Ada' }, ts: 1, scores: { B: { technical: 7, collaborative: 8, innovative: 7, reliable: 8 } } }],
      }),
    );
    assert.match(text, /^# Debounce/);
    assert.match(text, /### 1\. Fast \(answer B\)\n\nTotal 7\.50 \/ 10/);
    assert.match(text, /```text\nfast one\n```/);
    assert.match(text, /### 2\. Slow\n\nForfeit: late: no answer within 60 s/);
    assert.match(text, /- Ada: B 7\/8\/7\/8/);
    assert.match(text, /Judges: Ada \(person\)/);
  });
});
