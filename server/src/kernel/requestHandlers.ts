/**
 * One way to serve a feature's extension ↔ server methods: a table of (method, checker, handler).
 * Each request's params are checked once, where they enter the server, by the checker declared
 * beside the method in the protocol; the handler gets them typed. Every failure leaves as a
 * ResponseError whose message is one line for the user (toResponseError); one that is no refusal
 * (a bug, a broken database) is also logged.
 *
 *   const handlers = requestHandlers(connection, { scope: 'rooms', service: () => node.rooms, unavailable: 'rooms are not available: …' });
 *   handlers.request(JoinRoomRequest.type, roomParams.join, (rooms, p) => rooms.join(p.roomId));
 *   handlers.dispose();
 */
import type { CancellationToken, Connection, Disposable, NotificationType, RequestType, RequestType0, ResponseError } from 'vscode-languageserver';
import type { Check } from '../../../protocol/check';
import { ServiceError } from '../../../protocol/errors';
import { describeError } from './lifecycle';
import type { Logger } from './log';
import { toResponseError } from './responseError';

export type HandlerConnection = Pick<Connection, 'onRequest' | 'onNotification'>;

export interface RequestHandlersOptions<S> {
  /** Names the feature in an unexpected failure's message ("rooms: …"). */
  scope: string;
  /** The service, or where to get it once the node has started it (awaited per request; undefined while it is missing). */
  service: S | (() => S | undefined | Promise<S | undefined>);
  /** Called with the service each time a request found it (e.g. to attach its notifications on the first). */
  found?: (service: S) => void;
  /** The refusal when the service is missing: what the user reads, and where to look. */
  unavailable: string;
  logger?: Logger;
  /** Maps a feature's own errors (e.g. GenomeError) before the shared table. */
  ownErrors?: (error: unknown) => ResponseError<void> | undefined;
}

export interface RequestHandlers<S> extends Disposable {
  /** `token` is cancelled when the client gives up ($/cancelRequest): long work should stop. */
  request<P, R>(type: RequestType<P, R, void>, check: Check<P>, handle: (service: S, params: P, token: CancellationToken) => R | Promise<R>): void;
  request0<R>(type: RequestType0<R, void>, handle: (service: S, token: CancellationToken) => R | Promise<R>): void;
  /** A notification has no answer: a refusal is only logged (at debug: the client may be older or newer). */
  notification<P>(type: NotificationType<P>, check: Check<P>, handle: (service: S, params: P) => void | Promise<void>): void;
}

/** Absent params pass only a checker that allows them (`optional(object(…))`); otherwise the refusal says so. */
function checkParams<P>(check: Check<P>, params: unknown): P {
  if (params !== undefined && params !== null) return check(params, 'the request');
  try {
    return check(undefined, 'the request');
  } catch (error) {
    if (error instanceof ServiceError) throw new ServiceError('invalid', 'the request has no parameters');
    throw error;
  }
}

export function requestHandlers<S>(connection: HandlerConnection, options: RequestHandlersOptions<S>): RequestHandlers<S> {
  const disposables: Disposable[] = [];
  const resolve = async (): Promise<S> => {
    const source = options.service;
    const service = typeof source === 'function' ? await (source as () => S | undefined | Promise<S | undefined>)() : source;
    if (service === undefined) throw new ServiceError('unavailable', options.unavailable);
    options.found?.(service);
    return service;
  };
  const fail = (error: unknown, method: string): ResponseError<void> => {
    const response = toResponseError(error, options.scope, options.ownErrors);
    if (!(error instanceof ServiceError) && options.ownErrors?.(error) === undefined) options.logger?.error(`${method} failed: ${describeError(error)}`);
    return response;
  };
  return {
    request(type, check, handle) {
      disposables.push(
        connection.onRequest(type, async (params, token) => {
          try {
            return await handle(await resolve(), checkParams(check, params), token);
          } catch (error) {
            throw fail(error, type.method);
          }
        }),
      );
    },
    request0(type, handle) {
      disposables.push(
        connection.onRequest(type, async (token) => {
          try {
            return await handle(await resolve(), token);
          } catch (error) {
            throw fail(error, type.method);
          }
        }),
      );
    },
    notification(type, check, handle) {
      disposables.push(
        connection.onNotification(type, (params) => {
          const refused = (error: unknown) => {
            if (error instanceof ServiceError) options.logger?.debug(`${type.method} refused: ${error.message}`);
            else options.logger?.error(`${type.method} failed: ${describeError(error)}`);
          };
          void (async () => handle(await resolve(), check(params, 'the notification')))().catch(refused);
        }),
      );
    },
    dispose() {
      for (const disposable of disposables.splice(0)) disposable.dispose();
    },
  };
}
