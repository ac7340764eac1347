/**
 * Review comments as comment threads (the Comments API), one thread per comment, with Accept,
 * Reject and Apply Suggestion in the thread's title bar. Each action records a signal through the
 * academy. A rejected suggestion keeps being watched: if the user then rewrites those lines
 * themselves and saves within the watch time, that text is recorded as what the persona should
 * have suggested (a DPO pair in the export). An applied suggestion goes to the OutcomeTracker.
 */
import * as vscode from 'vscode';
import type { PersonaRef } from '../../../protocol/academy';
import { ReviewFeedbackRequest, type ReviewComment, type ReviewInput, type ReviewOutcome, type ReviewResult } from '../../../protocol/review';
import type { Ctx } from '../ctx';
import { shiftRange, type LineRange } from './lineRange';
import type { AppliedSuggestion } from './outcomeTracker';

export const reviewControllerId = 'personaMesh.review';

/** Thread context values (the `when` clauses in package.json match them). */
const contextValues = { open: 'personaMesh.review.open', openWithSuggestion: 'personaMesh.review.open.suggestion', done: 'personaMesh.review.done' } as const;

/** How long after a rejection the user's own rewrite of the lines is looked for. */
const editWatchMs = 15 * 60_000;

interface ThreadData {
  thread: vscode.CommentThread;
  document: vscode.Uri;
  reviewId: string;
  persona: PersonaRef;
  index: number;
  input: ReviewInput;
  comment: ReviewComment;
  /** Where the comment's lines are now (0-based). */
  lines: LineRange;
  /** The lines' text when the review was made. */
  original: string;
  outcome?: ReviewOutcome;
  /** Rejected suggestion: watching the user's own edit until this time. */
  watchUntil?: number;
  touched?: boolean;
}

const severityIcons: Record<ReviewComment['severity'], string> = { error: '$(error)', warning: '$(warning)', info: '$(info)' };

export class ReviewThreads implements vscode.Disposable {
  private readonly controller: vscode.CommentController;
  private readonly threads = new Map<vscode.CommentThread, ThreadData>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly onApplied: (suggestion: AppliedSuggestion) => void,
  ) {
    this.controller = vscode.comments.createCommentController(reviewControllerId, 'Persona Mesh Review');
    this.disposables.push(
      this.controller,
      vscode.commands.registerCommand('personaMesh.review.accept', (thread?: vscode.CommentThread) => this.act(thread, 'accepted')),
      vscode.commands.registerCommand('personaMesh.review.reject', (thread?: vscode.CommentThread) => this.act(thread, 'rejected')),
      vscode.commands.registerCommand('personaMesh.review.applySuggestion', (thread?: vscode.CommentThread) => this.act(thread, 'applied')),
      vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)),
      vscode.workspace.onDidSaveTextDocument((document) => void this.onSave(document)),
    );
  }

  /** Open threads (tests). */
  get openCount(): number {
    return [...this.threads.values()].filter((data) => data.outcome === undefined).length;
  }

  /** Shows a review's comments on the document; replaces the open threads of earlier reviews there. */
  show(document: vscode.TextDocument, input: ReviewInput, result: ReviewResult): void {
    for (const data of [...this.threads.values()]) {
      if (data.document.toString() === document.uri.toString() && data.outcome === undefined) this.remove(data);
    }
    for (const [index, comment] of result.comments.entries()) {
      const lines = { start: comment.startLine - 1, end: comment.endLine - 1 };
      const range = new vscode.Range(lines.start, 0, lines.end, document.lineAt(Math.min(lines.end, document.lineCount - 1)).text.length);
      const thread = this.controller.createCommentThread(document.uri, range, [this.commentOf(result.persona, comment, input.language)]);
      thread.canReply = false;
      thread.label = `${result.persona.name} · ${comment.severity}`;
      thread.contextValue = comment.replacement !== undefined ? contextValues.openWithSuggestion : contextValues.open;
      thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
      const original = input.code.split('\n').slice(comment.startLine - input.firstLine, comment.endLine - input.firstLine + 1).join('\n');
      this.threads.set(thread, { thread, document: document.uri, reviewId: result.reviewId, persona: result.persona, index, input, comment, lines, original });
    }
  }

  private commentOf(persona: PersonaRef, comment: ReviewComment, language: string): vscode.Comment {
    // Text from a model, possibly on another node: Markdown that is not trusted (command links do
    // not run) and without HTML support, which is what VS Code sanitises to.
    const body = new vscode.MarkdownString(undefined, true);
    body.isTrusted = false;
    body.supportHtml = false;
    body.appendMarkdown(`${severityIcons[comment.severity]} **${comment.severity}** · ${comment.message}`);
    if (comment.replacement !== undefined) {
      body.appendMarkdown('\n\n**Suggestion:**\n');
      body.appendCodeblock(comment.replacement, language);
    }
    return { body, mode: vscode.CommentMode.Preview, author: { name: persona.name } };
  }

  private async act(thread: vscode.CommentThread | undefined, outcome: ReviewOutcome): Promise<void> {
    const data = thread && this.threads.get(thread);
    if (!data) {
      void vscode.window.showInformationMessage('Use the buttons on a Persona Mesh review comment.');
      return;
    }
    if (data.outcome !== undefined) return;
    if (outcome === 'applied' && !(await this.applySuggestion(data))) return;
    try {
      await this.record(data, outcome);
    } catch (error) {
      void vscode.window.showWarningMessage(`The review comment was not recorded: ${(error as Error).message}`);
      return;
    }
    data.outcome = outcome;
    data.thread.contextValue = contextValues.done;
    data.thread.label = `${{ accepted: 'Accepted', rejected: 'Rejected', applied: 'Applied', edited: 'Rewritten' }[outcome]} · ${data.persona.name} · ${data.comment.severity}`;
    data.thread.state = vscode.CommentThreadState.Resolved;
    if (outcome === 'rejected') {
      data.thread.collapsibleState = vscode.CommentThreadCollapsibleState.Collapsed;
      if (data.comment.replacement !== undefined) {
        data.watchUntil = Date.now() + editWatchMs;
        data.touched = false;
      }
    }
    if (outcome === 'applied') {
      this.onApplied({
        reviewId: data.reviewId,
        persona: data.persona,
        index: data.index,
        suggestion: data.comment.replacement ?? '',
        path: data.input.path,
        uri: data.document.toString(),
      });
    }
  }

  private record(data: ThreadData, outcome: ReviewOutcome, edit?: string): Promise<unknown> {
    const { reviewId, persona, index, input, comment } = data;
    return this.ctx.sendRequest(ReviewFeedbackRequest.type, { reviewId, persona, index, input, comment, outcome, ...(edit !== undefined ? { edit } : {}) });
  }

  /** Replaces the comment's lines with the suggestion, if they are still what was reviewed. */
  private async applySuggestion(data: ThreadData): Promise<boolean> {
    const document = await vscode.workspace.openTextDocument(data.document);
    const { start, end } = data.lines;
    if (end >= document.lineCount || this.linesText(document, data.lines) !== data.original) {
      void vscode.window.showWarningMessage('The code changed since the review; the suggestion was not applied.');
      return false;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, new vscode.Range(start, 0, end, document.lineAt(end).text.length), data.comment.replacement ?? '');
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showWarningMessage('The suggestion could not be applied (is the file read-only?).');
      return false;
    }
    return true;
  }

  private linesText(document: vscode.TextDocument, lines: LineRange): string {
    return document.getText(new vscode.Range(lines.start, 0, lines.end, document.lineAt(Math.min(lines.end, document.lineCount - 1)).text.length)).replace(/\r\n/g, '\n');
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    const uri = event.document.uri.toString();
    for (const data of this.threads.values()) {
      if (data.document.toString() !== uri) continue;
      // Changes of one event are reported against the document before the event, last first.
      const changes = [...event.contentChanges].sort((a, b) => b.range.start.line - a.range.start.line);
      for (const change of changes) {
        const moved = shiftRange(data.lines, { startLine: change.range.start.line, endLine: change.range.end.line, newLineBreaks: change.text.split('\n').length - 1 });
        data.lines = moved.range;
        if (moved.touched && data.watchUntil !== undefined) data.touched = true;
      }
    }
  }

  private async onSave(document: vscode.TextDocument): Promise<void> {
    const uri = document.uri.toString();
    for (const data of this.threads.values()) {
      if (data.document.toString() !== uri || data.watchUntil === undefined || !data.touched) continue;
      if (Date.now() > data.watchUntil) {
        data.watchUntil = undefined;
        continue;
      }
      const text = this.linesText(document, data.lines);
      if (text === data.original || text.trim() === (data.comment.replacement ?? '').trim()) continue;
      data.watchUntil = undefined;
      try {
        await this.record(data, 'edited', text);
        data.outcome = 'edited';
        data.thread.label = `Rewritten · ${data.persona.name} · ${data.comment.severity}`;
      } catch (error) {
        this.ctx.log.warn(`the rewrite of a rejected suggestion was not recorded: ${(error as Error).message}`);
      }
    }
  }

  private remove(data: ThreadData): void {
    data.thread.dispose();
    this.threads.delete(data.thread);
  }

  dispose(): void {
    for (const data of this.threads.values()) data.thread.dispose();
    this.threads.clear();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
