/**
 * What happens after a persona's suggestion is applied. The next test or build task that ends
 * judges every suggestion applied (and not yet judged by a task) within the task window: exit code
 * 0 is a good outcome, anything else a bad one (source `test_outcome`). The file's error
 * diagnostics are compared before and after: once they change and then stay quiet for a moment,
 * within a bounded window, fewer errors is good and more is bad (source `compilation_result`); no
 * change in the window records nothing, since nothing was learned.
 *
 * No `vscode` import: outcomes.ts feeds it the editor's events, tests feed it their own.
 */
import type { PersonaRef } from '../../../protocol/academy';
import type { ReviewOutcomeParams } from '../../../protocol/review';

export interface AppliedSuggestion {
  reviewId: string;
  persona: PersonaRef;
  index: number;
  suggestion: string;
  /** Workspace-relative path, for the signal. */
  path: string;
  /** The document's URI as text, to match diagnostics events. */
  uri: string;
}

export interface TaskEnd {
  name: string;
  /** The task's group: only `test` and `build` tasks judge suggestions. */
  group: string | undefined;
  exitCode: number | undefined;
}

interface Timer {
  cancel(): void;
}

export interface OutcomeTrackerDeps {
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  /** Error diagnostics on a document now. */
  errorCount(uri: string): number;
  record(params: ReviewOutcomeParams): Promise<unknown>;
  /** A recording failed (the server is down...). */
  onError?(error: unknown): void;
}

export interface OutcomeTrackerOptions {
  /** A suggestion applied longer ago than this is not judged by a task. Default 30 minutes. */
  taskWindowMs?: number;
  /** How long after applying diagnostics are watched. Default 60 s. */
  diagnosticsWindowMs?: number;
  /** Diagnostics count as settled after this long without a change. Default 1.5 s. */
  settleMs?: number;
}

interface Pending {
  suggestion: AppliedSuggestion;
  appliedAt: number;
  /** Waiting for a test/build task. */
  awaitingTask: boolean;
  errorsBefore: number;
  /** Watching diagnostics until this time. */
  diagnosticsUntil: number;
  diagnosticsChanged: boolean;
  settle?: Timer;
  windowEnd?: Timer;
}

export class OutcomeTracker {
  private readonly pending: Pending[] = [];
  private readonly options: Required<OutcomeTrackerOptions>;

  constructor(private readonly deps: OutcomeTrackerDeps, options: OutcomeTrackerOptions = {}) {
    this.options = { taskWindowMs: 30 * 60_000, diagnosticsWindowMs: 60_000, settleMs: 1500, ...options };
  }

  /** Suggestions waiting for a task or for diagnostics (tests, status). */
  get size(): number {
    return this.pending.length;
  }

  applied(suggestion: AppliedSuggestion): void {
    for (const entry of [...this.pending]) this.forgetIfDone(entry);
    // Bounded: the oldest suggestions stop waiting first.
    while (this.pending.length >= 200) this.drop(this.pending[0]!);
    const now = this.deps.now();
    const entry: Pending = {
      suggestion,
      appliedAt: now,
      awaitingTask: true,
      errorsBefore: this.deps.errorCount(suggestion.uri),
      diagnosticsUntil: now + this.options.diagnosticsWindowMs,
      diagnosticsChanged: false,
    };
    entry.windowEnd = this.deps.setTimeout(() => {
      // The window closed: a change still settling gets judged now; no change, nothing learned.
      if (entry.diagnosticsChanged && entry.settle) {
        entry.settle.cancel();
        this.judgeDiagnostics(entry);
      }
      entry.diagnosticsUntil = 0;
      entry.settle = undefined;
      this.forgetIfDone(entry);
    }, this.options.diagnosticsWindowMs);
    this.pending.push(entry);
  }

  taskEnded(task: TaskEnd): void {
    if (task.group !== 'test' && task.group !== 'build') return;
    const now = this.deps.now();
    for (const entry of [...this.pending]) {
      if (!entry.awaitingTask) continue;
      entry.awaitingTask = false;
      if (now - entry.appliedAt <= this.options.taskWindowMs) {
        const passed = task.exitCode === 0;
        const code = task.exitCode === undefined ? 'no exit code' : `code ${task.exitCode}`;
        this.record(entry, 'test_outcome', passed ? 1 : -1, `${task.group} task "${task.name}" ${passed ? 'passed' : 'failed'} (${code}) after the suggestion was applied`);
      }
      this.forgetIfDone(entry);
    }
  }

  diagnosticsChanged(uris: readonly string[]): void {
    const now = this.deps.now();
    for (const entry of this.pending) {
      if (now > entry.diagnosticsUntil || !uris.includes(entry.suggestion.uri)) continue;
      entry.diagnosticsChanged = true;
      entry.settle?.cancel();
      entry.settle = this.deps.setTimeout(() => {
        entry.settle = undefined;
        this.judgeDiagnostics(entry);
        this.forgetIfDone(entry);
      }, this.options.settleMs);
    }
  }

  dispose(): void {
    for (const entry of [...this.pending]) this.drop(entry);
  }

  private drop(entry: Pending): void {
    entry.settle?.cancel();
    entry.windowEnd?.cancel();
    const at = this.pending.indexOf(entry);
    if (at >= 0) this.pending.splice(at, 1);
  }

  private judgeDiagnostics(entry: Pending): void {
    entry.diagnosticsUntil = 0;
    entry.windowEnd?.cancel();
    entry.windowEnd = undefined;
    const after = this.deps.errorCount(entry.suggestion.uri);
    const before = entry.errorsBefore;
    if (after === before) return;
    this.record(entry, 'compilation_result', after < before ? 1 : -1, `errors in ${entry.suggestion.path}: ${before} before the suggestion, ${after} after`);
  }

  private forgetIfDone(entry: Pending): void {
    const now = this.deps.now();
    const taskPending = entry.awaitingTask && now - entry.appliedAt <= this.options.taskWindowMs;
    if (!taskPending && entry.diagnosticsUntil === 0) this.drop(entry);
  }

  private record(entry: Pending, source: ReviewOutcomeParams['source'], value: number, detail: string): void {
    const { reviewId, persona, index, suggestion, path } = entry.suggestion;
    this.deps.record({ reviewId, persona, index, suggestion, path, source, value, detail }).catch((error: unknown) => this.deps.onError?.(error));
  }
}
