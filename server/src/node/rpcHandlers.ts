/**
 * The extension ↔ server methods of the node itself on the server's connection: status, peers,
 * ping, a new identity and log level (protocol/extension.ts), the evolution policy and history
 * (protocol/evolution.ts), cancelling a model download (protocol/personas.ts). Refusals reach the
 * client as ResponseErrors whose message is one line for the user.
 *
 *   registerNodeHandlers(connection, () => startedNode, { logger, setLogLevel })
 */
import { ErrorCodes, ResponseError, type Connection, type Disposable } from 'vscode-languageserver';
import { EvolutionHistoryRequest, SetEvolutionPolicyNotification } from '../../../protocol/evolution';
import { NewIdentityRequest, PeersRequest, PingPeerRequest, SetLogLevelNotification, StatusRequest } from '../../../protocol/extension';
import { CancelModelDownloadRequest } from '../../../protocol/personas';
import { describeError } from '../kernel/lifecycle';
import { logLevels, type Logger, type LogLevel } from '../kernel/log';
import type { MeshNode } from './meshNode';

export type NodeConnection = Pick<Connection, 'onRequest' | 'onNotification'>;

export interface NodeHandlerOptions {
  logger: Logger;
  /** The level from which records go to the client. */
  setLogLevel(level: LogLevel): void;
}

function field(params: unknown, key: string): unknown {
  return typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[key] : undefined;
}

function text(params: unknown, key: string): string {
  const value = field(params, key);
  if (typeof value !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, `the request needs "${key}" (text)`);
  return value;
}

export function registerNodeHandlers(connection: NodeConnection, source: () => Promise<MeshNode>, options: NodeHandlerOptions): Disposable {
  const { logger } = options;
  // Refusals are ResponseErrors thrown on purpose; anything else is a failure of this node.
  const handle = <R>(run: (node: MeshNode, params: unknown) => R | Promise<R>) => {
    return async (params: unknown): Promise<R> => {
      try {
        return await run(await source(), params);
      } catch (error) {
        if (error instanceof ResponseError) throw error;
        logger.error(`node request failed: ${describeError(error)}`);
        throw new ResponseError(ErrorCodes.InternalError, describeError(error).split('\n')[0]!.slice(0, 500));
      }
    };
  };

  const disposables: Disposable[] = [
    connection.onRequest(StatusRequest.type, handle((node) => node.status())),
    connection.onRequest(PeersRequest.type, handle((node) => node.peers())),
    connection.onRequest(
      PingPeerRequest.type,
      handle(async (node, params) => {
        const nodeId = text(params, 'nodeId');
        const network = node.network;
        if (!network) throw new ResponseError(1, 'the node is not on a mesh: set the mesh key first');
        const started = performance.now();
        try {
          await network.call(nodeId, 'ping', {}, { timeoutMs: 3000 });
        } catch (error) {
          throw new ResponseError(2, `ping failed: ${describeError(error)}`);
        }
        return { rttMs: performance.now() - started };
      }),
    ),
    connection.onRequest(
      NewIdentityRequest.type,
      handle((node) => {
        try {
          return { movedTo: node.moveIdentityAside() };
        } catch (error) {
          throw new ResponseError(1, `the identity key could not be moved aside: ${describeError(error)}`);
        }
      }),
    ),
    connection.onRequest(CancelModelDownloadRequest.type, handle((node, params) => ({ cancelled: node.modelDownloads?.cancel(text(params, 'model')) ?? false }))),
    connection.onRequest(EvolutionHistoryRequest.type, handle((node) => node.evolution?.history() ?? [])),
    connection.onNotification(SetLogLevelNotification.type, (params: unknown) => {
      const level = field(params, 'level');
      // An unknown level would hide every record from the client.
      if (logLevels.includes(level as LogLevel)) options.setLogLevel(level as LogLevel);
      else logger.warn(`ignored the log level ${typeof level === 'string' ? JSON.stringify(level.slice(0, 40)) : typeof level} (known: ${logLevels.join(', ')})`);
    }),
    connection.onNotification(SetEvolutionPolicyNotification.type, (params: unknown) => {
      void source().then((node) => {
        try {
          if (node.evolution) node.evolution.policy = field(params, 'policy') as never;
        } catch (error) {
          logger.warn(describeError(error));
        }
      });
    }),
  ];
  return { dispose: () => disposables.forEach((disposable) => disposable.dispose()) };
}
