/**
 * Checks every message the chat webview posts. The webview renders remote text, so whatever it
 * sends is untrusted input: shapes, types and sizes are checked here, and a fresh object with only
 * the known fields is returned (nothing unchecked reaches the server or the editor). Room requests
 * and judging cards are checked by the protocol's own checkers (`roomParams`, `challengeParams`),
 * the same the server applies, so both ends refuse with the same words and limits.
 * No `vscode` import: unit-tested in plain Node.
 */
import { roomLimits, roomIdPattern } from '../../../protocol/rooms';
import { languageId, lineRange, roomParams, workspacePath } from '../../../protocol/roomsRpc';
import { challengeParams } from '../../../protocol/challenges';
import { isRecord, oneOf, text } from '../../../protocol/check';
import { ServiceError } from '../../../protocol/errors';
import type { FromWebview, WebviewCommand, WebviewMethod, WebviewRequest } from '../../../protocol/webview';

const allowedCommands: ReadonlySet<WebviewCommand> = new Set<WebviewCommand>([
  'personaMesh.showStatus',
  'personaMesh.setMeshKey',
  'personaMesh.showLogs',
  'personaMesh.restartServer',
]);

/** Editor actions the panel asks for; the room requests' limits are the protocol's (roomLimits). */
const webviewLimits = {
  maxIdLength: 256,
  maxUrlLength: 4096,
  /** Code copied or inserted comes from a message or an attachment: bounded by their limits. */
  maxCodeBytes: roomLimits.maxMessageBytes + roomLimits.maxAttachmentBytes,
  maxLine: 10_000_000,
} as const;

export type Checked = { ok: true; message: FromWebview } | { ok: false; error: string; /** Set when a request can still be answered. */ id?: number };

const id = text({ max: webviewLimits.maxIdLength, singleLine: true });
const code = text({ max: webviewLimits.maxCodeBytes, bytes: true, allowEmpty: true });
const roomId = text({ max: 64, pattern: roomIdPattern, hint: 'a room id is 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit' });
const rating = (value: unknown): 'up' | 'down' | null => (value === null ? null : oneOf(['up', 'down'], 'a rating is "up", "down" or null')(value, 'the rating'));

function params(method: WebviewMethod, p: Record<string, unknown>): WebviewRequest['params'] {
  switch (method) {
    case 'listRooms':
      return {};
    case 'joinRoom':
      return roomParams.join(p, 'the request');
    case 'leaveRoom':
      return roomParams.leave(p, 'the request');
    case 'history':
    case 'send':
    case 'edit':
    case 'delete':
    case 'react':
    case 'setPresence':
      return roomParams[method](p, 'the request');
    case 'insertCode': {
      const checked = code(p.code, 'the code');
      return p.language === undefined ? { code: checked } : { code: checked, language: languageId(p.language, 'the language') };
    }
    case 'openAttachment':
      return { path: workspacePath(p.path, 'the path'), ...lineRange(webviewLimits.maxLine)(p, 'the line range') };
    case 'copyText':
      return { text: code(p.text, 'the text') };
    case 'submitScores':
      return challengeParams.score(p, 'the request');
  }
}

const methods: ReadonlySet<string> = new Set<WebviewMethod>(['listRooms', 'joinRoom', 'leaveRoom', 'history', 'send', 'edit', 'delete', 'react', 'setPresence', 'insertCode', 'openAttachment', 'copyText', 'submitScores']);

/** Only web and mail links leave the panel. */
function safeLink(value: unknown): string {
  const link = text({ max: webviewLimits.maxUrlLength, singleLine: true })(value, 'the link');
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new ServiceError('invalid', 'the link is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'mailto:') throw new ServiceError('invalid', `links to ${url.protocol} are not opened from the chat`);
  return url.toString();
}

export function checkFromWebview(raw: unknown): Checked {
  if (!isRecord(raw) || typeof raw.type !== 'string') return { ok: false, error: 'not a message object' };
  let requestId: number | undefined;
  try {
    switch (raw.type) {
      case 'ready':
        return { ok: true, message: { type: 'ready' } };
      case 'runCommand':
        if (typeof raw.command !== 'string' || !allowedCommands.has(raw.command as WebviewCommand)) throw new ServiceError('invalid', `the command ${JSON.stringify(String(raw.command).slice(0, 80))} is not allowed from the chat panel`);
        return { ok: true, message: { type: 'runCommand', command: raw.command as WebviewCommand } };
      case 'request': {
        if (typeof raw.id !== 'number' || !Number.isSafeInteger(raw.id) || raw.id < 0) throw new ServiceError('invalid', 'a request needs a numeric id');
        requestId = raw.id;
        if (typeof raw.method !== 'string' || !methods.has(raw.method)) throw new ServiceError('invalid', `unknown request ${JSON.stringify(String(raw.method).slice(0, 40))}`);
        const method = raw.method as WebviewMethod;
        const p = raw.params === undefined ? {} : raw.params;
        if (!isRecord(p)) throw new ServiceError('invalid', 'request params must be an object');
        return { ok: true, message: { type: 'request', id: raw.id, method, params: params(method, p) } as WebviewRequest };
      }
      case 'typing':
      case 'roomShown':
        return { ok: true, message: { type: raw.type, roomId: roomId(raw.roomId, 'the room id') } };
      case 'rate':
        return { ok: true, message: { type: 'rate', roomId: roomId(raw.roomId, 'the room id'), messageId: id(raw.messageId, 'the message id'), persona: id(raw.persona, 'the persona'), rating: rating(raw.rating) } };
      case 'openLink':
        return { ok: true, message: { type: 'openLink', url: safeLink(raw.url) } };
      default:
        return { ok: false, error: `unknown message type ${JSON.stringify(raw.type.slice(0, 40))}` };
    }
  } catch (error) {
    if (error instanceof ServiceError) return { ok: false, error: error.message, ...(requestId !== undefined ? { id: requestId } : {}) };
    throw error;
  }
}
