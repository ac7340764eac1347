/**
 * How a `librarian` persona reviews without a model: plain checks a careful reader would note
 * (loose equality and `var` in JavaScript/TypeScript, trailing whitespace, leftover TODOs and debug
 * output, very long lines), with a replacement where the fix is mechanical, and pointers from its
 * BM25 index to where the code's names are defined or documented elsewhere in the workspace.
 * Deterministic: the same code and index give the same comments.
 */
import type { LibrarianIndex } from '../personas/brains/librarian';
import { reviewLimits, type ReviewComment, type ReviewInput } from '../../../protocol/review';

const scriptLanguages = new Set(['javascript', 'typescript', 'javascriptreact', 'typescriptreact']);

/** Line checks; each returns a comment for one line or nothing. */
function lineChecks(input: ReviewInput): ReviewComment[] {
  const comments: ReviewComment[] = [];
  const script = scriptLanguages.has(input.language);
  for (const [i, line] of input.code.split('\n').entries()) {
    const at = input.firstLine + i;
    const code = line.replace(/\/\/.*$/, '');
    if (script && /(^|[^=!<>])(==|!=)(?!=)/.test(stripStrings(code))) {
      comments.push({
        startLine: at,
        endLine: at,
        severity: 'warning',
        message: 'Loose equality converts types before comparing (`0 == ""` is true). Use strict equality.',
        replacement: line.replace(/(^|[^=!<>])(==|!=)(?!=)/g, (_m, before: string, op: string) => `${before}${op}=`),
      });
    } else if (script && /^\s*var\s/.test(line)) {
      comments.push({ startLine: at, endLine: at, severity: 'warning', message: '`var` is function-scoped and hoisted; `let` (or `const`) keeps the variable in its block.', replacement: line.replace(/^(\s*)var\s/, '$1let ') });
    } else if (/\b(TODO|FIXME|XXX)\b/.test(line)) {
      comments.push({ startLine: at, endLine: at, severity: 'info', message: 'Unfinished work is marked here; finish it or track it in an issue before merging.' });
    } else if (script && /\bconsole\.(log|debug)\(/.test(code)) {
      comments.push({ startLine: at, endLine: at, severity: 'info', message: 'Debug output left in: use the project\'s logger, or remove it.' });
    } else if (/[ \t]+$/.test(line)) {
      comments.push({ startLine: at, endLine: at, severity: 'info', message: 'Trailing whitespace.', replacement: line.replace(/[ \t]+$/, '') });
    } else if (line.length > 140) {
      comments.push({ startLine: at, endLine: at, severity: 'info', message: `This line is ${line.length} characters long; split it so it reads without scrolling.` });
    }
  }
  return comments;
}

function stripStrings(code: string): string {
  return code.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, '""');
}

/** Names worth looking up: identifiers of 5+ characters, most frequent first, then by first use. */
function identifiers(code: string): { name: string; line: number }[] {
  const seen = new Map<string, { name: string; line: number; count: number; order: number }>();
  for (const [i, line] of code.split('\n').entries()) {
    for (const match of line.matchAll(/[A-Za-z_][A-Za-z0-9_]{4,}/g)) {
      const name = match[0];
      const entry = seen.get(name);
      if (entry) entry.count++;
      else seen.set(name, { name, line: i, count: 1, order: seen.size });
    }
  }
  return [...seen.values()].sort((a, b) => b.count - a.count || a.order - b.order).map(({ name, line }) => ({ name, line }));
}

/** Where the index knows a name from outside the reviewed file (at most `limit` comments). */
function indexPointers(input: ReviewInput, index: LibrarianIndex, limit: number): ReviewComment[] {
  const comments: ReviewComment[] = [];
  const reviewed = input.path.replace(/\\/g, '/');
  for (const { name, line } of identifiers(input.code).slice(0, 12)) {
    if (comments.length >= limit) break;
    const hit = index.query(name, 5).find((h) => h.path !== reviewed && h.snippet.includes(name));
    if (!hit) continue;
    const at = input.firstLine + line;
    comments.push({ startLine: at, endLine: at, severity: 'info', message: `\`${name}\` also appears in ${hit.path}:${hit.line}; check this use agrees with it:\n\n${hit.snippet}` });
  }
  return comments;
}

export async function librarianReview(input: ReviewInput, index: LibrarianIndex): Promise<ReviewComment[]> {
  await index.ensure();
  const checks = lineChecks(input);
  const pointers = indexPointers(input, index, 2);
  return [...checks, ...pointers].slice(0, reviewLimits.maxComments);
}
