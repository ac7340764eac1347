/** Code review by personas in the editor: commands, comment threads, outcomes. */
import * as vscode from 'vscode';
import type { PersonaSummary } from '../../../protocol/personas';
import { ReviewOutcomeRequest } from '../../../protocol/review';
import type { Ctx } from '../ctx';
import { createOutcomeTracker } from './outcomes';
import { reviewCode } from './reviewCommands';
import { ReviewThreads } from './reviewThreads';

export function registerReview(ctx: Ctx, memento: vscode.Memento, personas: () => readonly PersonaSummary[]): vscode.Disposable[] {
  const outcomes = createOutcomeTracker({
    record: async (params) => {
      await ctx.sendRequest(ReviewOutcomeRequest.type, params);
      ctx.log.info(`review outcome for ${params.persona.name}: ${params.detail}`);
    },
    warn: (message) => ctx.log.warn(message),
  });
  const threads = new ReviewThreads(ctx, (suggestion) => outcomes.tracker.applied(suggestion));
  return [
    threads,
    ...outcomes.disposables,
    vscode.commands.registerCommand('personaMesh.reviewSelection', () => reviewCode(ctx, threads, personas, memento, 'selection')),
    vscode.commands.registerCommand('personaMesh.reviewFile', () => reviewCode(ctx, threads, personas, memento, 'file')),
  ];
}
