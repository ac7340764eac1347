/**
 * Code review by a persona: the extension sends code, the persona's node runs its brain and
 * returns structured comments; what the user does with each comment (accept, reject, apply the
 * suggestion, rewrite it themselves) and what happens after an applied suggestion (the next test
 * or build task, the file's error diagnostics) come back as academy signals. Declared once,
 * imported by the server and the extension. Each method's comment says which way it travels.
 */
import { RequestType } from 'vscode-languageserver-protocol';
import type { PersonaRef, Signal } from './academy';

export const reviewSeverities = ['error', 'warning', 'info'] as const;
export type ReviewSeverity = (typeof reviewSeverities)[number];

/** One review comment, anchored to lines of the reviewed file. */
export interface ReviewComment {
  /** 1-based, inclusive, inside the reviewed code. */
  startLine: number;
  endLine: number;
  severity: ReviewSeverity;
  message: string;
  /** New text for the whole lines startLine..endLine (without the final newline). */
  replacement?: string;
}

export const reviewLimits = {
  /** Characters of code a review takes (a larger selection is refused, not cut). */
  maxCodeChars: 24_000,
  maxComments: 20,
  maxMessageChars: 2000,
  maxReplacementChars: 8000,
  /** A persona on another node gets this long to answer. */
  remoteTimeoutMs: 180_000,
} as const;

/** What a review looks at. */
export interface ReviewInput {
  /** Workspace-relative path (what the persona sees; `/` separators). */
  path: string;
  /** VS Code language id. */
  language: string;
  code: string;
  /** 1-based line number of the code's first line in the file. */
  firstLine: number;
}

export interface ReviewParams extends ReviewInput {
  /** Persona key (`nodeId/personaId`): any persona on the mesh; its node runs the brain. */
  persona: string;
}

export interface ReviewOutput {
  comments: ReviewComment[];
  /** Brain runs it took (2 when the first output was not valid and it was asked again). */
  attempts: number;
  /** What was left out of the brain's output and why ("comment 3: line 90 is outside the code"). */
  dropped: string[];
}

export interface ReviewResult extends ReviewOutput {
  /** Chosen by the requesting node; names the review in signals (`review:{reviewId}/{index}`). */
  reviewId: string;
  persona: PersonaRef;
}

/** client → server: review code with a persona (local, or remote through its node). */
export namespace ReviewRequest {
  export const method = 'mesh/review/run';
  export const type = new RequestType<ReviewParams, ReviewResult, void>(method);
}

export const reviewOutcomes = ['accepted', 'rejected', 'applied', 'edited'] as const;
export type ReviewOutcome = (typeof reviewOutcomes)[number];

export interface ReviewFeedbackParams {
  reviewId: string;
  persona: PersonaRef;
  /** Index of the comment in the review's result. */
  index: number;
  input: ReviewInput;
  comment: ReviewComment;
  outcome: ReviewOutcome;
  /** `edited`: the user's own text for the comment's lines (after rejecting the suggestion). */
  edit?: string;
}

/** client → server: record what the user did with a review comment (a signal, category technical, source review). */
export namespace ReviewFeedbackRequest {
  export const method = 'mesh/review/feedback';
  export const type = new RequestType<ReviewFeedbackParams, Signal, void>(method);
}

export interface ReviewOutcomeParams {
  reviewId: string;
  persona: PersonaRef;
  index: number;
  /** The applied suggestion. */
  suggestion: string;
  path: string;
  source: 'test_outcome' | 'compilation_result';
  /** -1 … 1: a passing task +1, a failing one -1; fewer errors +1, more -1. */
  value: number;
  /** One line: which task and its exit code, or the error count before and after. */
  detail: string;
}

/** client → server: record the outcome of an applied suggestion (next test/build task, or the file's diagnostics). */
export namespace ReviewOutcomeRequest {
  export const method = 'mesh/review/outcome';
  export const type = new RequestType<ReviewOutcomeParams, Signal, void>(method);
}

// ---------------------------------------------------------------- node ↔ node

/** Remote command to the node hosting a persona: it runs the persona's brain on the input. */
export const reviewRemoteMethod = 'review.run';

export interface RemoteReviewParams extends ReviewInput {
  personaId: string;
}
