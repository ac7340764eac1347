/**
 * The extension ↔ server methods of the node itself on the server's connection: status, peers,
 * ping, a new identity and log level (protocol/extension.ts), the evolution policy and history
 * (protocol/evolution.ts), cancelling a model download (protocol/personas.ts). Refusals reach the
 * client as ResponseErrors whose message is one line for the user.
 *
 *   registerNodeHandlers(connection, () => startedNode, { logger, setLogLevel })
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import { EvolutionHistoryRequest, evolutionParams, SetEvolutionPolicyNotification } from '../../../protocol/evolution';
import { NewIdentityRequest, nodeParams, PeersRequest, PingPeerRequest, SetLogLevelNotification, StatusRequest } from '../../../protocol/extension';
import { ServiceError } from '../../../protocol/errors';
import { CancelModelDownloadRequest, modelDownloadParams } from '../../../protocol/personas';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import type { LogLevel } from '../../../protocol/extension';
import { requestHandlers } from '../kernel/requestHandlers';
import type { MeshNode } from './meshNode';

export type NodeConnection = Pick<Connection, 'onRequest' | 'onNotification'>;

export interface NodeHandlerOptions {
  logger: Logger;
  /** The level from which records go to the client. */
  setLogLevel(level: LogLevel): void;
}

export function registerNodeHandlers(connection: NodeConnection, source: () => Promise<MeshNode>, options: NodeHandlerOptions): Disposable {
  const { logger } = options;
  // Every method but the log level waits for the node to start (or fail to: it reports why in its status).
  const node = requestHandlers(connection, { scope: 'node', service: source, unavailable: 'the mesh node has not started (see Persona Mesh: Show Status)', logger });
  node.request0(StatusRequest.type, (started) => started.status());
  node.request0(PeersRequest.type, (started) => started.peers());
  node.request(PingPeerRequest.type, nodeParams.pingPeer, async (started, p) => {
    const network = started.network;
    if (!network) throw new ServiceError('unavailable', 'the node is not on a mesh: set the mesh key first');
    const start = performance.now();
    try {
      await network.call(p.nodeId, 'ping', {}, { timeoutMs: 3000 });
    } catch (error) {
      throw new ServiceError('unavailable', `ping failed: ${describeError(error)}`);
    }
    return { rttMs: performance.now() - start };
  });
  node.request0(NewIdentityRequest.type, (started) => {
    try {
      return { movedTo: started.moveIdentityAside() };
    } catch (error) {
      throw new ServiceError('unavailable', `the identity key could not be moved aside: ${describeError(error)}`);
    }
  });
  node.request(CancelModelDownloadRequest.type, modelDownloadParams.cancel, (started, p) => ({ cancelled: started.modelDownloads?.cancel(p.model) ?? false }));
  node.request0(EvolutionHistoryRequest.type, (started) => started.evolution?.history() ?? []);
  node.notification(SetEvolutionPolicyNotification.type, evolutionParams.setPolicy, (started, p) => {
    if (started.evolution) started.evolution.policy = p.policy;
  });

  // The log level applies at once, also while the node is starting: its own registrar, whose service is always there.
  const settings = requestHandlers(connection, { scope: 'node', service: () => options, unavailable: 'the log level cannot be set', logger });
  settings.notification(SetLogLevelNotification.type, nodeParams.setLogLevel, (own, p) => own.setLogLevel(p.level));

  return {
    dispose: () => {
      node.dispose();
      settings.dispose();
    },
  };
}
