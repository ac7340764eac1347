/**
 * Review comments from a brain's text. A model's output is untrusted: the JSON may be wrapped in
 * prose or a code fence, fields may be missing or of the wrong type, lines may point outside the
 * code. Each comment is checked on its own, so one bad comment does not lose the good ones; what
 * is dropped is said, one line each.
 */
import { reviewLimits, reviewSeverities, type ReviewComment, type ReviewInput, type ReviewSeverity } from '../../../protocol/review';

export interface ParsedReview {
  comments: ReviewComment[];
  dropped: string[];
}

export class ReviewFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewFormatError';
  }
}

/** The JSON schema the brain's output must follow (node-llama-cpp's grammar subset: every property required). */
export function reviewJsonSchema(): Readonly<Record<string, unknown>> {
  return {
    type: 'object',
    properties: {
      comments: {
        type: 'array',
        maxItems: 6,
        items: {
          type: 'object',
          properties: {
            startLine: { type: 'integer' },
            endLine: { type: 'integer' },
            severity: { enum: [...reviewSeverities] },
            message: { type: 'string', maxLength: 300 },
            replacement: { oneOf: [{ type: 'string', maxLength: 600 }, { type: 'null' }] },
          },
        },
      },
    },
  };
}

/** The last line number of the reviewed code. */
export function lastLine(input: Pick<ReviewInput, 'code' | 'firstLine'>): number {
  return input.firstLine + input.code.split('\n').length - 1;
}

/** Finds the JSON object in a reply: the whole text, a fenced block, or the outermost braces. */
export function extractJson(text: string): unknown {
  const candidates: string[] = [text.trim()];
  for (const match of text.matchAll(/```(?:json)?\s*\n([\s\S]*?)```/g)) candidates.push(match[1]!.trim());
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open >= 0 && close > open) candidates.push(text.slice(open, close + 1));
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      // the next candidate
    }
  }
  throw new ReviewFormatError(text.trim() === '' ? 'the reply was empty' : 'the reply is not JSON');
}

const severityWords: Record<string, ReviewSeverity> = { error: 'error', bug: 'error', critical: 'error', major: 'error', warning: 'warning', warn: 'warning', minor: 'warning', info: 'info', information: 'info', note: 'info', suggestion: 'info', hint: 'info', nit: 'info' };

function lineNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Review comments from a brain's reply. Throws ReviewFormatError when the reply as a whole is
 * unusable (not JSON, no `comments` array): the caller asks again once.
 */
export function parseReview(text: string, input: Pick<ReviewInput, 'code' | 'firstLine'>): ParsedReview {
  const value = extractJson(text);
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? (value as { comments?: unknown }).comments : undefined;
  if (!Array.isArray(list)) throw new ReviewFormatError('the reply has no "comments" array');
  const first = input.firstLine;
  const last = lastLine(input);
  const comments: ReviewComment[] = [];
  const dropped: string[] = [];
  for (const [i, raw] of list.entries()) {
    const label = `comment ${i + 1}`;
    if (comments.length >= reviewLimits.maxComments) {
      dropped.push(`${label}: more than ${reviewLimits.maxComments} comments`);
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      dropped.push(`${label}: not an object`);
      continue;
    }
    const item = raw as Record<string, unknown>;
    const message = typeof item['message'] === 'string' ? item['message'].trim() : '';
    if (message === '') {
      dropped.push(`${label}: no message`);
      continue;
    }
    if (message.length > reviewLimits.maxMessageChars) {
      dropped.push(`${label}: message longer than ${reviewLimits.maxMessageChars} characters`);
      continue;
    }
    const start = lineNumber(item['startLine'] ?? item['line']);
    const end = lineNumber(item['endLine'] ?? item['startLine'] ?? item['line']);
    if (start === undefined || end === undefined) {
      dropped.push(`${label}: no line numbers`);
      continue;
    }
    if (start < first || end > last || end < start) {
      dropped.push(`${label}: lines ${start}-${end} are outside the code (${first}-${last})`);
      continue;
    }
    const severityText = typeof item['severity'] === 'string' ? item['severity'].trim().toLowerCase() : 'info';
    const severity = severityWords[severityText];
    if (!severity) {
      dropped.push(`${label}: unknown severity "${severityText.slice(0, 40)}"`);
      continue;
    }
    const comment: ReviewComment = { startLine: start, endLine: end, severity, message };
    const replacement = item['replacement'];
    if (typeof replacement === 'string') {
      if (replacement.length > reviewLimits.maxReplacementChars) {
        dropped.push(`${label}: replacement longer than ${reviewLimits.maxReplacementChars} characters`);
        continue;
      }
      const original = input.code.split('\n').slice(start - first, end - first + 1).join('\n');
      // A "replacement" equal to the code suggests nothing.
      if (replacement.replace(/\n$/, '') !== original) comment.replacement = replacement.replace(/\n$/, '');
    } else if (replacement !== undefined && replacement !== null) {
      dropped.push(`${label}: replacement is not text`);
      continue;
    }
    comments.push(comment);
  }
  return { comments, dropped };
}
