/**
 * Turns the chat panel's room requests into mesh server requests and any failure into one line
 * for the user. No `vscode` import: unit-tested in plain Node with a stand-in sender.
 */
import { ErrorCodes, RequestType, RequestType0, ResponseError } from 'vscode-languageserver-protocol';
import {
  DeleteMessageRequest,
  EditMessageRequest,
  HistoryRequest,
  JoinRoomRequest,
  LeaveRoomRequest,
  ListRoomsRequest,
  ReactRequest,
  SendMessageRequest,
  SetPresenceRequest,
} from '../../../protocol/roomsRpc';
import type { WebviewRequest, WebviewRequests } from '../../../protocol/webview';

/** The part of Ctx the bridge needs. */
export interface RequestSender {
  sendRequest<P, R>(type: RequestType<P, R, void>, params: P): Promise<R>;
  sendRequest<R>(type: RequestType0<R, void>): Promise<R>;
}

/** The panel's room requests and the server method each becomes; the rest (editor actions) the panel host handles. */
const serverRequests = {
  listRooms: ListRoomsRequest.type,
  joinRoom: JoinRoomRequest.type,
  leaveRoom: LeaveRoomRequest.type,
  history: HistoryRequest.type,
  send: SendMessageRequest.type,
  edit: EditMessageRequest.type,
  delete: DeleteMessageRequest.type,
  react: ReactRequest.type,
  setPresence: SetPresenceRequest.type,
} as const;

export type RoomsRequest = Extract<WebviewRequest, { method: keyof typeof serverRequests }>;

export function isRoomsRequest(request: WebviewRequest): request is RoomsRequest {
  return Object.hasOwn(serverRequests, request.method);
}

export const requestTimeoutMs = 20_000;

export class TimeoutError extends Error {}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`The mesh server did not answer ${what} within ${Math.round(ms / 1000)} s.`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function forwardRoomsRequest(sender: RequestSender, request: RoomsRequest): Promise<WebviewRequests[RoomsRequest['method']]['result']> {
  const type = serverRequests[request.method];
  // The params were checked where they entered (validate.ts) against the same protocol checkers.
  const work = type instanceof RequestType0 ? sender.sendRequest(type) : sender.sendRequest(type as RequestType<unknown, unknown, void>, request.params);
  const result = await withTimeout(work, requestTimeoutMs, `(${type.method})`);
  // `void` requests answer null over JSON-RPC; keep the webview's union exact.
  return (result ?? null) as WebviewRequests[RoomsRequest['method']]['result'];
}

/** One line for the user, whatever failed. */
export function describeError(error: unknown, method?: string): string {
  if (error instanceof ResponseError) {
    if (error.code === ErrorCodes.MethodNotFound) return `The mesh server does not handle ${method ?? 'this request'} yet (it may be an older version): try again after updating or restarting it.`;
    return firstLine(error.message);
  }
  if (error instanceof Error) return firstLine(error.message);
  return firstLine(String(error));
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  const short = line.length > 300 ? `${line.slice(0, 299)}…` : line;
  return short || 'The request failed.';
}

export function serverMethodOf(method: RoomsRequest['method']): string {
  return serverRequests[method].method;
}
