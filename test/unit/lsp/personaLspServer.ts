/**
 * A small language server for the LSP tests: the persona language features on a real
 * vscode-languageserver connection over stdio, with fixed mesh facts. Started by lsp.test.ts.
 */
import { createConnection, ProposedFeatures, TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';
import { personaServerCapabilities, registerPersonaLanguageFeatures } from '../../../server/src/lsp/personaLanguage';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
// A file on "disk" that declares the id `librarian`, so an open document with that id is a duplicate.
const onDisk = [
  parsePersonaFile('---\nid: librarian\n---\nI am on disk.\n', { file: '/disk/other.persona.md' }),
  parsePersonaFile('---\nid: broken\nbrian: librarian\n---\nTypo.\n', { file: '/disk/broken.persona.md' }),
];

const knownGenomes = ['g-known'];
const features = registerPersonaLanguageFeatures(connection, documents, {
  personaFiles: () => onDisk,
  roomNames: () => ['general', 'reviews'],
  capabilityNames: () => ['typescript', 'code-review', 'typescript'],
  genomeIds: () => knownGenomes,
  fileExists: (p) => p.endsWith('present.gguf'),
});
// The tests' stand-in for the registry's `loaded` event.
connection.onRequest('test/publishFiles', (params: { count: number }) => features.publishFiles(onDisk.slice(0, params.count)));
// The tests' stand-in for a genome seen on the mesh (the server refreshes on the genomes' `seen`).
connection.onRequest('test/learnGenome', (params: { id: string }) => {
  knownGenomes.push(params.id);
  features.refresh();
});
connection.onInitialize(() => ({ capabilities: personaServerCapabilities }));
documents.listen(connection);
connection.listen();
