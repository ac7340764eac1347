/**
 * One stdin line of `persona-mesh node` as a command: a JSON object whose `op` is known, or the
 * reason it is not one. Anything can come down the pipe (a script's bug, `null`, a binary file):
 * the node answers each bad line with an error event and keeps running.
 */
import { challengeOpNames } from './challengeOps';
import { genomeOpNames } from './genomeOps';

export const nodeOpNames = ['status', 'peers', 'stats', 'send', 'join', 'leave', 'history', 'rpc', 'quit'] as const;

export const stdinOpNames: readonly string[] = [...nodeOpNames, ...challengeOpNames, ...genomeOpNames];

export type StdinCommand = Record<string, unknown> & { op: string };

export type ParsedLine = { ok: true; command: StdinCommand } | { ok: false; reason: string };

/** What the error event quotes of the input: short, and one line. */
const quoteLimit = 80;

function quote(text: string): string {
  return JSON.stringify(text.length > quoteLimit ? `${text.slice(0, quoteLimit)}…` : text);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Parses a trimmed, non-empty line. */
export function parseStdinLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: `stdin: not a JSON line: ${quote(text)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: `stdin: a command is a JSON object with an "op", not ${kindOf(value)}` };
  }
  const op = (value as Record<string, unknown>).op;
  if (typeof op !== 'string') return { ok: false, reason: `stdin: the command has no "op" (a string; known: ${stdinOpNames.join(', ')})` };
  if (!stdinOpNames.includes(op)) return { ok: false, reason: `stdin: unknown op ${quote(op)} (known: ${stdinOpNames.join(', ')})` };
  return { ok: true, command: value as StdinCommand };
}
