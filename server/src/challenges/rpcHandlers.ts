/**
 * The extension ↔ server methods of challenges (protocol/challenges.ts) on the server's connection.
 * Refusals reach the client as ResponseErrors whose message is one line for the user.
 *
 *   registerChallengeHandlers(connection, () => node.challenges)   // a provider, awaited per request
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { ChallengeChangedNotification, ListChallengesRequest, StartChallengeRequest, SubmitScoresRequest, type ChallengeSpec, type ChallengeView, type SubmitScoresParams } from '../../../protocol/challenges';
import { ServiceError } from '../../../protocol/errors';
import { toResponseError } from '../kernel/responseError';
import type { ChallengeService } from './service';

export type ChallengeConnection = Pick<Connection, 'onRequest' | 'sendNotification'>;
export type ChallengeSource = () => ChallengeService | undefined | Promise<ChallengeService | undefined>;

export function registerChallengeHandlers(connection: ChallengeConnection, source: ChallengeSource, logger?: Logger): Disposable {
  let attached: ChallengeService | undefined;
  const onChanged = (view: ChallengeView) => void connection.sendNotification(ChallengeChangedNotification.type, view).catch(() => undefined);
  const resolve = async (): Promise<ChallengeService> => {
    const service = await source();
    if (!service) throw new ServiceError('unavailable', 'challenges are not available: the mesh node has not started (see Persona Mesh: Show Status)');
    if (attached !== service) {
      attached?.off('changed', onChanged);
      attached = service;
      service.on('changed', onChanged);
    }
    return service;
  };
  const handle = <P, R>(run: (service: ChallengeService, params: P) => R) => {
    return async (value: P): Promise<R> => {
      try {
        return run(await resolve(), value);
      } catch (error) {
        if (!(error instanceof ServiceError)) logger?.error(`challenge request failed: ${describeError(error)}`);
        throw toResponseError(error, 'challenges');
      }
    };
  };
  // Notifications must flow before the client asks anything (a judge who never opened the history).
  void Promise.resolve()
    .then(resolve)
    .catch(() => undefined);
  const disposables: Disposable[] = [
    connection.onRequest(StartChallengeRequest.type, handle((service, p: ChallengeSpec) => service.create(p))),
    connection.onRequest(ListChallengesRequest.type, handle((service) => service.list())),
    connection.onRequest(SubmitScoresRequest.type, handle((service, p: SubmitScoresParams) => service.submitScores(p))),
  ];
  return {
    dispose: () => {
      for (const disposable of disposables) disposable.dispose();
      attached?.off('changed', onChanged);
      attached = undefined;
    },
  };
}
