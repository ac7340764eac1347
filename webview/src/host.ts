/**
 * The extension boundary: typed requests with one answer each (or a timeout, so the panel never
 * waits forever), and a stream of ToWebview messages.
 */
import type { ToWebview, WebviewMethod, WebviewRequests } from '../../protocol/webview';
import { vscode } from './vscodeApi';

const requestTimeoutMs = 30_000;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

let nextId = 1;
const pending = new Map<number, Pending>();
const listeners = new Set<(message: ToWebview) => void>();

export class RequestError extends Error {}

export function request<M extends WebviewMethod>(method: M, params: WebviewRequests[M]['params']): Promise<WebviewRequests[M]['result']> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new RequestError('The editor did not answer in time; try again.'));
    }, requestTimeoutMs);
    pending.set(id, { resolve: resolve, reject, timer });
    vscode.postMessage({ type: 'request', id, method, params } as never);
  });
}

/** Messages other than responses. */
export function onHostMessage(listener: (message: ToWebview) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function isToWebview(data: unknown): data is ToWebview {
  return typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = event.data;
  if (!isToWebview(message)) return;
  if (message.type === 'response') {
    const entry = pending.get(message.id);
    if (!entry) return;
    pending.delete(message.id);
    clearTimeout(entry.timer);
    if (message.ok) entry.resolve(message.result);
    else entry.reject(new RequestError(message.error));
    return;
  }
  for (const listener of listeners) listener(message);
});

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
