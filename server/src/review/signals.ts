/**
 * Academy signals from code review: what the user did with a comment (source `review`) and what
 * followed an applied suggestion (sources `test_outcome`, `compilation_result`). All are category
 * technical. One slot per comment (`review:{reviewId}/{index}`), so a later judgement of the same
 * comment replaces the earlier one: accept then apply counts once, and a suggestion rejected and
 * then rewritten by the user counts once, carrying the user's text as `expected` (a DPO pair in the
 * export: chosen = the user's edit, rejected = the suggestion).
 */
import type { RecordSignalInput } from '../../../protocol/academy';
import { academyLimits, type PersonaRef } from '../../../protocol/academy';
import { reviewLimits, reviewOutcomes, reviewSeverities, type ReviewComment, type ReviewFeedbackParams, type ReviewInput } from '../../../protocol/review';
import { ServiceError } from '../../../protocol/errors';
import { checkReviewInput } from './reviewer';
import { numbered } from './prompt';

const outcomeValues: Record<ReviewFeedbackParams['outcome'], number> = { accepted: 1, applied: 1, rejected: -1, edited: -1 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkPersona(value: unknown): PersonaRef {
  if (!isRecord(value)) throw new ServiceError('invalid', 'persona is missing');
  const { nodeId, personaId, name } = value;
  if (typeof nodeId !== 'string' || !nodeId || nodeId.length > 100) throw new ServiceError('invalid', 'persona.nodeId is not a node id');
  if (typeof personaId !== 'string' || !personaId || personaId.includes('/') || personaId.length > 100) throw new ServiceError('invalid', 'persona.personaId is not a persona id');
  if (typeof name !== 'string' || name.length > 200) throw new ServiceError('invalid', 'persona.name is not a name');
  return { nodeId, personaId, name };
}

function checkReviewId(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ServiceError('invalid', 'reviewId must be 1-64 letters, digits, - or _');
  return value;
}

function checkIndex(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= reviewLimits.maxComments) throw new ServiceError('invalid', 'index is not a comment index');
  return value;
}

function checkComment(value: unknown): ReviewComment {
  if (!isRecord(value)) throw new ServiceError('invalid', 'comment is missing');
  const { startLine, endLine, severity, message, replacement } = value;
  if (typeof startLine !== 'number' || typeof endLine !== 'number' || !Number.isSafeInteger(startLine) || !Number.isSafeInteger(endLine) || startLine < 1 || endLine < startLine) {
    throw new ServiceError('invalid', 'comment lines are not a line range');
  }
  if (!(reviewSeverities as readonly unknown[]).includes(severity)) throw new ServiceError('invalid', 'comment severity is unknown');
  if (typeof message !== 'string' || !message || message.length > reviewLimits.maxMessageChars) throw new ServiceError('invalid', 'comment message is missing or too long');
  if (replacement !== undefined && (typeof replacement !== 'string' || replacement.length > reviewLimits.maxReplacementChars)) throw new ServiceError('invalid', 'comment replacement is not text');
  return { startLine, endLine, severity: severity as ReviewComment['severity'], message, ...(typeof replacement === 'string' ? { replacement } : {}) };
}

/** The prompt of the exchange: the code as the persona saw it, and the comment's place. */
export function reviewPrompt(input: ReviewInput, comment: ReviewComment): string {
  const lines = comment.startLine === comment.endLine ? `line ${comment.startLine}` : `lines ${comment.startLine}-${comment.endLine}`;
  return `Review this ${input.language} code from ${input.path} and suggest a fix for ${lines}:\n\n${numbered(input)}`;
}

/** The persona's answer as text: severity and message (the suggestion travels as `context.suggestion`). */
export function commentText(comment: ReviewComment): string {
  return `${comment.severity}: ${comment.message}`;
}

export function feedbackSignal(value: unknown): RecordSignalInput {
  if (!isRecord(value)) throw new ServiceError('invalid', 'the feedback has no parameters');
  const reviewId = checkReviewId(value['reviewId']);
  const index = checkIndex(value['index']);
  const persona = checkPersona(value['persona']);
  const input = checkReviewInput(value['input']);
  const comment = checkComment(value['comment']);
  const outcome = value['outcome'];
  if (!(reviewOutcomes as readonly unknown[]).includes(outcome)) throw new ServiceError('invalid', `outcome is one of ${reviewOutcomes.join(', ')}`);
  const kind = outcome as ReviewFeedbackParams['outcome'];
  const edit = value['edit'];
  if (kind === 'edited' && (typeof edit !== 'string' || edit.length > academyLimits.maxContextChars)) throw new ServiceError('invalid', 'an edited outcome carries the user\'s text (edit)');
  if ((kind === 'applied' || kind === 'edited') && comment.replacement === undefined) throw new ServiceError('invalid', `a comment without a suggestion cannot be ${kind}`);
  return {
    persona,
    room: `review:${reviewId}`,
    category: 'technical',
    value: outcomeValues[kind],
    source: 'review',
    reason: kind === 'edited' ? 'suggestion rejected; the user wrote their own' : `comment ${kind}`,
    context: {
      input: reviewPrompt(input, comment),
      actual: commentText(comment),
      ...(comment.replacement !== undefined ? { suggestion: comment.replacement } : {}),
      ...(kind === 'edited' ? { expected: edit as string } : {}),
    },
    slot: `review:${reviewId}/${index}`,
  };
}

export function outcomeSignal(value: unknown): RecordSignalInput {
  if (!isRecord(value)) throw new ServiceError('invalid', 'the outcome has no parameters');
  const reviewId = checkReviewId(value['reviewId']);
  const index = checkIndex(value['index']);
  const persona = checkPersona(value['persona']);
  const source = value['source'];
  if (source !== 'test_outcome' && source !== 'compilation_result') throw new ServiceError('invalid', 'source is test_outcome or compilation_result');
  const signalValue = value['value'];
  if (typeof signalValue !== 'number' || !Number.isFinite(signalValue) || signalValue < -1 || signalValue > 1) throw new ServiceError('invalid', 'value must be in [-1, 1]');
  const { suggestion, path, detail } = value;
  if (typeof suggestion !== 'string' || suggestion.length > reviewLimits.maxReplacementChars) throw new ServiceError('invalid', 'suggestion must be text');
  if (typeof path !== 'string' || path.length > 500) throw new ServiceError('invalid', 'path must be text');
  if (typeof detail !== 'string' || detail.length > academyLimits.maxReasonChars) throw new ServiceError('invalid', 'detail must be one line of text');
  return {
    persona,
    room: `review:${reviewId}`,
    category: 'technical',
    value: signalValue,
    source,
    reason: detail,
    context: { input: `Suggestion applied to ${path}`, suggestion, actual: detail },
    // One per suggestion and kind: the next task run judges it, later runs do not.
    slot: `${source}:${reviewId}/${index}`,
  };
}
