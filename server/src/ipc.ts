/**
 * The mesh server as VS Code starts it: a language server over IPC. Standard LSP serves the
 * persona files; custom `mesh/...` methods (protocol/extension.ts) carry the mesh.
 */
import { createConnection, ProposedFeatures, type InitializeResult } from 'vscode-languageserver/node';
import { registerPersonaServer } from './lsp/personaServer';
import { version } from '../../package.json';
import { MeshNode } from './node/meshNode';
import { registerNodeHandlers } from './node/rpcHandlers';
import { registerRoomHandlers } from './rooms/rpcHandlers';
import { registerAcademyHandlers } from './academy/rpcHandlers';
import { registerChallengeHandlers } from './challenges/rpcHandlers';
import { registerGenomeHandlers } from './genomes/rpcHandlers';
import { registerReviewHandlers } from './review/rpcHandlers';
import { reviewNodeOf } from './node/reviewPort';
import { genomeNodeOf } from './node/genomePort';
import { createLogger, logLevelAllows } from './kernel/log';
import { logLevels, type LogLevel } from '../../protocol/extension';
import { takeMeshKeyFromEnv } from './kernel/meshKey';
import { LogNotification, StatusNotification, type ServerInitOptions } from '../../protocol/extension';
import { EvolutionEventNotification, EvolutionProposalRequest } from '../../protocol/evolution';
import { ModelDownloadNotification, PersonaApiKeyRequest } from '../../protocol/personas';

const connection = createConnection(ProposedFeatures.all);
let node: MeshNode | undefined;
let nodeStarted: (node: MeshNode) => void;
/** Resolves once the node has started (or failed to, and reports why in its status). */
const startedNode = new Promise<MeshNode>((resolve) => (nodeStarted = resolve));
let logLevel: LogLevel = 'info';
// Out of the environment before anything starts a child process (the llama model process).
const meshKey = takeMeshKeyFromEnv(process.env);

const logger = createLogger((record) => {
  if (logLevelAllows(logLevel, record.level)) {
    void connection.sendNotification(LogNotification.type, { level: record.level, scope: record.scope, message: record.message });
  }
}, 'trace');

connection.onInitialize((params): InitializeResult => {
  const options = params.initializationOptions as ServerInitOptions | undefined;
  if (!options?.dataDir) throw new Error('the client sent no dataDir in initializationOptions');
  // An unknown level would hide every record from the editor.
  logLevel = logLevels.includes(options.logLevel) ? options.logLevel : 'info';
  node = new MeshNode({
    dataDir: options.dataDir,
    // Every VS Code window runs a node on the same global storage.
    dataDirSlots: 8,
    ...(options.workspaceKey ? { dataDirOwner: options.workspaceKey } : {}),
    meshKey,
    name: options.nodeName,
    logger,
    network: options.network,
    ...(options.genomeMaxSizeMB ? { genomes: { maxGenomeBytes: Math.floor(options.genomeMaxSizeMB * 1024 * 1024) } } : {}),
    languageModels: () => personas.languageModels,
    evolution: { ask: async (proposal) => (await connection.sendRequest(EvolutionProposalRequest.type, proposal)).adopt },
    apiKey: async (persona) => (await connection.sendRequest(PersonaApiKeyRequest.type, { personaId: persona.id, ...(persona.brain.baseUrl ? { baseUrl: persona.brain.baseUrl } : {}) })) ?? undefined,
  });
  node.on('status', (status) => void connection.sendNotification(StatusNotification.type, status));
  return { capabilities: { ...personas.capabilities }, serverInfo: { name: 'persona-mesh', version } };
});

connection.onInitialized(() => {
  const started = node!;
  // A node that cannot start stays reachable and reports why in its status.
  void started
    .start()
    .catch(() => undefined)
    .then(() => nodeStarted(started));
});

registerNodeHandlers(connection, () => startedNode, {
  logger,
  setLogLevel: (level) => {
    logLevel = level;
  },
});
registerRoomHandlers(connection, async () => (await startedNode).rooms, logger);
registerAcademyHandlers(connection, async () => (await startedNode).academy, logger);
registerChallengeHandlers(connection, async () => (await startedNode).challenges, logger);
registerReviewHandlers(connection, async () => reviewNodeOf(await startedNode), logger);
// Persona methods, and diagnostics, completion and hover for persona files (open or on disk).
registerGenomeHandlers(connection, async () => genomeNodeOf(await startedNode), logger);

/** Genome ids this node knows (held or seen on the mesh), for the persona files' `genomes` key. */
function knownGenomeIds(): string[] {
  const listed = node?.genomes?.list();
  return listed ? [...listed.local, ...listed.network].map((genome) => genome.id) : [];
}

const personas = registerPersonaServer(connection, async () => (await startedNode).personas, { logger, genomeIds: knownGenomeIds });
// A genome published, downloaded, deleted or newly seen on the mesh changes which `genomes` ids
// the persona files may name: their diagnostics follow at once, not at the next keystroke. One
// refresh per turn however many manifests a query brought.
let genomeRefresh: NodeJS.Immediate | undefined;
const refreshPersonaFiles = () => {
  genomeRefresh ??= setImmediate(() => {
    genomeRefresh = undefined;
    personas.refresh();
  });
};
void startedNode.then((started) => started.genomes?.on('changed', refreshPersonaFiles).on('seen', refreshPersonaFiles));
void startedNode.then((started) => started.evolution?.onEvent((event) => void connection.sendNotification(EvolutionEventNotification.type, event)));
void startedNode.then((started) => started.modelDownloads?.on('progress', (progress) => void connection.sendNotification(ModelDownloadNotification.type, progress)));

connection.onShutdown(async () => {
  await node?.stop();
});

process.on('SIGTERM', () => {
  void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});

connection.listen();
