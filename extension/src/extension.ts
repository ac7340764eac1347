import * as vscode from 'vscode';
import type { PersonaMeshApi } from './api';
import { ChatPanel } from './chatPanel';
import { IdlePresence } from './idlePresence';
import { registerCommands } from './commands';
import { registerRoomCommands } from './roomCommands';
import { registerChallengeCommands } from './challengeCommands';
import { Ctx } from './ctx';
import { Log } from './log';
import { MeshKeyStore } from './meshKeyStore';
import { MeshStatusBar } from './statusBar';
import { PeersView } from './views/peersView';
import { GenomesView } from './views/genomesView';
import { registerGenomeCommands } from './genomeCommands';
import { PersonasView } from './views/personasView';
import { registerPersonaCommands } from './personaCommands';
import { registerLanguageModelBridge } from './languageModelBridge';
import { registerModelDownloads } from './modelDownloads';
import { registerMeshChatParticipant } from './meshChatParticipant';
import { registerEvolution } from './evolution';
import { askPersona, findPersona } from './personaAsk';
import { networkSettingKeys } from './settings';
import { registerReview } from './review';
import { LeaderboardView } from './views/leaderboardView';
import { registerExportCommand } from './exportCommand';
import { registerNewIdentity } from './newIdentity';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): PersonaMeshApi {
  const log = new Log();
  const meshKeys = new MeshKeyStore(context.secrets);
  const current = new Ctx(context, log, meshKeys);
  ctx = current;
  const chat = new ChatPanel(context.extensionUri, current);
  const idle = new IdlePresence(current);
  const personas = new PersonasView(current);
  const peers = new PeersView(current);
  const genomes = new GenomesView(current);
  context.subscriptions.push(
    log,
    current,
    chat,
    peers,
    new MeshStatusBar(current),
    ...registerNewIdentity(current),
    personas,
    vscode.window.registerTreeDataProvider('personaMesh.personas', personas),
    ...registerPersonaCommands(current, context.secrets, () => personas.all, (roomId, mention) => chat.show(roomId, mention)),
    ...registerLanguageModelBridge(current),
    registerModelDownloads(current),
    ...registerEvolution(current),
    ...registerMeshChatParticipant(current, () => personas.all, (roomId) => chat.show(roomId)),
    genomes,
    vscode.window.registerTreeDataProvider('personaMesh.genomes', genomes),
    ...registerGenomeCommands(current, genomes, () => personas.all),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (networkSettingKeys.some((key) => event.affectsConfiguration(key))) {
        log.info('network settings changed: restarting the mesh server to apply them');
        void current.restart();
      }
    }),
    ...registerCommands(current, chat),
    idle,
    ...registerRoomCommands(current, chat, (presence) => idle.userChosePresence(presence)),
    meshKeys.onDidChange(() => void current.reloadMeshKey()),
    ...registerChallengeCommands(current, chat),
    ...registerReview(current, context.workspaceState, () => personas.all),
    new LeaderboardView(context.extensionUri, current),
    registerExportCommand(current, () => personas.all),
  );
  // Start in the background: activation must not wait for the node.
  void current.start();
  return {
    status: () => current.refreshStatus(),
    serverPid: () => current.serverPid,
    onDidChangeStatus: current.onDidChangeStatus,
    askPersona: async (name, question, onText) => {
      const persona = findPersona(personas.all, name);
      if (!persona) throw new Error(`no persona ${name} on the mesh`);
      const result = await askPersona(current, { persona, question, ...(onText ? { onText } : {}) });
      return { text: result.text, roomId: result.roomId, personaId: persona.id, nodeId: persona.nodeId };
    },
    genomes: async () => {
      await genomes.refresh();
      return genomes.all;
    },
  };
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
