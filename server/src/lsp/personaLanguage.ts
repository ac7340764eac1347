/**
 * Language features for `*.persona.md` files: diagnostics from the persona parser (with the
 * ranges of the offending keys and values, duplicate ids checked against the other persona
 * files), completion of front matter keys, brain providers, option values, capability names
 * and room names, and hover explaining each key. Registered on the server's connection and
 * `TextDocuments` by the IPC entry; the mesh facts (rooms, capabilities, other files) come
 * from callbacks so the features work before the node is up.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CompletionItemKind,
  DiagnosticSeverity,
  InsertTextFormat,
  MarkupKind,
  TextDocumentSyncKind,
  type CompletionItem,
  type Connection,
  type Diagnostic,
  type Hover,
  type ServerCapabilities,
  type TextDocuments,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { duplicateIdProblems, parsePersonaFile, personaFileSuffix, type ParsedPersonaFile } from '../personas/personaFile';
import type { PersonaLanguageDeps } from '../personas/languageDeps';
import { describeKind, keysAt, specAt, type KeySpec } from '../personas/schema';
import { brainProviders, roomRoles, type PersonaProblem } from '../../../protocol/personas';
import { cursorContext, hoverTarget } from './frontMatterContext';

export const personaLanguageId = 'persona-markdown';


/** What the server must announce in its InitializeResult for these features (merge into `capabilities`). */
export const personaServerCapabilities: ServerCapabilities = {
  textDocumentSync: TextDocumentSyncKind.Incremental,
  completionProvider: { triggerCharacters: [':', ' ', '-', '[', ','], resolveProvider: false },
  hoverProvider: true,
};

export function isPersonaDocument(document: Pick<TextDocument, 'uri' | 'languageId'>): boolean {
  return document.languageId === personaLanguageId || document.uri.endsWith(personaFileSuffix);
}

export function documentPath(uri: string): string {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}

const severities: Record<PersonaProblem['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/** The diagnostics of one persona document (its current text, not the file on disk). */
export function personaDiagnostics(document: TextDocument, deps: PersonaLanguageDeps = {}): Diagnostic[] {
  const file = documentPath(document.uri);
  const parsed = parsePersonaFile(document.getText(), { file, headless: deps.headless ?? false, ...(deps.fileExists ? { fileExists: deps.fileExists } : {}) });
  const others = (deps.personaFiles?.() ?? []).filter((f) => f.file !== file);
  const duplicates = duplicateIdProblems([parsed, ...others]).get(file) ?? [];
  const problems = [...parsed.problems, ...duplicates];
  const genomes = deps.genomeIds?.();
  if (genomes && parsed.persona) {
    const known = new Set(genomes);
    const lines = document.getText().split(/\r?\n/);
    for (const genome of parsed.persona.genomes) {
      if (known.has(genome)) continue;
      const line = lines.findIndex((l) => l.includes(genome));
      const character = Math.max(0, lines[line]?.indexOf(genome) ?? 0);
      problems.push({
        range: { start: { line: Math.max(line, 0), character }, end: { line: Math.max(line, 0), character: character + genome.length } },
        severity: 'warning',
        code: 'unknown-genome',
        message: `no genome \`${genome}\` is known on the mesh (yet): the persona runs without it`,
      });
    }
  }
  return problems.map((p) => ({ range: p.range, severity: severities[p.severity], code: p.code, source: 'persona', message: p.message }) satisfies Diagnostic);
}

const providerDocs: Record<string, string> = {
  librarian: 'No model: answers with the best passages of a BM25 index of the workspace and knowledge folders, with `path:line` links. Works on any machine.',
  openai: 'Any OpenAI-compatible endpoint (Ollama, LM Studio, llama.cpp server, vLLM, OpenAI): set `baseUrl` and `model`; the API key lives in SecretStorage.',
  llama: 'A local GGUF model run by node-llama-cpp in a child process, with LoRA adapters from the persona\'s genomes: set `model` to a path or `hf:<owner>/<repo>/<file>.gguf`.',
  'vscode-lm': 'The editor\'s own language models (`vscode.lm`), reached through the client. Not available in headless nodes.',
};

const roleDocs: Record<string, string> = {
  expert: 'answers questions in the room',
  learner: 'asks and learns; answers only when mentioned',
  moderator: 'keeps the room on topic',
  observer: 'reads only; answers only when mentioned',
  member: 'an ordinary participant',
};

function keyItem(key: string, spec: KeySpec): CompletionItem {
  // Snippet lines are indented relative to the key; the client adjusts them to the line's indentation.
  const snippet = spec.snippet;
  return {
    label: key,
    kind: CompletionItemKind.Property,
    detail: describeKind(spec),
    documentation: { kind: MarkupKind.Markdown, value: spec.description },
    insertText: snippet ? `${key}:${snippet}` : `${key}: `,
    insertTextFormat: snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    sortText: `${spec.required ? '0' : '1'}${key}`,
  };
}

function valueItems(values: readonly string[], kind: CompletionItemKind, docs?: Record<string, string>): CompletionItem[] {
  return values.map((value) => ({ label: value, kind, ...(docs?.[value] ? { documentation: { kind: MarkupKind.Markdown, value: docs[value] } } : {}) }));
}

export function personaCompletions(document: TextDocument, position: { line: number; character: number }, deps: PersonaLanguageDeps = {}): CompletionItem[] {
  const context = cursorContext(document.getText(), position);
  switch (context.kind) {
    case 'none':
      return [];
    case 'key': {
      const [first, ...rest] = context.path;
      if (first === 'rooms' && rest.length === 0) {
        return (deps.roomNames?.() ?? []).filter((r) => !context.present.includes(r)).map((room) => ({ label: room, kind: CompletionItemKind.Value, insertText: `${room}: `, detail: 'room' }));
      }
      const keys = keysAt(context.path);
      if (!keys) return [];
      return Object.entries(keys)
        .filter(([key]) => !context.present.includes(key) || key === context.prefix)
        .map(([key, spec]) => keyItem(key, spec));
    }
    case 'value': {
      const path = context.path;
      if (path.length === 2 && path[0] === 'rooms') return valueItems(roomRoles, CompletionItemKind.EnumMember, roleDocs);
      if ((path.length === 1 && path[0] === 'brain') || (path.length === 2 && path[0] === 'brain' && path[1] === 'provider')) {
        return valueItems(brainProviders, CompletionItemKind.EnumMember, providerDocs);
      }
      const spec = specAt(path);
      if (!spec) return [];
      if (spec.values) return valueItems(spec.values, CompletionItemKind.EnumMember);
      if (spec.kind === 'boolean') return valueItems(['true', 'false'], CompletionItemKind.Keyword);
      return [];
    }
    case 'item': {
      const key = context.path.join('.');
      if (key === 'capabilities') return valueItems(unique(deps.capabilityNames?.() ?? []), CompletionItemKind.Value);
      if (key === 'rooms') return valueItems(unique(deps.roomNames?.() ?? []), CompletionItemKind.Value);
      if (key === 'genomes') return valueItems(unique(deps.genomeIds?.() ?? []), CompletionItemKind.Reference);
      return [];
    }
  }
}

export function personaHover(document: TextDocument, position: { line: number; character: number }): Hover | undefined {
  const target = hoverTarget(document.getText(), position);
  if (!target) return undefined;
  const range = { start: { line: position.line, character: target.start }, end: { line: position.line, character: target.end } };
  const path = target.path;
  if (target.on === 'value') {
    const value = target.value?.trim() ?? '';
    const isProvider = (path.length === 1 && path[0] === 'brain') || path.join('.') === 'brain.provider';
    if (isProvider && providerDocs[value]) return { contents: { kind: MarkupKind.Markdown, value: `**${value}** brain\n\n${providerDocs[value]}` }, range };
    if (path.length === 2 && path[0] === 'rooms' && roleDocs[value]) return { contents: { kind: MarkupKind.Markdown, value: `**${value}**: ${roleDocs[value]}` }, range };
    return undefined;
  }
  if (path.length === 2 && path[0] === 'rooms') return { contents: { kind: MarkupKind.Markdown, value: `room **${path[1]}**: the persona joins it with the role on the right` }, range };
  const spec = specAt(path);
  if (!spec) {
    const parent = keysAt(path.slice(0, -1));
    if (!parent) return undefined;
    return { contents: { kind: MarkupKind.Markdown, value: `\`${path.join('.')}\` is not a persona key. Known here: ${Object.keys(parent).map((k) => `\`${k}\``).join(', ')}` }, range };
  }
  const title = `**${path.join('.')}**${spec.required ? ' (required)' : ''}: ${describeKind(spec)}`;
  return { contents: { kind: MarkupKind.Markdown, value: `${title}\n\n${spec.description}` }, range };
}

export interface PersonaLanguageFeatures {
  /** Re-checks every open persona document (call when the persona files on disk or the mesh facts change). */
  refresh(): void;
  /**
   * Publishes the problems of persona files on disk that are not open (the registry's `loaded`
   * event), so they show in the Problems view; files gone since the last call are cleared.
   */
  publishFiles(files: readonly ParsedPersonaFile[]): void;
  dispose(): void;
}

/**
 * Registers completion, hover and diagnostics for persona documents. The caller owns
 * `documents.listen(connection)` and must announce {@link personaServerCapabilities}.
 */
export function registerPersonaLanguageFeatures(connection: Connection, documents: TextDocuments<TextDocument>, deps: PersonaLanguageDeps = {}): PersonaLanguageFeatures {
  const validate = (document: TextDocument) => {
    if (!isPersonaDocument(document)) return;
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: personaDiagnostics(document, deps) });
  };
  const subscriptions = [
    // Opening a document also fires onDidChangeContent.
    documents.onDidChangeContent((e) => validate(e.document)),
    documents.onDidClose((e) => {
      if (isPersonaDocument(e.document)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    }),
    connection.onCompletion((params) => {
      const document = documents.get(params.textDocument.uri);
      return document && isPersonaDocument(document) ? personaCompletions(document, params.position, deps) : [];
    }),
    connection.onHover((params) => {
      const document = documents.get(params.textDocument.uri);
      return (document && isPersonaDocument(document) ? personaHover(document, params.position) : undefined) ?? null;
    }),
  ];
  let published = new Set<string>();
  const toDiagnostic = (p: PersonaProblem): Diagnostic => ({ range: p.range, severity: severities[p.severity], code: p.code, source: 'persona', message: p.message });
  return {
    refresh: () => documents.all().forEach(validate),
    publishFiles: (files) => {
      const open = new Set(documents.all().map((d) => d.uri));
      const next = new Set<string>();
      for (const file of files) {
        const uri = pathToFileURL(file.file).toString();
        if (open.has(uri)) continue;
        next.add(uri);
        void connection.sendDiagnostics({ uri, diagnostics: file.problems.map(toDiagnostic) });
      }
      for (const uri of published) if (!next.has(uri) && !open.has(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
      published = next;
    },
    dispose: () => subscriptions.forEach((s) => s.dispose()),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
