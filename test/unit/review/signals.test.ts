import { strict as assert } from 'node:assert';
import { dbExportSource, exportTrainingData } from '../../../server/src/academy/export';
import type { ReviewComment, ReviewFeedbackParams, ReviewInput } from '../../../protocol/review';
import { feedbackSignal, outcomeSignal } from '../../../server/src/review/signals';
import { AcademyMesh, persona } from '../academy/support';

const input: ReviewInput = { path: 'src/a.ts', language: 'typescript', code: 'var x = 1;\nif (x == 2) go();', firstLine: 1 };
const comment: ReviewComment = { startLine: 2, endLine: 2, severity: 'warning', message: 'Use strict equality.', replacement: 'if (x === 2) go();' };

describe('review: signals from review comments and outcomes', () => {
  let mesh: AcademyMesh;
  beforeEach(() => {
    mesh = new AcademyMesh();
  });
  afterEach(async () => {
    await mesh.close();
  });

  it('accept, reject and apply record technical review signals with the code, the comment and the outcome', async () => {
    const a = await mesh.add();
    const critic = persona('n'.repeat(8), 'critic', 'Critic');
    const base: Omit<ReviewFeedbackParams, 'outcome' | 'index'> = { reviewId: 'r1', persona: critic, input, comment };
    const accepted = a.academy.record(feedbackSignal({ ...base, index: 0, outcome: 'accepted' }));
    assert.equal(accepted.source, 'review');
    assert.equal(accepted.category, 'technical');
    assert.equal(accepted.value, 1);
    assert.match(accepted.context.input, /src\/a\.ts and suggest a fix for line 2:\n\n1\| var x = 1;\n2\| if \(x == 2\) go\(\);/);
    assert.equal(accepted.context.actual, 'warning: Use strict equality.');
    assert.equal(accepted.context.suggestion, 'if (x === 2) go();');
    assert.equal(accepted.reason, 'comment accepted');
    mesh.clock.advance(1000);
    const rejected = a.academy.record(feedbackSignal({ ...base, index: 1, outcome: 'rejected' }));
    assert.equal(rejected.value, -1);
    // Accept, then apply, of the same comment counts once.
    mesh.clock.advance(1000);
    a.academy.record(feedbackSignal({ ...base, index: 0, outcome: 'applied' }));
    const board = a.academy.leaderboard('technical');
    assert.equal(board.personas[0]!.categories.technical!.count, 2);
    assert.deepEqual(a.academy.signals({ persona: `${critic.nodeId}/critic` }).map((s) => s.reason), ['comment applied', 'comment rejected', 'comment accepted']);
  });

  it('a suggestion rejected and then rewritten by the user becomes a DPO pair (chosen: the edit, rejected: the suggestion)', async () => {
    const a = await mesh.add();
    const critic = persona('n'.repeat(8), 'critic', 'Critic');
    const base = { reviewId: 'r2', persona: critic, input, comment, index: 0 };
    const rejected = a.academy.record(feedbackSignal({ ...base, outcome: 'rejected' }));
    // Within the same millisecond the rewrite still sorts after, and so replaces, the rejection.
    const edited = a.academy.record(feedbackSignal({ ...base, outcome: 'edited', edit: 'if (Object.is(x, 2)) go();' }));
    assert.equal(edited.ts, rejected.ts + 1);
    const { lines, summary } = exportTrainingData(dbExportSource(a.db), 'dpo');
    assert.equal(summary.written, 1);
    const pair = JSON.parse(lines[0]!) as { prompt: string; chosen: string; rejected: string };
    assert.deepEqual(Object.keys(pair).sort(), ['chosen', 'prompt', 'rejected']);
    assert.equal(pair.chosen, 'if (Object.is(x, 2)) go();');
    assert.equal(pair.rejected, 'if (x === 2) go();');
    assert.match(pair.prompt, /suggest a fix for line 2/);
    // The edit replaced the rejection in the comment's slot: one signal counts.
    assert.equal(a.academy.leaderboard().personas[0]!.overall.count, 1);
    // Filters apply: another persona, another room.
    assert.equal(exportTrainingData(dbExportSource(a.db), 'dpo', { persona: 'someone' }).summary.written, 0);
    assert.equal(exportTrainingData(dbExportSource(a.db), 'dpo', { room: 'review:r2' }).summary.written, 1);
  });

  it('judged review comments are rated answers in kto and openai exports: user, tests and compiler folded per comment', async () => {
    const a = await mesh.add();
    const critic = persona('n'.repeat(8), 'critic', 'Critic');
    const plain: ReviewComment = { startLine: 1, endLine: 1, severity: 'info', message: 'Prefer const.' };
    a.academy.record(feedbackSignal({ reviewId: 'r4', persona: critic, input, comment, index: 0, outcome: 'applied' }));
    mesh.clock.advance(1000);
    a.academy.record(feedbackSignal({ reviewId: 'r4', persona: critic, input, comment: plain, index: 1, outcome: 'rejected' }));
    mesh.clock.advance(1000);
    // The applied suggestion then failed the tests and the compiler: net -1 for comment 0.
    const outcome = { reviewId: 'r4', persona: critic, index: 0, suggestion: comment.replacement, path: 'src/a.ts' };
    a.academy.record(outcomeSignal({ ...outcome, source: 'test_outcome', value: -1, detail: 'tests failed' }));
    a.academy.record(outcomeSignal({ ...outcome, source: 'compilation_result', value: -1, detail: 'errors in src/a.ts: 0 → 1' }));
    // Outcomes of a comment nobody judged carry no prompt: nothing comes of them.
    a.academy.record(outcomeSignal({ ...outcome, index: 2, source: 'test_outcome', value: 1, detail: 'tests passed' }));

    const kto = exportTrainingData(dbExportSource(a.db), 'kto').lines.map((line) => JSON.parse(line) as { prompt: string; completion: string; label: boolean });
    assert.deepEqual(kto.map((line) => [line.completion, line.label]), [
      ['info: Prefer const.', false],
      ['warning: Use strict equality.\n\nSuggested replacement:\nif (x === 2) go();', false],
    ]);
    assert.match(kto[0]!.prompt, /src\/a\.ts and suggest a fix for line 1:/);
    assert.equal(exportTrainingData(dbExportSource(a.db), 'openai').summary.written, 0, 'nothing rated up overall');

    // A later comment the user accepts and the tests pass: a positive example in both formats.
    mesh.clock.advance(1000);
    a.academy.record(feedbackSignal({ reviewId: 'r5', persona: critic, input, comment, index: 0, outcome: 'applied' }));
    a.academy.record(outcomeSignal({ reviewId: 'r5', persona: critic, index: 0, suggestion: comment.replacement, path: 'src/a.ts', source: 'test_outcome', value: 1, detail: 'tests passed' }));
    const openai = exportTrainingData(dbExportSource(a.db), 'openai').lines.map((line) => JSON.parse(line) as { messages: { role: string; content: string }[] });
    assert.equal(openai.length, 1);
    assert.deepEqual(openai[0]!.messages.map((m) => m.role), ['system', 'user', 'assistant']);
    assert.equal(openai[0]!.messages[2]!.content, 'warning: Use strict equality.\n\nSuggested replacement:\nif (x === 2) go();');
    assert.equal(exportTrainingData(dbExportSource(a.db), 'kto', { room: 'review:r5' }).lines.length, 1);
    assert.equal(exportTrainingData(dbExportSource(a.db), 'kto', { persona: 'someone' }).lines.length, 0);
  });

  it('test and compilation outcomes of an applied suggestion: one signal per kind, the next one replaces', async () => {
    const a = await mesh.add();
    const critic = persona('n'.repeat(8), 'critic', 'Critic');
    const base = { reviewId: 'r3', persona: critic, index: 0, suggestion: 'if (x === 2) go();', path: 'src/a.ts' };
    const test = a.academy.record(outcomeSignal({ ...base, source: 'test_outcome', value: -1, detail: 'task "npm: test" exited with code 1' }));
    assert.equal(test.source, 'test_outcome');
    assert.equal(test.value, -1);
    assert.equal(test.reason, 'task "npm: test" exited with code 1');
    const compile = a.academy.record(outcomeSignal({ ...base, source: 'compilation_result', value: 1, detail: 'errors in src/a.ts: 2 → 0' }));
    assert.equal(compile.source, 'compilation_result');
    assert.equal(a.academy.leaderboard().personas[0]!.overall.count, 2);
  });

  it('malformed feedback is refused with the reason', () => {
    const critic = persona('n'.repeat(8), 'critic', 'Critic');
    const base = { reviewId: 'r4', persona: critic, input, comment, index: 0, outcome: 'accepted' };
    assert.throws(() => feedbackSignal({ ...base, outcome: 'loved' }), /outcome is one of/);
    assert.throws(() => feedbackSignal({ ...base, reviewId: '../x' }), /reviewId/);
    assert.throws(() => feedbackSignal({ ...base, outcome: 'edited' }), /edit/);
    assert.throws(() => feedbackSignal({ ...base, outcome: 'applied', comment: { ...comment, replacement: undefined } }), /without a suggestion/);
    assert.throws(() => feedbackSignal({ ...base, comment: { ...comment, severity: 'fatal' } }), /severity/);
    assert.throws(() => outcomeSignal({ ...base, source: 'thumbs', value: 1, suggestion: '', path: '', detail: '' }), /source/);
    assert.throws(() => outcomeSignal({ ...base, source: 'test_outcome', value: 3, suggestion: '', path: '', detail: '' }), /\[-1, 1\]/);
  });
});
