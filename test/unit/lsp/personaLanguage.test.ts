import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CompletionItem, CompletionList, Diagnostic, Hover, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';

const root = path.resolve(__dirname, '../../..');
const fixtures = path.join(root, 'test/fixtures/personas');

/** A real LSP client: JSON-RPC over the stdio of a spawned server process. */
class Client {
  private readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  private readonly waiters: { uri: string; version?: number; resolve: (d: Diagnostic[]) => void }[] = [];
  private version = 0;

  constructor(readonly child: ChildProcessWithoutNullStreams, readonly rpc: MessageConnection) {
    rpc.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      this.diagnostics.set(params.uri, params);
      for (const waiter of [...this.waiters]) {
        if (waiter.uri === params.uri && (waiter.version === undefined || params.version === waiter.version)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(params.diagnostics);
        }
      }
    });
  }

  static async start(entry = 'personaLspServer.ts'): Promise<Client> {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, entry), '--stdio'], { cwd: root, stdio: 'pipe' });
    const rpc = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    rpc.listen();
    const client = new Client(child, rpc);
    const init = await rpc.sendRequest<{ capabilities: { completionProvider?: unknown; hoverProvider?: boolean } }>('initialize', { processId: null, rootUri: null, capabilities: {} });
    assert.ok(init.capabilities.completionProvider && init.capabilities.hoverProvider);
    await rpc.sendNotification('initialized', {});
    return client;
  }

  /** Opens (or replaces) a document and resolves with the diagnostics of that version. */
  open(uri: string, text: string): Promise<Diagnostic[]> {
    const version = ++this.version;
    const result = new Promise<Diagnostic[]>((resolve) => this.waiters.push({ uri, version, resolve }));
    void this.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'persona-markdown', version, text } });
    return result;
  }

  change(uri: string, text: string): Promise<Diagnostic[]> {
    const version = ++this.version;
    const result = new Promise<Diagnostic[]>((resolve) => this.waiters.push({ uri, version, resolve }));
    void this.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return result;
  }

  /** The next diagnostics published for a URI (or the last ones, if `orLast` and some came already). */
  waitFor(uri: string, orLast = false): Promise<Diagnostic[]> {
    const last = this.diagnostics.get(uri);
    if (orLast && last) return Promise.resolve(last.diagnostics);
    return new Promise<Diagnostic[]>((resolve) => this.waiters.push({ uri, resolve }));
  }

  close(uri: string): Promise<Diagnostic[]> {
    const result = new Promise<Diagnostic[]>((resolve) => this.waiters.push({ uri, resolve }));
    void this.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
    return result;
  }

  async complete(uri: string, line: number, character: number): Promise<CompletionItem[]> {
    const result = await this.rpc.sendRequest<CompletionItem[] | CompletionList | null>('textDocument/completion', { textDocument: { uri }, position: { line, character } });
    return Array.isArray(result) ? result : (result?.items ?? []);
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.rpc.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character } });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.rpc.sendRequest('shutdown');
    await this.rpc.sendNotification('exit');
    await exited;
    this.rpc.dispose();
  }
}

const uriOf = (rel: string) => pathToFileURL(path.join(fixtures, rel)).toString();
const at = (d: { range: Diagnostic['range'] }) => [d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character];
const labels = (items: CompletionItem[]) => items.map((i) => i.label).sort();

describe('persona language server (real LSP connection)', function () {
  this.timeout(30_000);
  let client: Client;

  before(async () => {
    client = await Client.start();
  });
  after(async () => {
    await client?.stop();
  });

  it('publishes diagnostics with ranges and messages for a fixture file', async () => {
    const uri = uriOf('bad/problems.persona.md');
    const diagnostics = await client.open(uri, readFileSync(path.join(fixtures, 'bad/problems.persona.md'), 'utf8'));
    const byCode = (code: string) => diagnostics.filter((d) => d.code === code);
    assert.deepEqual(at(byCode('unknown-key')[0]!), [2, 0, 2, 4]);
    assert.match(byCode('unknown-key')[0]!.message, /unknown key `nmae`.*did you mean `name`/);
    assert.equal(byCode('unknown-key')[0]!.severity, 2);
    assert.deepEqual(at(byCode('unknown-provider')[0]!), [4, 12, 4, 15]);
    assert.equal(byCode('unknown-provider')[0]!.severity, 1);
    assert.deepEqual(at(byCode('bad-role')[0]!), [7, 11, 7, 15]);
    assert.deepEqual(at(byCode('out-of-range')[0]!), [9, 23, 9, 24]);
    assert.ok(diagnostics.every((d) => d.source === 'persona'));

    const fixed = await client.change(uri, '---\nid: reviewer\nbrain: librarian\n---\nYou review code.\n');
    assert.deepEqual(fixed, []);
    assert.deepEqual(await client.close(uri), [], 'closing clears the diagnostics');
  });

  it('reports a duplicate id against the files on disk, a missing model and an unknown genome', async () => {
    const uri = uriOf('workspace/.mesh/personas/librarian.persona.md');
    const diagnostics = await client.open(uri, readFileSync(path.join(fixtures, 'workspace/.mesh/personas/librarian.persona.md'), 'utf8'));
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]!.code, 'duplicate-id');
    assert.deepEqual(at(diagnostics[0]!), [1, 4, 1, 13]);
    assert.match(diagnostics[0]!.message, /also used by other\.persona\.md/);

    const model = await client.open(uriOf('bad/llama.persona.md'), readFileSync(path.join(fixtures, 'bad/llama.persona.md'), 'utf8'));
    assert.equal(model.length, 1);
    assert.equal(model[0]!.code, 'missing-model');
    assert.deepEqual(at(model[0]!), [4, 9, 4, 30]);

    const genome = await client.open('untitled:new.persona.md', '---\nid: g\ngenomes:\n  - g-known\n  - g-missing\n---\nhi\n');
    assert.deepEqual(genome.map((d) => [d.code, ...at(d)]), [['unknown-genome', 4, 4, 4, 13]]);
    // Once the genome is known (seen on the mesh), the open file is checked again without an edit.
    const rechecked = client.waitFor('untitled:new.persona.md');
    await client.rpc.sendRequest('test/learnGenome', { id: 'g-missing' });
    assert.deepEqual(await rechecked, []);
  });

  it('publishes the problems of persona files on disk that are not open, and clears them when they go', async () => {
    const uri = pathToFileURL('/disk/broken.persona.md').toString();
    const published = client.waitFor(uri);
    await client.rpc.sendRequest('test/publishFiles', { count: 2 });
    const diagnostics = await published;
    assert.deepEqual(diagnostics.map((d) => [d.code, ...at(d)]), [['unknown-key', 2, 0, 2, 5]]);
    assert.match(diagnostics[0]!.message, /did you mean `brain`/);
    const cleared = client.waitFor(uri);
    await client.rpc.sendRequest('test/publishFiles', { count: 1 });
    assert.deepEqual(await cleared, []);
  });

  it('completes keys, providers, values, rooms and capabilities', async () => {
    const uri = 'untitled:complete.persona.md';
    const text = ['---', 'id: c', 'brain:', '  provider: ', '  ', 'rooms:', '  general: ', '  ', 'capabilities: [', 'participation:', '  mentionsOnly: ', '', '---', 'body'].join('\n');
    await client.open(uri, text);
    const top = await client.complete(uri, 11, 0);
    assert.deepEqual(labels(top), ['description', 'genomes', 'knowledge', 'name', 'triggers'], 'top-level keys not yet written');
    const brainItem = (await client.complete(uri, 11, 0)).find((i) => i.label === 'knowledge')!;
    assert.match((brainItem.documentation as { value: string }).value, /librarian/);
    assert.deepEqual(labels(await client.complete(uri, 3, 12)), ['librarian', 'llama', 'openai', 'vscode-lm']);
    const brainKeys = labels(await client.complete(uri, 4, 2));
    assert.ok(brainKeys.includes('model') && brainKeys.includes('baseUrl') && !brainKeys.includes('provider'), brainKeys.join());
    assert.deepEqual(labels(await client.complete(uri, 6, 11)), ['expert', 'learner', 'member', 'moderator', 'observer']);
    assert.deepEqual(labels(await client.complete(uri, 7, 2)), ['reviews'], 'rooms not yet listed');
    assert.deepEqual(labels(await client.complete(uri, 8, 15)), ['code-review', 'typescript']);
    assert.deepEqual(labels(await client.complete(uri, 10, 16)), ['false', 'true']);
    assert.deepEqual(await client.complete(uri, 13, 2), [], 'nothing in the body');
    const brainSnippet = (await client.complete(uri, 11, 0)).find((i) => i.label === 'triggers')!;
    assert.equal(brainSnippet.insertTextFormat, 2);
  });

  it('explains keys and providers on hover', async () => {
    const uri = 'untitled:hover.persona.md';
    await client.open(uri, '---\nid: h\nbrain:\n  provider: llama\n  model: x.gguf\nparticipation:\n  cooldownSeconds: 3\n---\nbody\n');
    const brain = await client.hover(uri, 2, 2);
    assert.match((brain!.contents as { value: string }).value, /^\*\*brain\*\*: a map \(or just the provider\)/);
    assert.deepEqual(brain!.range, { start: { line: 2, character: 0 }, end: { line: 2, character: 5 } });
    const cooldown = await client.hover(uri, 6, 5);
    assert.match((cooldown!.contents as { value: string }).value, /participation\.cooldownSeconds.*a number from 0 to 3600/s);
    const provider = await client.hover(uri, 3, 14);
    assert.match((provider!.contents as { value: string }).value, /\*\*llama\*\* brain.*GGUF/s);
    assert.equal(await client.hover(uri, 8, 1), null);
  });
});

describe('persona server as the IPC entry will run it (registerPersonaServer + PersonaService)', function () {
  this.timeout(30_000);
  let client: Client;

  before(async () => {
    client = await Client.start('personaNodeServer.ts');
  });
  after(async () => {
    await client?.stop();
  });

  it('publishes the problems of persona files on disk, duplicates across folders included', async () => {
    const diagnostics = await client.waitFor(uriOf('bad/problems.persona.md'), true);
    const codes = diagnostics.map((d) => d.code).sort();
    assert.ok(codes.includes('duplicate-id') && codes.includes('unknown-key') && codes.includes('unknown-provider'), codes.join());
    const nofront = await client.waitFor(uriOf('bad/nofront.persona.md'), true);
    assert.equal(nofront[0]!.code, 'no-front-matter');
  });

  it('serves the persona methods and feeds completion from the node', async () => {
    const list = await client.rpc.sendRequest<{ id: string; state: string; reason?: string }[]>('mesh/personas/list');
    assert.deepEqual(list.map((p) => [p.id, p.state]), [['librarian', 'online'], ['reviewer', 'degraded']]);
    assert.match(list[1]!.reason!, /^llama\.persona\.md:5: the model file .*missing\.gguf does not exist$/);
    const uri = 'untitled:fed.persona.md';
    const diagnostics = await client.open(uri, '---\nid: librarian\ncapabilities: [\nrooms:\n  \n---\nbody\n');
    // Half-typed YAML (`capabilities: [`) is an error too while the user types.
    assert.deepEqual(diagnostics.map((d) => d.code).sort(), ['duplicate-id', 'yaml-syntax'], 'the workspace already has a librarian');
    assert.deepEqual(labels(await client.complete(uri, 2, 15)), ['docs', 'search'], 'capabilities seen on the mesh');
    assert.deepEqual(labels(await client.complete(uri, 4, 2)), ['general'], 'rooms of the node');
  });
});
