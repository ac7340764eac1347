/**
 * The extension ↔ server methods of the academy (protocol/academy.ts) on the server's connection.
 * Refusals reach the client as ResponseErrors whose message is one line for the user.
 *
 *   registerAcademyHandlers(connection, academy)               // a started Academy
 *   registerAcademyHandlers(connection, () => node.academy)     // or a provider (awaited per request)
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import {
  AcademyExportRequest,
  AcademyLeaderboardRequest,
  AcademyRateRequest,
  AcademySignalNotification,
  AcademySignalsRequest,
  type AcademyExportParams,
  type AcademyLeaderboardParams,
  type AcademyRateParams,
  type AcademySignalsParams,
  type Signal,
  type SignalCategory,
} from '../../../protocol/academy';
import { ServiceError } from '../../../protocol/errors';
import { toResponseError } from '../kernel/responseError';
import type { Academy } from './academy';

export type AcademyConnection = Pick<Connection, 'onRequest' | 'sendNotification'>;
export type AcademySource = Academy | (() => Academy | undefined | Promise<Academy | undefined>);

function params(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ServiceError('invalid', 'the request has no parameters');
  return value as Record<string, unknown>;
}

export function registerAcademyHandlers(connection: AcademyConnection, source: AcademySource, logger?: Logger): Disposable {
  let attached: Academy | undefined;
  let detach: (() => void) | undefined;
  const onSignal = (signal: Signal) => void connection.sendNotification(AcademySignalNotification.type, signal).catch(() => undefined);
  const attach = (academy: Academy) => {
    if (attached === academy) return;
    detach?.();
    attached = academy;
    academy.on('signal', onSignal);
    detach = () => academy.off('signal', onSignal);
  };
  const resolve = async (): Promise<Academy> => {
    const academy = typeof source === 'function' ? await source() : source;
    if (!academy) throw new ServiceError('unavailable', 'the academy is not available: the mesh node has not started (see Persona Mesh: Show Status)');
    attach(academy);
    return academy;
  };
  if (typeof source !== 'function') attach(source);

  const handle = <P, R>(run: (academy: Academy, params: P) => R) => {
    return async (value: P): Promise<R> => {
      try {
        return run(await resolve(), value);
      } catch (error) {
        if (!(error instanceof ServiceError)) logger?.error(`academy request failed: ${describeError(error)}`);
        throw toResponseError(error, 'academy');
      }
    };
  };

  const disposables: Disposable[] = [
    connection.onRequest(AcademyRateRequest.type, handle((academy, p: AcademyRateParams) => academy.rate(params(p) as unknown as AcademyRateParams))),
    connection.onRequest(
      AcademyLeaderboardRequest.type,
      handle((academy, p: AcademyLeaderboardParams | undefined) => {
        if (p === undefined || p === null) return academy.leaderboard();
        const { category, before } = params(p);
        return academy.leaderboard((category as SignalCategory | undefined) ?? undefined, (before as number | undefined) ?? undefined);
      }),
    ),
    connection.onRequest(AcademySignalsRequest.type, handle((academy, p: AcademySignalsParams) => academy.signals(params(p) as unknown as AcademySignalsParams))),
    connection.onRequest(AcademyExportRequest.type, handle((academy, p: AcademyExportParams) => academy.exportTo(params(p) as unknown as AcademyExportParams))),
  ];

  return {
    dispose: () => {
      for (const disposable of disposables) disposable.dispose();
      detach?.();
      detach = undefined;
      attached = undefined;
    },
  };
}
