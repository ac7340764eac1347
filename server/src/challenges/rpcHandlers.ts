/**
 * The extension ↔ server methods of challenges (protocol/challenges.ts) on the server's connection.
 * Each request's params are checked once, by `challengeParams`; refusals reach the client as
 * ResponseErrors whose message is one line for the user.
 *
 *   registerChallengeHandlers(connection, () => node.challenges)   // a provider, awaited per request
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import type { Logger } from '../kernel/log';
import { ChallengeChangedNotification, challengeParams, ListChallengesRequest, StartChallengeRequest, SubmitScoresRequest, type ChallengeView } from '../../../protocol/challenges';
import { requestHandlers } from '../kernel/requestHandlers';
import type { ChallengeService } from './service';

export type ChallengeConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type ChallengeSource = () => ChallengeService | undefined | Promise<ChallengeService | undefined>;

export function registerChallengeHandlers(connection: ChallengeConnection, source: ChallengeSource, logger?: Logger): Disposable {
  let attached: ChallengeService | undefined;
  const onChanged = (view: ChallengeView) => void connection.sendNotification(ChallengeChangedNotification.type, view).catch(() => undefined);
  const attach = async (): Promise<ChallengeService | undefined> => {
    const service = await source();
    if (service && attached !== service) {
      attached?.off('changed', onChanged);
      attached = service;
      service.on('changed', onChanged);
    }
    return service;
  };
  // Notifications must flow before the client asks anything (a judge who never opened the history).
  void Promise.resolve()
    .then(attach)
    .catch(() => undefined);

  const handlers = requestHandlers(connection, {
    scope: 'challenges',
    service: attach,
    unavailable: 'challenges are not available: the mesh node has not started (see Persona Mesh: Show Status)',
    ...(logger ? { logger } : {}),
  });
  handlers.request(StartChallengeRequest.type, challengeParams.start, (service, p) => service.create(p));
  handlers.request0(ListChallengesRequest.type, (service) => service.list());
  handlers.request(SubmitScoresRequest.type, challengeParams.score, (service, p) => service.submitScores(p));

  return {
    dispose: () => {
      handlers.dispose();
      attached?.off('changed', onChanged);
      attached = undefined;
    },
  };
}
