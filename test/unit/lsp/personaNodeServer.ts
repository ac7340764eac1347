/**
 * A language server like the IPC entry will be: registerPersonaServer on a real connection over
 * stdio, fed by a PersonaService on an in-memory Rooms node (the fixture workspace's personas and
 * the `bad` fixture folder). Started by personaLanguage.test.ts.
 */
import * as path from 'node:path';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { registerPersonaServer } from '../../../server/src/lsp/personaServer';
import { PersonaService } from '../../../server/src/personas/service';
import { TestMesh } from '../rooms/support';

const fixtures = path.resolve(__dirname, '../../fixtures/personas');
const connection = createConnection(ProposedFeatures.all);
const mesh = new TestMesh();
let service: PersonaService | undefined;
const ready = (async () => {
  const node = await mesh.add('A');
  service = new PersonaService({ rooms: node.rooms, transport: node.transport, workspaceFolders: [path.join(fixtures, 'workspace')], extraFolders: [path.join(fixtures, 'bad')] });
  await service.start();
  return service;
})();

const personas = registerPersonaServer(connection, () => ready);
connection.onInitialize(() => ({ capabilities: { ...personas.capabilities } }));
connection.onShutdown(async () => {
  personas.dispose();
  await service?.stop();
  await mesh.close();
});
connection.listen();
