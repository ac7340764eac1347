/** Feeds the editor's task and diagnostics events to the OutcomeTracker and records what it judges. */
import * as vscode from 'vscode';
import type { ReviewOutcomeParams } from '../../../protocol/review';
import { OutcomeTracker, type OutcomeTrackerOptions } from './outcomeTracker';

function errorCount(uri: string): number {
  return vscode.languages.getDiagnostics(vscode.Uri.parse(uri)).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length;
}

function groupOf(task: vscode.Task): string | undefined {
  const group = task.group;
  if (!group) return undefined;
  if (group.id === vscode.TaskGroup.Test.id) return 'test';
  if (group.id === vscode.TaskGroup.Build.id) return 'build';
  return group.id;
}

export interface OutcomeRecorder {
  record(params: ReviewOutcomeParams): Promise<unknown>;
  warn(message: string): void;
}

export function createOutcomeTracker(recorder: OutcomeRecorder, options?: OutcomeTrackerOptions): { tracker: OutcomeTracker; disposables: vscode.Disposable[] } {
  const tracker = new OutcomeTracker(
    {
      now: () => Date.now(),
      setTimeout: (callback, ms) => {
        const timer = setTimeout(callback, ms);
        return { cancel: () => clearTimeout(timer) };
      },
      errorCount,
      record: (params) => recorder.record(params),
      onError: (error) => recorder.warn(`a review outcome was not recorded: ${(error as Error).message}`),
    },
    options,
  );
  return {
    tracker,
    disposables: [
      vscode.tasks.onDidEndTaskProcess((event) => tracker.taskEnded({ name: event.execution.task.name, group: groupOf(event.execution.task), exitCode: event.exitCode })),
      vscode.languages.onDidChangeDiagnostics((event) => tracker.diagnosticsChanged(event.uris.map((uri) => uri.toString()))),
      { dispose: () => tracker.dispose() },
    ],
  };
}
