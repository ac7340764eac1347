/**
 * The mesh server as VS Code starts it: a language server over IPC. Standard LSP serves the
 * persona files; custom `mesh/...` methods (server/src/protocol/extension.ts) carry the mesh.
 */
import { createConnection, ProposedFeatures, ResponseError, TextDocuments, type InitializeResult } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { personaServerCapabilities, registerPersonaLanguageFeatures } from './lsp/personaLanguage';
import { registerPersonaHandlers } from './personas/rpcHandlers';
import { version } from '../../package.json';
import { MeshNode } from './node/meshNode';
import { registerRoomHandlers } from './rooms/rpcHandlers';
import { createLogger, logLevelAllows, type LogLevel } from './node/log';
import { LogNotification, PeersRequest, PingPeerRequest, SetLogLevelNotification, SetMeshKeyRequest, StatusNotification, StatusRequest, type ServerInitOptions } from './protocol/extension';
import type { NodeStatus } from './protocol/status';

const connection = createConnection(ProposedFeatures.all);
let node: MeshNode | undefined;
let nodeStarted: Promise<void> | undefined;
let logLevel: LogLevel = 'info';

const logger = createLogger((record) => {
  if (logLevelAllows(logLevel, record.level)) {
    void connection.sendNotification(LogNotification.type, { level: record.level, scope: record.scope, message: record.message });
  }
}, 'trace');

connection.onInitialize((params): InitializeResult => {
  const options = params.initializationOptions as ServerInitOptions | undefined;
  if (!options?.dataDir) throw new Error('the client sent no dataDir in initializationOptions');
  logLevel = options.logLevel ?? 'info';
  node = new MeshNode({ dataDir: options.dataDir, meshKey: options.meshKey ?? '', name: options.nodeName, logger, network: options.network });
  node.on('status', (status) => void connection.sendNotification(StatusNotification.type, status));
  return { capabilities: { ...personaServerCapabilities }, serverInfo: { name: 'persona-mesh', version } };
});

connection.onInitialized(() => {
  // A node that cannot start stays reachable and reports why in its status.
  nodeStarted = node!
    .start()
    .then(() => personaLanguage.refresh())
    .catch(() => undefined);
});

async function startedNode(): Promise<MeshNode> {
  if (!node) throw new Error('the server is not initialized');
  await nodeStarted;
  return node;
}

connection.onRequest(StatusRequest.type, async (): Promise<NodeStatus> => (await startedNode()).status());
connection.onRequest(PeersRequest.type, async () => (await startedNode()).peers());
connection.onRequest(PingPeerRequest.type, async ({ nodeId }) => {
  const network = (await startedNode()).network;
  if (!network) throw new ResponseError(1, 'the node is not on a mesh: set the mesh key first');
  const started = performance.now();
  try {
    await network.call(nodeId, 'ping', {}, { timeoutMs: 3000 });
  } catch (error) {
    throw new ResponseError(2, `ping failed: ${(error as Error).message}`);
  }
  return { rttMs: performance.now() - started };
});
connection.onRequest(SetMeshKeyRequest.type, async ({ meshKey }) => (await startedNode()).setMeshKey(meshKey));
connection.onNotification(SetLogLevelNotification.type, ({ level }) => {
  logLevel = level;
});

registerRoomHandlers(connection, async () => (await startedNode()).rooms, logger);
registerPersonaHandlers(connection, async () => (await startedNode()).personas, logger);

// Persona files open in the editor: diagnostics, completion and hover, with what the node knows.
const documents = new TextDocuments(TextDocument);
const personaLanguage = registerPersonaLanguageFeatures(connection, documents, {
  personaFiles: () => node?.personas?.languageDeps().personaFiles?.() ?? [],
  roomNames: () => node?.rooms?.list().map((room) => room.id) ?? [],
  capabilityNames: () => node?.personas?.languageDeps().capabilityNames?.() ?? [],
});
documents.listen(connection);

connection.onShutdown(async () => {
  await node?.stop();
});

process.on('SIGTERM', () => {
  void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});

connection.listen();
