import { strict as assert } from 'node:assert';
import { shiftRange } from '../../../extension/src/review/lineRange';
import { OutcomeTracker, type AppliedSuggestion } from '../../../extension/src/review/outcomeTracker';
import type { ReviewOutcomeParams } from '../../../protocol/review';
import { ManualClock } from '../../support/manualClock';

const suggestion = (index: number, uri = 'file:///w/a.ts'): AppliedSuggestion => ({
  reviewId: 'r1',
  persona: { nodeId: 'n1', personaId: 'critic', name: 'Critic' },
  index,
  suggestion: 'if (x === 2) go();',
  path: 'a.ts',
  uri,
});

describe('review outcomes: tasks and diagnostics after an applied suggestion', () => {
  let clock: ManualClock;
  let errors: Map<string, number>;
  let recorded: ReviewOutcomeParams[];
  let tracker: OutcomeTracker;

  beforeEach(() => {
    clock = new ManualClock();
    errors = new Map();
    recorded = [];
    tracker = new OutcomeTracker(
      {
        now: () => clock.now(),
        setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
        errorCount: (uri) => errors.get(uri) ?? 0,
        record: (params) => {
          recorded.push(params);
          return Promise.resolve();
        },
      },
      { taskWindowMs: 600_000, diagnosticsWindowMs: 30_000, settleMs: 1000 },
    );
  });
  afterEach(() => tracker.dispose());

  it('the next test or build task judges every suggestion applied before it, once', () => {
    tracker.applied(suggestion(0));
    tracker.applied(suggestion(1));
    tracker.taskEnded({ name: 'lint', group: undefined, exitCode: 1 });
    assert.equal(recorded.length, 0, 'a task outside the test and build groups judges nothing');
    tracker.taskEnded({ name: 'npm: test', group: 'test', exitCode: 1 });
    assert.deepEqual(recorded.map((r) => [r.index, r.source, r.value]), [
      [0, 'test_outcome', -1],
      [1, 'test_outcome', -1],
    ]);
    assert.match(recorded[0]!.detail, /test task "npm: test" failed \(code 1\)/);
    tracker.taskEnded({ name: 'npm: build', group: 'build', exitCode: 0 });
    assert.equal(recorded.length, 2, 'only the next task judges');
    tracker.applied(suggestion(2));
    tracker.taskEnded({ name: 'npm: build', group: 'build', exitCode: 0 });
    assert.deepEqual(recorded.slice(2).map((r) => [r.index, r.value]), [[2, 1]]);
  });

  it('a task long after the suggestion does not judge it', () => {
    tracker.applied(suggestion(0));
    clock.advance(600_001);
    tracker.taskEnded({ name: 'npm: test', group: 'test', exitCode: 0 });
    assert.equal(recorded.length, 0);
    assert.equal(tracker.size, 0);
  });

  it('fewer errors after the diagnostics settle is good, more is bad; other files and no change record nothing', () => {
    errors.set('file:///w/a.ts', 2);
    errors.set('file:///w/b.ts', 0);
    tracker.applied(suggestion(0, 'file:///w/a.ts'));
    tracker.applied(suggestion(1, 'file:///w/b.ts'));
    errors.set('file:///w/a.ts', 1);
    tracker.diagnosticsChanged(['file:///w/a.ts']);
    clock.advance(500);
    errors.set('file:///w/a.ts', 0);
    tracker.diagnosticsChanged(['file:///w/a.ts']);
    clock.advance(999);
    assert.equal(recorded.length, 0, 'still settling');
    clock.advance(1);
    assert.deepEqual(recorded.map((r) => [r.index, r.source, r.value, r.detail]), [[0, 'compilation_result', 1, 'errors in a.ts: 2 before the suggestion, 0 after']]);
    // b.ts: its diagnostics never change within the window.
    clock.advance(30_000);
    assert.equal(recorded.length, 1);
    errors.set('file:///w/b.ts', 3);
    tracker.diagnosticsChanged(['file:///w/b.ts']);
    clock.advance(5000);
    assert.equal(recorded.length, 1, 'after the window diagnostics are not watched');
  });

  it('more errors is a bad outcome, and a change that settles within the window counts once', () => {
    tracker.applied(suggestion(0));
    errors.set('file:///w/a.ts', 2);
    tracker.diagnosticsChanged(['file:///w/a.ts']);
    clock.advance(2000);
    tracker.diagnosticsChanged(['file:///w/a.ts']);
    clock.advance(2000);
    assert.deepEqual(recorded.map((r) => [r.source, r.value]), [['compilation_result', -1]]);
  });
});

describe('review: following a comment\'s lines through edits', () => {
  it('edits above shift the lines, edits below leave them, edits inside touch them', () => {
    const range = { start: 10, end: 12 };
    assert.deepEqual(shiftRange(range, { startLine: 2, endLine: 2, newLineBreaks: 2 }), { range: { start: 12, end: 14 }, touched: false });
    assert.deepEqual(shiftRange(range, { startLine: 3, endLine: 5, newLineBreaks: 0 }), { range: { start: 8, end: 10 }, touched: false });
    assert.deepEqual(shiftRange(range, { startLine: 13, endLine: 20, newLineBreaks: 0 }), { range, touched: false });
    assert.deepEqual(shiftRange(range, { startLine: 11, endLine: 11, newLineBreaks: 1 }), { range: { start: 10, end: 13 }, touched: true });
    assert.deepEqual(shiftRange(range, { startLine: 10, endLine: 12, newLineBreaks: 0 }), { range: { start: 10, end: 10 }, touched: true });
    assert.deepEqual(shiftRange(range, { startLine: 9, endLine: 10, newLineBreaks: 0 }), { range: { start: 9, end: 11 }, touched: true });
  });
});
