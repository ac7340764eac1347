// Outcomes of applied review suggestions with the editor's real events: a test task that runs in
// a terminal and exits, and error diagnostics of a file that change.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { createOutcomeTracker } from '../../extension/src/review/outcomes';
import type { AppliedSuggestion } from '../../extension/src/review/outcomeTracker';
import type { ReviewOutcomeParams } from '../../protocol/review';
import { until } from '../support/until';

const applied = (uri: vscode.Uri, index = 0): AppliedSuggestion => ({
  reviewId: 'ext-host',
  persona: { nodeId: 'n1', personaId: 'critic', name: 'Critic' },
  index,
  suggestion: 'const x = 1;',
  path: 'a.ts',
  uri: uri.toString(),
});

export function outcomesSuite(): void {
  describe('extension host: outcomes of an applied suggestion', function () {
    this.timeout(60_000);
    const recorded: ReviewOutcomeParams[] = [];
    let outcomes: ReturnType<typeof createOutcomeTracker>;

    beforeEach(() => {
      recorded.length = 0;
      outcomes = createOutcomeTracker({ record: (params) => Promise.resolve(recorded.push(params)), warn: () => undefined }, { settleMs: 300, diagnosticsWindowMs: 20_000 });
    });
    afterEach(() => {
      for (const disposable of outcomes.disposables) disposable.dispose();
    });

    it('the next test task judges the suggestion by its exit code (test_outcome)', async function () {
      outcomes.tracker.applied(applied(vscode.Uri.file('/tmp/pm-outcome-task.ts')));
      const scope = vscode.workspace.workspaceFolders?.[0] ?? vscode.TaskScope.Workspace;
      const task = new vscode.Task({ type: 'shell' }, scope, 'failing unit tests', 'persona-mesh-tests', new vscode.ShellExecution('exit 3'));
      task.group = vscode.TaskGroup.Test;
      task.presentationOptions = { reveal: vscode.TaskRevealKind.Never };
      await vscode.tasks.executeTask(task);
      await until('a test_outcome signal', () => recorded.length > 0 || undefined, 30_000);
      assert.equal(recorded.length, 1);
      assert.equal(recorded[0]!.source, 'test_outcome');
      assert.equal(recorded[0]!.value, -1);
      assert.match(recorded[0]!.detail, /test task "failing unit tests" failed \(code 3\)/);
    });

    it('fewer error diagnostics on the file after the suggestion is a good compilation_result', async function () {
      const uri = vscode.Uri.file('/tmp/pm-outcome-diagnostics.ts');
      const collection = vscode.languages.createDiagnosticCollection('persona-mesh-test');
      try {
        const error = (line: number) => new vscode.Diagnostic(new vscode.Range(line, 0, line, 1), 'broken', vscode.DiagnosticSeverity.Error);
        collection.set(uri, [error(0), error(1), new vscode.Diagnostic(new vscode.Range(2, 0, 2, 1), 'style', vscode.DiagnosticSeverity.Warning)]);
        outcomes.tracker.applied(applied(uri));
        collection.set(uri, [error(1)]);
        await until('a compilation_result signal', () => recorded.length > 0 || undefined, 10_000);
        assert.equal(recorded[0]!.source, 'compilation_result');
        assert.equal(recorded[0]!.value, 1);
        assert.equal(recorded[0]!.detail, 'errors in a.ts: 2 before the suggestion, 1 after');
      } finally {
        collection.dispose();
      }
    });
  });
}
