import type * as vscode from 'vscode';
import type { NodeStatus } from '../../server/src/protocol/status';

/** What `activate` returns: for other extensions and for the extension integration tests. */
export interface PersonaMeshApi {
  /** The node's status from the server, or undefined while the server is not running. */
  status(): Promise<NodeStatus | undefined>;
  /** The mesh server's process id, once it has reported a status. */
  serverPid(): number | undefined;
  readonly onDidChangeStatus: vscode.Event<NodeStatus | undefined>;
}
