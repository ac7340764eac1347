import type * as vscode from 'vscode';
import type { GenomeSummary } from '../../protocol/genomes';
import type { NodeStatus } from '../../protocol/status';

/** What `activate` returns: for other extensions and for the extension integration tests. */
export interface PersonaMeshApi {
  /** The node's status from the server, or undefined while the server is not running. */
  status(): Promise<NodeStatus | undefined>;
  /** The mesh server's process id, once it has reported a status. */
  serverPid(): number | undefined;
  readonly onDidChangeStatus: vscode.Event<NodeStatus | undefined>;
  /**
   * Asks a persona on the mesh (by id or name) through its room and resolves with its whole
   * answer; `onText` receives the answer as it streams. Rejects with the persona's notice when
   * its brain fails, or when no persona of that name is known.
   */
  askPersona(persona: string, question: string, onText?: (delta: string) => void): Promise<{ text: string; roomId: string; personaId: string; nodeId: string }>;
  /** The genomes the Genomes view shows (held here, then seen on the mesh), refreshed. */
  genomes(): Promise<readonly GenomeSummary[]>;
}
