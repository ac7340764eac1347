/**
 * The TextMate grammar of *.persona.md, tokenized with VS Code's own engine (vscode-textmate and
 * vscode-oniguruma from the code-server the e2e tests install) and its YAML and Markdown grammars.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const vscodeDir = path.join(root, '.cache/code-server-4.100.3/node_modules/code-server/lib/vscode');

interface Token {
  startIndex: number;
  endIndex: number;
  scopes: string[];
}

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return */
async function tokenizer(): Promise<(text: string) => { text: string; scopes: string[] }[][]> {
  const textmate = require(path.join(vscodeDir, 'node_modules/vscode-textmate'));
  const oniguruma = require(path.join(vscodeDir, 'node_modules/vscode-oniguruma'));
  const wasm = readFileSync(path.join(vscodeDir, 'node_modules/vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const grammars = new Map<string, string>([['text.markdown.persona', path.join(root, 'syntaxes/persona.tmLanguage.json')]]);
  for (const ext of ['yaml', 'markdown-basics']) {
    const dir = path.join(vscodeDir, 'extensions', ext, 'syntaxes');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const { scopeName } = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { scopeName: string };
      grammars.set(scopeName, path.join(dir, file));
    }
  }
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: (scope: string) => {
      const file = grammars.get(scope);
      return Promise.resolve(file ? textmate.parseRawGrammar(readFileSync(file, 'utf8'), file) : null);
    },
  });
  const grammar = await registry.loadGrammar('text.markdown.persona');
  return (text) => {
    let state = textmate.INITIAL;
    return text.split('\n').map((line) => {
      const result = grammar.tokenizeLine(line, state);
      state = result.ruleStack;
      return (result.tokens as Token[]).map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
    });
  };
}
/* eslint-enable */

describe('persona TextMate grammar', function () {
  this.timeout(20_000);

  it('is valid JSON with the persona scope, and so is the language configuration', () => {
    const grammar = JSON.parse(readFileSync(path.join(root, 'syntaxes/persona.tmLanguage.json'), 'utf8')) as { scopeName: string };
    assert.equal(grammar.scopeName, 'text.markdown.persona');
    // The body is Markdown (a `#` line is a heading); the front matter is embedded YAML, commented by YAML's own configuration.
    const configuration = JSON.parse(readFileSync(path.join(root, 'syntaxes/persona-language-configuration.json'), 'utf8')) as { comments: { lineComment?: string; blockComment: string[] } };
    assert.deepEqual(configuration.comments, { blockComment: ['<!--', '-->'] });
  });

  it('highlights persona keys, providers and roles, embeds YAML and Markdown', async () => {
    assert.ok(existsSync(path.join(vscodeDir, 'node_modules/vscode-textmate')), 'VS Code is not installed in .cache/: run `node scripts/code-server.mjs install` (npm test does)');
    const tokenize = await tokenizer();
    const lines = tokenize(readFileSync(path.join(root, 'test/fixtures/personas/grammar.persona.md'), 'utf8'));
    const scopeOf = (line: number, text: string) => {
      const token = lines[line]!.find((t) => t.text === text);
      assert.ok(token, `no token "${text}" on line ${line}: ${JSON.stringify(lines[line])}`);
      return token.scopes.join(' ');
    };
    assert.match(scopeOf(0, '---'), /punctuation\.definition\.begin\.frontmatter\.persona/);
    assert.match(scopeOf(1, 'id'), /meta\.embedded\.block\.frontmatter\.persona support\.type\.property-name\.key\.persona/);
    assert.match(scopeOf(1, 'reviewer'), /string\.unquoted\.plain\.out\.yaml/);
    assert.match(scopeOf(1, ' the @mention'), /comment\.line\.number-sign\.yaml/);
    assert.match(scopeOf(3, 'llama'), /support\.constant\.provider\.persona/);
    assert.match(scopeOf(4, 'model'), /support\.type\.property-name\.key\.brain\.persona/);
    assert.match(scopeOf(6, 'general'), /entity\.name\.tag\.room\.persona/);
    assert.match(scopeOf(6, 'expert'), /support\.constant\.role\.persona/);
    assert.match(scopeOf(8, 'cooldownSeconds'), /key\.participation\.persona/);
    assert.doesNotMatch(scopeOf(9, 'custom'), /support\.type\.property-name\.key/, 'an unknown key is plain YAML');
    assert.match(scopeOf(9, 'custom'), /yaml/);
    assert.match(scopeOf(10, '---'), /punctuation\.definition\.end\.frontmatter\.persona/);
    assert.match(lines[11]!.map((t) => t.scopes.join(' ')).join('|'), /markup\.heading\.markdown/);
    assert.match(scopeOf(13, 'code'), /markup\.bold\.markdown/);
  });
});
