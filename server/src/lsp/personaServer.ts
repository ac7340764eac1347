/**
 * Everything personas need on the server's LSP connection, in one call for the IPC entry:
 * the persona documents (TextDocuments), the language features (diagnostics, completion, hover)
 * fed by the node's PersonaService once it is up, the `mesh/personas/...` methods, problems of
 * persona files on disk, and the bridge to the editor's language models (`vscode-lm` brain).
 *
 *   const personas = registerPersonaServer(connection, async () => (await startedNode()).personas, { logger });
 *   connection.onInitialize(() => ({ capabilities: { ...personas.capabilities } }));
 *   new MeshNode({ ..., languageModels: () => personas.languageModels })
 */
import type { Connection, Disposable, ServerCapabilities } from 'vscode-languageserver';
import { TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Logger } from '../kernel/log';
import { LanguageModelBridge } from '../personas/brains/vscodeLm';
import type { ParsedPersonaFile } from '../personas/personaFile';
import { registerPersonaHandlers, type PersonaServiceSource } from '../personas/rpcHandlers';
import type { PersonaService } from '../personas/service';
import { personaServerCapabilities, registerPersonaLanguageFeatures } from './personaLanguage';
import type { PersonaLanguageDeps } from '../personas/languageDeps';

export interface PersonaServerOptions {
  logger?: Logger;
  /** A node without VS Code (not the case under the extension). */
  headless?: boolean;
  /** Genome ids known on the mesh, once genomes exist. */
  genomeIds?: () => readonly string[];
  /** Documents the caller already listens to; otherwise one is made and listened to here. */
  documents?: TextDocuments<TextDocument>;
}

export interface PersonaServer extends Disposable {
  /** Merge into the InitializeResult's capabilities. */
  readonly capabilities: ServerCapabilities;
  readonly documents: TextDocuments<TextDocument>;
  /** For PersonaService's `languageModels` option. */
  readonly languageModels: LanguageModelBridge;
  /** Re-checks the open persona files (e.g. the genome ids this node knows changed). */
  refresh(): void;
}

export function registerPersonaServer(connection: Connection, source: PersonaServiceSource, options: PersonaServerOptions = {}): PersonaServer {
  const documents = options.documents ?? new TextDocuments(TextDocument);
  let service: PersonaService | undefined;
  const deps: PersonaLanguageDeps = {
    personaFiles: () => service?.registry.parsedFiles() ?? [],
    roomNames: () => safe(() => service?.languageDeps().roomNames?.()) ?? [],
    capabilityNames: () => service?.directory.capabilityNames() ?? [],
    headless: options.headless ?? false,
    ...(options.genomeIds ? { genomeIds: options.genomeIds } : {}),
  };
  const features = registerPersonaLanguageFeatures(connection, documents, deps);
  const handlers = registerPersonaHandlers(connection, source, options.logger);
  const languageModels = new LanguageModelBridge(connection);
  const onLoaded = (files: ParsedPersonaFile[]) => {
    features.publishFiles(files);
    features.refresh();
  };
  const onDirectory = () => features.refresh();
  let detach: (() => void) | undefined;

  // Attach to the service as soon as it exists; until then the features work from the open documents alone.
  void (async () => {
    const found = await source();
    if (!found) return;
    service = found;
    found.registry.on('loaded', onLoaded);
    found.directory.on('changed', onDirectory);
    detach = () => {
      found.registry.off('loaded', onLoaded);
      found.directory.off('changed', onDirectory);
    };
    onLoaded([...found.registry.parsedFiles()]);
  })().catch((error: unknown) => options.logger?.warn(`persona language features run without the node: ${(error as Error).message}`));

  if (!options.documents) documents.listen(connection);
  return {
    capabilities: personaServerCapabilities,
    documents,
    languageModels,
    refresh: () => features.refresh(),
    dispose: () => {
      detach?.();
      features.dispose();
      handlers.dispose();
      languageModels.dispose();
    },
  };
}

function safe<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch {
    return undefined;
  }
}
