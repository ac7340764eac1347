/**
 * A window's node running on a copy of another node's data folder (a restored backup, a cloned
 * VM, a synced folder) is refused by the mesh: the server reports problem `identity-duplicate`.
 * The way out is a new identity for this window's node: the server moves the old key aside (it is
 * the only copy of that node id's key, so it is renamed, never deleted) and restarts.
 */
import * as vscode from 'vscode';
import { NewIdentityRequest } from '../../protocol/extension';
import { duplicateIdentityProblem, type NodeProblem, type NodeStatus } from '../../protocol/status';
import type { Ctx } from './ctx';

export const createNewIdentityAction = 'Create New Identity';
export const createNewIdentityCommand = 'personaMesh.createNewIdentity';

export function duplicateIdentityOf(status: NodeStatus | undefined): NodeProblem | undefined {
  return status?.problems.find((problem) => problem.code === duplicateIdentityProblem);
}

/**
 * Offers a new identity once per server process that reports the problem; the command (behind the
 * offer's button and Show Status's) does it.
 */
export function registerNewIdentity(ctx: Ctx): vscode.Disposable[] {
  let offeredTo: number | undefined;
  return [
    ctx.onDidChangeStatus((status) => {
      const problem = duplicateIdentityOf(status);
      if (!status || !problem || offeredTo === status.pid) return;
      offeredTo = status.pid;
      void offer(ctx, problem);
    }),
    vscode.commands.registerCommand(createNewIdentityCommand, () => createNewIdentity(ctx)),
  ];
}

async function offer(ctx: Ctx, problem: NodeProblem): Promise<void> {
  const message = problem.message.charAt(0).toUpperCase() + problem.message.slice(1);
  const choice = await vscode.window.showErrorMessage(`Persona Mesh: ${message}`, createNewIdentityAction, 'Show Logs');
  if (choice === createNewIdentityAction) await createNewIdentity(ctx);
  if (choice === 'Show Logs') ctx.log.show();
}

/** Only for a node the mesh refused as a copy: any other node keeps its identity (and its place in everyone's history). */
async function createNewIdentity(ctx: Ctx): Promise<void> {
  if (!duplicateIdentityOf(ctx.status ?? (await ctx.refreshStatus()))) {
    void vscode.window.showInformationMessage("Persona Mesh: the mesh has not refused this window's node as a copy of another node, so it keeps its identity.");
    return;
  }
  try {
    const { movedTo } = await ctx.sendRequest(NewIdentityRequest.type);
    ctx.log.info(`the old identity key is kept as ${movedTo}; restarting the mesh server with a new identity`);
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Persona Mesh: restarting with a new identity' }, async () => {
      await ctx.restart();
      await ctx.whenRunning(15_000);
    });
    const id = ctx.status ? ` ${ctx.status.nodeIdDisplay}` : '';
    void vscode.window.showInformationMessage(`This window's node has a new identity${id}. The old key is kept as ${movedTo}.`);
  } catch (error) {
    void vscode.window.showErrorMessage(`Persona Mesh: could not create a new identity: ${(error as Error).message}`);
  }
}
