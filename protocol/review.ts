/**
 * Code review by a persona: the extension sends code, the persona's node runs its brain and
 * returns structured comments; what the user does with each comment (accept, reject, apply the
 * suggestion, rewrite it themselves) and what happens after an applied suggestion (the next test
 * or build task, the file's error diagnostics) come back as academy signals. Declared once,
 * imported by the server and the extension. Each method's comment says which way it travels.
 *
 * `reviewParams` checks each request's params where they enter the server (check.ts). The remote
 * command `review.run` is checked by the node that runs it (server/src/review/reviewer.ts), with
 * the same limits.
 */
import { RequestType } from 'vscode-languageserver-protocol';
import { academyLimits, personaKeyCheck, type PersonaRef, type Signal } from './academy';
import { integer, object, oneOf, optional, refine, text, type Check } from './check';
import { ServiceError } from './errors';
import { overLimit } from './sizeLimit';

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
  /** Of the reviewed file's path, as the extension shows it (relative to the workspace, or absolute outside it). */
  maxPathChars: 500,
  maxLanguageChars: 100,
  /** Line numbers (the code's first line, a comment's lines) go up to this. */
  maxLine: 100_000_000,
  /** Each id of a PersonaRef, and its display name (a persona key is academy.ts's personaKeyCheck). */
  maxIdChars: 100,
  maxPersonaNameChars: 200,
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

// ---------------------------------------------------------------- checkers of the params

/** The code to review: some text that is not only blanks, and at most `maxCodeChars` (refused, not cut). */
const code: Check<string> = (value) => {
  if (typeof value !== 'string' || value.trim() === '') throw new ServiceError('invalid', 'there is no code to review');
  if (value.length > reviewLimits.maxCodeChars) throw new ServiceError('too-large', `the code is ${overLimit(value.length, reviewLimits.maxCodeChars, 'characters')} (select a part)`);
  return value;
};

const path = text({ max: reviewLimits.maxPathChars, allowEmpty: true });
const lineNumber = integer(1, reviewLimits.maxLine);

const reviewInputFields = {
  path,
  language: text({ max: reviewLimits.maxLanguageChars, allowEmpty: true, singleLine: true }),
  code,
  firstLine: lineNumber,
};
const reviewInputNames = { path: 'the path', language: 'the language id', firstLine: 'the first line' } as const;

const reviewInput: Check<ReviewInput> = object(reviewInputFields, reviewInputNames);

const reviewId = text({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, hint: 'the review id must be 1-64 letters, digits, - or _' });
const commentIndex = integer(0, reviewLimits.maxComments - 1);

const personaRef: Check<PersonaRef> = object(
  {
    nodeId: text({ max: reviewLimits.maxIdChars, singleLine: true }),
    personaId: text({ max: reviewLimits.maxIdChars, singleLine: true, pattern: /^[^/]+$/, hint: 'the persona id must not contain "/"' }),
    name: text({ max: reviewLimits.maxPersonaNameChars, allowEmpty: true }),
  },
  { nodeId: 'the persona\'s node id', personaId: 'the persona id', name: 'the persona\'s name' },
);

const comment: Check<ReviewComment> = refine(
  object(
    {
      startLine: lineNumber,
      endLine: lineNumber,
      severity: oneOf(reviewSeverities, `a comment's severity is one of ${reviewSeverities.join(', ')}`),
      message: text({ max: reviewLimits.maxMessageChars }),
      replacement: optional(text({ max: reviewLimits.maxReplacementChars, allowEmpty: true })),
    },
    { startLine: 'the comment\'s start line', endLine: 'the comment\'s end line', message: 'the comment\'s message', replacement: 'the suggestion' },
  ),
  (value) => {
    if (value.endLine < value.startLine) throw new ServiceError('invalid', `the comment's end line must be from ${value.startLine} to ${reviewLimits.maxLine}`);
  },
);

/** A signal's value: a finite number in [-1, 1]. */
const signalValue: Check<number> = (value, name) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -1 || value > 1) throw new ServiceError('invalid', `${name} must be a number in [-1, 1]`);
  return value;
};

export const reviewParams = {
  run: object(
    {
      ...reviewInputFields,
      persona: personaKeyCheck,
    },
    { ...reviewInputNames, persona: 'the persona' },
  ),
  feedback: object(
    {
      reviewId,
      persona: personaRef,
      index: commentIndex,
      input: reviewInput,
      comment,
      outcome: oneOf(reviewOutcomes, `the outcome is one of ${reviewOutcomes.join(', ')}`),
      edit: optional(text({ max: academyLimits.maxContextChars, allowEmpty: true })),
    },
    { reviewId: 'the review id', persona: 'the persona', index: 'the comment index', input: 'the reviewed code', comment: 'the comment', edit: 'the edit' },
  ),
  outcome: object(
    {
      reviewId,
      persona: personaRef,
      index: commentIndex,
      suggestion: text({ max: reviewLimits.maxReplacementChars, allowEmpty: true }),
      path,
      source: oneOf(['test_outcome', 'compilation_result'] as const, 'the source is test_outcome or compilation_result'),
      value: signalValue,
      detail: text({ max: academyLimits.maxReasonChars, allowEmpty: true }),
    },
    { reviewId: 'the review id', persona: 'the persona', index: 'the comment index', suggestion: 'the suggestion', path: 'the path', value: 'the value', detail: 'the detail' },
  ),
} satisfies { run: Check<ReviewParams>; feedback: Check<ReviewFeedbackParams>; outcome: Check<ReviewOutcomeParams> };
