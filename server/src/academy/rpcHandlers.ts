/**
 * The extension ↔ server methods of the academy (protocol/academy.ts) on the server's connection.
 * Each request's params are checked once, by `academyParams`; refusals reach the client as
 * ResponseErrors whose message is one line for the user.
 *
 *   registerAcademyHandlers(connection, academy)               // a started Academy
 *   registerAcademyHandlers(connection, () => node.academy)     // or a provider (awaited per request)
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import type { Logger } from '../kernel/log';
import { academyParams, AcademyExportRequest, AcademyLeaderboardRequest, AcademyRateRequest, AcademySignalNotification, AcademySignalsRequest, type Signal } from '../../../protocol/academy';
import { requestHandlers } from '../kernel/requestHandlers';
import type { Academy } from './academy';

export type AcademyConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type AcademySource = Academy | (() => Academy | undefined | Promise<Academy | undefined>);

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
  if (typeof source !== 'function') attach(source);

  const handlers = requestHandlers(connection, {
    scope: 'academy',
    service: source,
    // The first request after the node started attaches the notifications.
    found: attach,
    unavailable: 'the academy is not available: the mesh node has not started (see Persona Mesh: Show Status)',
    ...(logger ? { logger } : {}),
  });
  handlers.request(AcademyRateRequest.type, academyParams.rate, (academy, p) => academy.rate(p));
  handlers.request(AcademyLeaderboardRequest.type, academyParams.leaderboard, (academy, p) => academy.leaderboard(p?.category, p?.before));
  handlers.request(AcademySignalsRequest.type, academyParams.signals, (academy, p) => academy.signals(p));
  handlers.request(AcademyExportRequest.type, academyParams.export, (academy, p) => academy.exportTo(p));

  return {
    dispose: () => {
      handlers.dispose();
      detach?.();
      detach = undefined;
      attached = undefined;
    },
  };
}
