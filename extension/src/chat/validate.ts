/**
 * Checks every message the chat webview posts. The webview renders remote text, so whatever it
 * sends is untrusted input: shapes, types and sizes are checked here, and a fresh object with only
 * the known fields is returned (nothing unchecked reaches the server or the editor).
 * No `vscode` import: unit-tested in plain Node.
 */
import { roomIdPattern, roomLimits, type CodeAttachment, type PresenceState } from '../../../protocol/rooms';
import { challengeCriteria, challengeLimits, type CriteriaScores } from '../../../protocol/challenges';
import type { FromWebview, WebviewCommand, WebviewMethod, WebviewRequest } from '../../../protocol/webview';
import { overLimit } from '../../../protocol/sizeLimit';

export const allowedCommands: ReadonlySet<WebviewCommand> = new Set<WebviewCommand>([
  'personaMesh.showStatus',
  'personaMesh.setMeshKey',
  'personaMesh.showLogs',
  'personaMesh.restartServer',
]);

const presenceStates: ReadonlySet<PresenceState> = new Set<PresenceState>(['online', 'away', 'busy', 'training', 'evolving', 'collaborating', 'offline']);

export const webviewLimits = {
  maxIdLength: 256,
  maxPathLength: 1024,
  maxLanguageLength: 64,
  maxEmojiLength: 32,
  maxStatusTextLength: 200,
  maxMentions: 100,
  maxHistoryLimit: 500,
  maxUrlLength: 4096,
  /** Code copied or inserted comes from a message or an attachment: bounded by their limits. */
  maxCodeBytes: roomLimits.maxMessageBytes + roomLimits.maxAttachmentBytes,
  maxLine: 10_000_000,
} as const;

export type Checked = { ok: true; message: FromWebview } | { ok: false; error: string; /** Set when a request can still be answered. */ id?: number };

class Invalid extends Error {}

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function str(value: unknown, name: string, max: number, options: { allowEmpty?: boolean; singleLine?: boolean } = {}): string {
  if (typeof value !== 'string') throw new Invalid(`${name} must be text`);
  if (!options.allowEmpty && value.length === 0) throw new Invalid(`${name} is empty`);
  if (value.length > max) throw new Invalid(`${name} is too long (${value.length} characters; the limit is ${max})`);
  // eslint-disable-next-line no-control-regex
  if (options.singleLine && /[\u0000-\u001f\u007f]/.test(value)) throw new Invalid(`${name} contains control characters`);
  return value;
}

function optStr(value: unknown, name: string, max: number): string | undefined {
  return value === undefined ? undefined : str(value, name, max, { singleLine: true });
}

function bytes(value: unknown, name: string, maxBytes: number, what: string): string {
  if (typeof value !== 'string') throw new Invalid(`${name} must be text`);
  // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
  const size = value.length * 3 > maxBytes ? utf8Bytes(value) : 0;
  if (size > maxBytes) throw new Invalid(`the ${what} is ${overLimit(size, maxBytes)}`);
  return value;
}

function roomId(value: unknown): string {
  if (typeof value !== 'string' || !roomIdPattern.test(value)) throw new Invalid('a room id is 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit');
  return value;
}

function id(value: unknown, name: string): string {
  return str(value, name, webviewLimits.maxIdLength, { singleLine: true });
}

function int(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new Invalid(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

/** Workspace-relative, `/`-separated, no `..`, not absolute. */
export function relativePath(value: unknown): string {
  const path = str(value, 'the path', webviewLimits.maxPathLength, { singleLine: true });
  if (path.startsWith('/') || path.startsWith('\\') || /^[a-zA-Z]:/.test(path) || path.includes('\\')) throw new Invalid('the path must be relative to the workspace');
  if (path.split('/').some((segment) => segment === '..' || segment === '')) throw new Invalid('the path must not contain ".." or empty segments');
  return path;
}

function language(value: unknown): string {
  const lang = str(value, 'the language', webviewLimits.maxLanguageLength, { singleLine: true, allowEmpty: true });
  if (!/^[\w.+#-]*$/.test(lang)) throw new Invalid('the language id has unexpected characters');
  return lang;
}

function lines(obj: Obj): { startLine: number; endLine: number } {
  const startLine = int(obj.startLine, 'the start line', 1, webviewLimits.maxLine);
  const endLine = int(obj.endLine, 'the end line', startLine, webviewLimits.maxLine);
  return { startLine, endLine };
}

function attachment(value: unknown): CodeAttachment | undefined {
  if (value === undefined) return undefined;
  if (!isObj(value)) throw new Invalid('the attachment must be an object');
  return {
    path: relativePath(value.path),
    language: language(value.language),
    ...lines(value),
    content: bytes(value.content, 'the attachment', roomLimits.maxAttachmentBytes, 'attachment'),
  };
}

function mentions(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > webviewLimits.maxMentions) throw new Invalid(`mentions must be a list of at most ${webviewLimits.maxMentions}`);
  return value.map((entry) => id(entry, 'a mention'));
}

function emoji(value: unknown): string {
  const text = str(value, 'the reaction', webviewLimits.maxEmojiLength, { singleLine: true });
  if (/\s/.test(text)) throw new Invalid('a reaction is one emoji');
  return text;
}

function params(method: WebviewMethod, p: Obj): WebviewRequest['params'] {
  switch (method) {
    case 'listRooms':
      return {};
    case 'joinRoom':
    case 'leaveRoom':
      return { roomId: roomId(p.roomId) };
    case 'history': {
      const before = optStr(p.before, 'the message id', webviewLimits.maxIdLength);
      return { roomId: roomId(p.roomId), ...(before !== undefined ? { before } : {}), limit: int(p.limit, 'the page size', 1, webviewLimits.maxHistoryLimit) };
    }
    case 'send': {
      const text = bytes(p.text, 'the message', roomLimits.maxMessageBytes, 'message');
      const att = attachment(p.attachment);
      if (text.trim() === '' && !att) throw new Invalid('the message is empty');
      const replyTo = optStr(p.replyTo, 'the reply id', webviewLimits.maxIdLength);
      const ment = mentions(p.mentions);
      return { roomId: roomId(p.roomId), text, ...(att ? { attachment: att } : {}), ...(replyTo !== undefined ? { replyTo } : {}), ...(ment ? { mentions: ment } : {}) };
    }
    case 'edit': {
      const text = bytes(p.text, 'the message', roomLimits.maxMessageBytes, 'message');
      if (text.trim() === '') throw new Invalid('the message is empty');
      return { roomId: roomId(p.roomId), messageId: id(p.messageId, 'the message id'), text };
    }
    case 'delete':
      return { roomId: roomId(p.roomId), messageId: id(p.messageId, 'the message id') };
    case 'react':
      if (typeof p.add !== 'boolean') throw new Invalid('add must be true or false');
      return { roomId: roomId(p.roomId), messageId: id(p.messageId, 'the message id'), emoji: emoji(p.emoji), add: p.add };
    case 'setPresence': {
      if (typeof p.presence !== 'string' || !presenceStates.has(p.presence as PresenceState)) throw new Invalid('unknown presence');
      const statusText = p.statusText === undefined ? undefined : str(p.statusText, 'the status text', webviewLimits.maxStatusTextLength, { singleLine: true, allowEmpty: true });
      return { presence: p.presence as PresenceState, ...(statusText !== undefined ? { statusText } : {}) };
    }
    case 'insertCode': {
      const code = bytes(p.code, 'the code', webviewLimits.maxCodeBytes, 'code');
      return p.language === undefined ? { code } : { code, language: language(p.language) };
    }
    case 'openAttachment':
      return { path: relativePath(p.path), ...lines(p) };
    case 'copyText':
      return { text: bytes(p.text, 'the text', webviewLimits.maxCodeBytes, 'text') };
    case 'submitScores':
      return { challengeId: id(p.challengeId, 'the challenge id'), scores: judgingCard(p.scores) };
  }
}

const methods: ReadonlySet<string> = new Set<WebviewMethod>(['listRooms', 'joinRoom', 'leaveRoom', 'history', 'send', 'edit', 'delete', 'react', 'setPresence', 'insertCode', 'openAttachment', 'copyText', 'submitScores']);

/** A judging card: answer label → a whole score 0…10 per criterion (the server checks the labels). */
function judgingCard(value: unknown): Record<string, CriteriaScores> {
  if (!isObj(value)) throw new Invalid('the scores are missing');
  const labels = Object.keys(value);
  if (labels.length === 0 || labels.length > challengeLimits.maxParticipants) throw new Invalid('the scores name no answer, or too many');
  const card: Record<string, CriteriaScores> = {};
  for (const label of labels) {
    if (!/^[A-Z]{1,3}$/.test(label)) throw new Invalid('an answer label is not valid');
    const scores = value[label];
    if (!isObj(scores)) throw new Invalid(`answer ${label} has no scores`);
    card[label] = Object.fromEntries(challengeCriteria.map((c) => [c, int(scores[c], `the ${c} score of answer ${label}`, 0, challengeLimits.maxScore)])) as CriteriaScores;
  }
  return card;
}

/** Only web and mail links leave the panel. */
export function safeLink(value: unknown): string {
  const text = str(value, 'the link', webviewLimits.maxUrlLength, { singleLine: true });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Invalid('the link is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'mailto:') throw new Invalid(`links to ${url.protocol} are not opened from the chat`);
  return url.toString();
}

export function checkFromWebview(raw: unknown): Checked {
  if (!isObj(raw) || typeof raw.type !== 'string') return { ok: false, error: 'not a message object' };
  let requestId: number | undefined;
  try {
    switch (raw.type) {
      case 'ready':
        return { ok: true, message: { type: 'ready' } };
      case 'runCommand':
        if (typeof raw.command !== 'string' || !allowedCommands.has(raw.command as WebviewCommand)) throw new Invalid(`the command ${JSON.stringify(String(raw.command).slice(0, 80))} is not allowed from the chat panel`);
        return { ok: true, message: { type: 'runCommand', command: raw.command as WebviewCommand } };
      case 'request': {
        if (typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id) || raw.id < 0) throw new Invalid('a request needs a numeric id');
        requestId = raw.id;
        if (typeof raw.method !== 'string' || !methods.has(raw.method)) throw new Invalid(`unknown request ${JSON.stringify(String(raw.method).slice(0, 40))}`);
        const method = raw.method as WebviewMethod;
        const p = raw.params === undefined ? {} : raw.params;
        if (!isObj(p)) throw new Invalid('request params must be an object');
        return { ok: true, message: { type: 'request', id: raw.id, method, params: params(method, p) } as WebviewRequest };
      }
      case 'typing':
      case 'roomShown':
        return { ok: true, message: { type: raw.type, roomId: roomId(raw.roomId) } };
      case 'rate': {
        const rating = raw.rating;
        if (rating !== 'up' && rating !== 'down' && rating !== null) throw new Invalid('a rating is "up", "down" or null');
        return { ok: true, message: { type: 'rate', roomId: roomId(raw.roomId), messageId: id(raw.messageId, 'the message id'), persona: id(raw.persona, 'the persona'), rating } };
      }
      case 'openLink':
        return { ok: true, message: { type: 'openLink', url: safeLink(raw.url) } };
      default:
        return { ok: false, error: `unknown message type ${JSON.stringify(raw.type.slice(0, 40))}` };
    }
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: error.message, ...(requestId !== undefined ? { id: requestId } : {}) };
    throw error;
  }
}
