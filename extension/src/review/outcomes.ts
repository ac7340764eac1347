/** Feeds the editor's task and diagnostics events to the OutcomeTracker and records what it judges. */
import * as vscode from 'vscode';
import { ReviewOutcomeRequest } from '../../../server/src/protocol/review';
import type { Ctx } from '../ctx';
import { OutcomeTracker } from './outcomeTracker';

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

export function createOutcomeTracker(ctx: Ctx): { tracker: OutcomeTracker; disposables: vscode.Disposable[] } {
  const tracker = new OutcomeTracker({
    now: () => Date.now(),
    setTimeout: (callback, ms) => {
      const timer = setTimeout(callback, ms);
      return { cancel: () => clearTimeout(timer) };
    },
    errorCount,
    record: async (params) => {
      await ctx.sendRequest(ReviewOutcomeRequest.type, params);
      ctx.log.info(`review outcome for ${params.persona.name}: ${params.detail}`);
    },
    onError: (error) => ctx.log.warn(`a review outcome was not recorded: ${(error as Error).message}`),
  });
  return {
    tracker,
    disposables: [
      vscode.tasks.onDidEndTaskProcess((event) => tracker.taskEnded({ name: event.execution.task.name, group: groupOf(event.execution.task), exitCode: event.exitCode })),
      vscode.languages.onDidChangeDiagnostics((event) => tracker.diagnosticsChanged(event.uris.map((uri) => uri.toString()))),
      { dispose: () => tracker.dispose() },
    ],
  };
}
