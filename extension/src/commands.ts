import * as vscode from 'vscode';
import { generateMeshKey, meshKeyProblem } from '../../server/src/kernel/meshKey';
import type { NodeStatus } from '../../protocol/status';
import type { ChatPanel } from './chatPanel';
import type { Ctx } from './ctx';
import { PingPeerRequest } from '../../protocol/extension';
import { formatRtt, type PeerItem } from './views/peersTree';
import { createNewIdentityAction, createNewIdentityCommand, duplicateIdentityOf } from './newIdentity';

/** Every command answers, also while the server is down: it says so and offers the way out. */
export function registerCommands(ctx: Ctx, chat: ChatPanel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('personaMesh.showStatus', () => showStatus(ctx)),
    vscode.commands.registerCommand('personaMesh.restartServer', () =>
      vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Restarting the Persona Mesh server' }, () => ctx.restart()),
    ),
    vscode.commands.registerCommand('personaMesh.showLogs', () => ctx.log.show()),
    vscode.commands.registerCommand('personaMesh.setMeshKey', () => setMeshKey(ctx)),
    vscode.commands.registerCommand('personaMesh.copyNodeId', async (item?: PeerItem) => {
      if (item?.kind === 'peer') {
        await vscode.env.clipboard.writeText(item.peer.nodeId);
        void vscode.window.showInformationMessage(`Copied the node id of ${item.peer.name || 'an unnamed node'}: ${item.peer.nodeIdDisplay}`);
        return;
      }
      const status = ctx.status ?? (await ctx.refreshStatus());
      if (!status) return notRunning(ctx);
      await vscode.env.clipboard.writeText(status.nodeId);
      void vscode.window.showInformationMessage(`Copied node id ${status.nodeIdDisplay}`);
    }),
    vscode.commands.registerCommand('personaMesh.pingPeer', (item?: PeerItem) => pingPeer(ctx, item)),
    vscode.commands.registerCommand('personaMesh.addPeer', () => addPeer()),
    vscode.commands.registerCommand('personaMesh.openChat', () => chat.show()),
  ];
}

export function describeStatus(status: NodeStatus): string {
  const peers = `${status.peers} peer${status.peers === 1 ? '' : 's'}`;
  const problems = status.problems.length > 0 ? ` Problems: ${status.problems.map((p) => p.message).join(' ')}` : '';
  return `Persona Mesh node "${status.name}" ${status.nodeIdDisplay}: ${status.state}, ${peers}, mesh key ${status.meshKeySet ? 'set' : 'not set'}.${problems}`;
}

async function showStatus(ctx: Ctx): Promise<void> {
  if (ctx.serverState === 'starting') {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Persona Mesh: waiting for the mesh server' }, () => ctx.whenRunning(15_000));
  }
  const status = await ctx.refreshStatus();
  if (!status) return notRunning(ctx);
  const text = describeStatus(status);
  ctx.log.info(text);
  const show = status.problems.length > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const actions = status.meshKeySet ? ['Copy Node ID', 'Show Logs'] : ['Set Mesh Key', 'Copy Node ID', 'Show Logs'];
  if (duplicateIdentityOf(status)) actions.unshift(createNewIdentityAction);
  const choice = await show(text, ...actions);
  if (choice === createNewIdentityAction) await vscode.commands.executeCommand(createNewIdentityCommand);
  if (choice === 'Copy Node ID') await vscode.commands.executeCommand('personaMesh.copyNodeId');
  if (choice === 'Show Logs') ctx.log.show();
  if (choice === 'Set Mesh Key') await vscode.commands.executeCommand('personaMesh.setMeshKey');
}

async function notRunning(ctx: Ctx): Promise<void> {
  const state = ctx.serverState === 'starting' ? 'is starting; try again in a moment' : 'is not running';
  const choice = await vscode.window.showWarningMessage(`The Persona Mesh server ${state}.`, 'Restart Mesh Server', 'Show Logs');
  if (choice === 'Restart Mesh Server') await vscode.commands.executeCommand('personaMesh.restartServer');
  if (choice === 'Show Logs') ctx.log.show();
}

async function setMeshKey(ctx: Ctx): Promise<void> {
  const generate = 'Generate a new key for a new team';
  const enter = 'Enter the team passphrase or key';
  const pick = await vscode.window.showQuickPick(
    [
      { label: enter, description: 'join an existing mesh' },
      { label: generate, description: 'then share it with teammates over a trusted channel' },
    ],
    { title: 'Persona Mesh: Set Mesh Key', placeHolder: 'Every node of one mesh uses the same key' },
  );
  if (!pick) return;
  let key: string | undefined;
  if (pick.label === generate) {
    key = generateMeshKey();
    await vscode.env.clipboard.writeText(key);
  } else {
    key = await vscode.window.showInputBox({
      title: 'Persona Mesh: Set Mesh Key',
      prompt: 'The team passphrase (8+ characters) or a generated key (pmk1-…)',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => meshKeyProblem(value)?.message,
    });
  }
  if (!key) return;
  const restarted = await ctx.setMeshKey(key);
  const copied = pick.label === generate ? ' The new key is on the clipboard: share it with your team.' : '';
  void vscode.window.showInformationMessage(`Mesh key saved in the editor's secret storage.${copied}${restarted ? '' : ' The server will use it when it runs again.'}`);
}

async function pingPeer(ctx: Ctx, item?: PeerItem): Promise<void> {
  if (item?.kind !== 'peer') {
    void vscode.window.showInformationMessage('Choose a peer in the Peers view to ping it.');
    return;
  }
  try {
    const { rttMs } = await ctx.sendRequest(PingPeerRequest.type, { nodeId: item.peer.nodeId });
    void vscode.window.showInformationMessage(`${item.peer.name} answered in ${formatRtt(rttMs)} (through the encrypted session, a remote command).`);
  } catch (error) {
    void vscode.window.showWarningMessage(`Ping ${item.peer.name}: ${(error as Error).message}`);
  }
}

/** Adds a static peer to the user's settings; the node reconnects with it at once. */
async function addPeer(): Promise<void> {
  const address = await vscode.window.showInputBox({
    title: 'Persona Mesh: Add Peer',
    prompt: 'host:port of another node (its address is in its Peers view or "Show Status")',
    placeHolder: '192.168.1.30:47778',
    ignoreFocusOut: true,
    validateInput: (value) => (/^[^\s:]+:\d{1,5}$/.test(value.trim()) && Number(value.split(':').pop()) <= 65535 ? undefined : 'Enter host:port, for example 192.168.1.30:47778'),
  });
  if (!address) return;
  const config = vscode.workspace.getConfiguration('personaMesh');
  const peers = config.get<string[]>('peers', []);
  if (peers.includes(address.trim())) {
    void vscode.window.showInformationMessage(`${address} is already a static peer.`);
    return;
  }
  await config.update('peers', [...peers, address.trim()], vscode.ConfigurationTarget.Global);
  void vscode.window.showInformationMessage(`Added ${address} to personaMesh.peers; the mesh server reconnects with it.`);
}
