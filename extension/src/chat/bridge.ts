/**
 * Turns the chat panel's room requests into mesh server requests and any failure into one line
 * for the user. No `vscode` import: unit-tested in plain Node with a stand-in sender.
 */
import { ErrorCodes, RequestType, ResponseError, type RequestType0 } from 'vscode-languageserver-protocol';
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
import type { RateParams, WebviewRequest, WebviewRequests } from '../../../protocol/webview';

/** The part of Ctx the bridge needs. */
export interface RequestSender {
  sendRequest<P, R>(type: RequestType<P, R, void>, params: P): Promise<R>;
  sendRequest<R>(type: RequestType0<R, void>): Promise<R>;
}

/** Room requests the server answers; the rest (editor actions) are handled by the panel host. */
export type RoomsRequest = Extract<WebviewRequest, { method: 'listRooms' | 'joinRoom' | 'leaveRoom' | 'history' | 'send' | 'edit' | 'delete' | 'react' | 'setPresence' }>;

export function isRoomsRequest(request: WebviewRequest): request is RoomsRequest {
  return !['insertCode', 'openAttachment', 'copyText', 'submitScores'].includes(request.method);
}

/** Thumbs for the academy. No server method exists yet; when one does, it has this name. */
export const rateRequestType = new RequestType<RateParams, void, void>('mesh/academy/rate');

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

const serverMethods: Record<RoomsRequest['method'], string> = {
  listRooms: ListRoomsRequest.method,
  joinRoom: JoinRoomRequest.method,
  leaveRoom: LeaveRoomRequest.method,
  history: HistoryRequest.method,
  send: SendMessageRequest.method,
  edit: EditMessageRequest.method,
  delete: DeleteMessageRequest.method,
  react: ReactRequest.method,
  setPresence: SetPresenceRequest.method,
};

export async function forwardRoomsRequest(sender: RequestSender, request: RoomsRequest): Promise<WebviewRequests[RoomsRequest['method']]['result']> {
  const work = ((): Promise<unknown> => {
    switch (request.method) {
      case 'listRooms':
        return sender.sendRequest(ListRoomsRequest.type);
      case 'joinRoom':
        return sender.sendRequest(JoinRoomRequest.type, request.params);
      case 'leaveRoom':
        return sender.sendRequest(LeaveRoomRequest.type, request.params);
      case 'history':
        return sender.sendRequest(HistoryRequest.type, request.params);
      case 'send':
        return sender.sendRequest(SendMessageRequest.type, request.params);
      case 'edit':
        return sender.sendRequest(EditMessageRequest.type, request.params);
      case 'delete':
        return sender.sendRequest(DeleteMessageRequest.type, request.params);
      case 'react':
        return sender.sendRequest(ReactRequest.type, request.params);
      case 'setPresence':
        return sender.sendRequest(SetPresenceRequest.type, request.params);
    }
  })();
  const result = await withTimeout(work, requestTimeoutMs, `(${serverMethods[request.method]})`);
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
  return serverMethods[method];
}
