/**
 * Custom LSP methods between the extension (client) and the mesh server, declared once here and
 * imported by both sides (the vscode-eslint pattern). Each comment says which way it travels.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import { object, oneOf, text } from './check';
import { nodeIdPattern } from './mesh';
import type { NetworkSettings, NodeStatus, PeerSummary } from './status';

/** The server's log levels, most verbose first (kernel/log.ts has the same union: the server passes one to the other, so a difference fails to compile). */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * Sent by the client in `initializationOptions`. Not the mesh key: the trace of this traffic
 * (`personaMesh.trace.server`) prints every parameter, so the key travels in the server process's
 * environment (`meshKeyEnvVariable`), and a changed key restarts the server.
 */
export interface ServerInitOptions {
  /** Folder for identity, database and blobs (the extension's global storage). */
  dataDir: string;
  /** Display name of this node (defaults to the host name). */
  nodeName: string;
  logLevel: LogLevel;
  network: NetworkSettings;
  /** Setting personaMesh.genomes.maxSizeMB. */
  genomeMaxSizeMB?: number;
  /**
   * The window's workspace (its file or first folder URI): the node notes it in its data dir lock,
   * so after a window reload the new node waits for the old one instead of taking another folder.
   */
  workspaceKey?: string;
}

/** client → server: the node's current status. */
export namespace StatusRequest {
  export const method = 'mesh/status';
  export const type = new RequestType0<NodeStatus, void>(method);
}

/** server → client: the status changed (state, peers, problems). */
export namespace StatusNotification {
  export const method = 'mesh/statusChanged';
  export const type = new NotificationType<NodeStatus>(method);
}

export interface LogParams {
  level: LogLevel;
  scope: string;
  message: string;
}

/** server → client: a log record for the "Persona Mesh" LogOutputChannel, with its level. */
export namespace LogNotification {
  export const method = 'mesh/log';
  export const type = new NotificationType<LogParams>(method);
}

/** client → server: the user changed the output channel's log level; the server follows it. */
export namespace SetLogLevelNotification {
  export const method = 'mesh/setLogLevel';
  export const type = new NotificationType<{ level: LogLevel }>(method);
}

/** client → server: the peer table (every node discovered, with state, address and RTT). */
export namespace PeersRequest {
  export const method = 'mesh/peers';
  export const type = new RequestType0<PeerSummary[], void>(method);
}

/** client → server: ping a peer over the mesh (a remote command); answers the round trip. */
export namespace PingPeerRequest {
  export const method = 'mesh/pingPeer';
  export const type = new RequestType<{ nodeId: string }, { rttMs: number }, void>(method);
}

/**
 * client → server: moves this node's identity key aside (renamed with a .bak suffix, never
 * deleted) so that the next start creates a new identity; answers where the old key went. The
 * client then restarts the server. The way out for a node that runs on a copy of another node's
 * data folder (problem `identity-duplicate`).
 */
export namespace NewIdentityRequest {
  export const method = 'mesh/newIdentity';
  export const type = new RequestType0<{ movedTo: string }, void>(method);
}

// ---------------------------------------------------------------- checkers of the params


export const nodeParams = {
  pingPeer: object({ nodeId: text({ max: 52, pattern: nodeIdPattern, hint: (value) => `"${value.slice(0, 80)}" is not a node id` }) }, { nodeId: 'the node id' }),
  // An unknown level would hide every record from the client.
  setLogLevel: object({ level: oneOf(logLevels) }, { level: 'the log level' }),
};
