import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { duplicateIdProblems, parsePersonaFile } from '../../../server/src/personas/personaFile';
import type { PersonaProblem } from '../../../protocol/personas';

const fixtures = path.resolve(__dirname, '../../fixtures/personas');
const read = (rel: string) => readFileSync(path.join(fixtures, rel), 'utf8');
const parse = (rel: string, fileExists?: (p: string) => boolean) => parsePersonaFile(read(rel), { file: path.join(fixtures, rel), ...(fileExists ? { fileExists } : {}) });

function find(problems: PersonaProblem[], code: string, text?: string): PersonaProblem {
  const hit = problems.find((p) => p.code === code && (text === undefined || p.message.includes(text)));
  assert.ok(hit, `no ${code} problem${text ? ` mentioning ${text}` : ''} in ${JSON.stringify(problems.map((p) => `${p.code}: ${p.message}`), null, 1)}`);
  return hit;
}

const at = (p: PersonaProblem) => [p.range.start.line, p.range.start.character, p.range.end.line, p.range.end.character];

describe('persona files', () => {
  it('parses a valid persona with its system prompt and defaults', () => {
    const parsed = parse('workspace/.mesh/personas/librarian.persona.md');
    assert.deepEqual(parsed.problems, []);
    const p = parsed.persona!;
    assert.equal(p.id, 'librarian');
    assert.equal(p.name, 'Librarian');
    assert.deepEqual(p.brain, { provider: 'librarian' });
    assert.deepEqual(p.capabilities, ['search', 'docs']);
    assert.deepEqual(p.triggers, ['where is', '/how do (i|we)/i']);
    assert.deepEqual(p.rooms, { general: 'expert' });
    assert.deepEqual(p.participation, { mentionsOnly: false, maxRepliesPerMinute: 10, cooldownSeconds: 2, maxChainDepth: 2 });
    assert.match(p.systemPrompt, /^You are the librarian/);
  });

  it('reports each mistake with the range of the key or value', () => {
    const { problems, persona } = parse('bad/problems.persona.md');
    assert.equal(persona?.id, 'reviewer', 'a file with mistakes still yields its persona');
    const unknown = find(problems, 'unknown-key', '`nmae`');
    assert.match(unknown.message, /did you mean `name`\?/);
    assert.equal(unknown.severity, 'warning');
    assert.deepEqual(at(unknown), [2, 0, 2, 4]);
    const provider = find(problems, 'unknown-provider', '`gpt`');
    assert.deepEqual(at(provider), [4, 12, 4, 15]);
    assert.match(provider.message, /librarian.*openai.*llama.*vscode-lm/);
    const list = find(problems, 'wrong-type', '`capabilities` must be a list');
    assert.deepEqual(at(list), [5, 14, 5, 25]);
    const role = find(problems, 'bad-role', '`general`');
    assert.deepEqual(at(role), [7, 11, 7, 15]);
    const max = find(problems, 'out-of-range', 'participation.maxRepliesPerMinute');
    assert.deepEqual(at(max), [9, 23, 9, 24]);
    const cooldown = find(problems, 'wrong-type', 'participation.cooldownSeconds');
    assert.match(cooldown.message, /must be a number from 0 to 3600, not `soon`/);
    assert.deepEqual(at(cooldown), [10, 19, 10, 23]);
    find(problems, 'wrong-type', 'participation.mentionsOnly');
    assert.equal(problems.length, 7, JSON.stringify(problems.map((p) => p.message)));
  });

  it('reports a missing llama model file at the model value', () => {
    const missing = parse('bad/llama.persona.md', () => false);
    const problem = find(missing.problems, 'missing-model', 'missing.gguf');
    assert.deepEqual(at(problem), [4, 9, 4, 30]);
    assert.ok(problem.message.includes(path.join(fixtures, 'bad/models/missing.gguf')));
    const present = parsePersonaFile(read('bad/llama.persona.md'), { file: path.join(fixtures, 'bad/llama.persona.md'), fileExists: () => true, modelProblem: () => undefined });
    assert.deepEqual(present.problems, []);
    assert.deepEqual(present.persona?.brain, { provider: 'llama', model: './models/missing.gguf', threads: 1 });
  });

  it('checks the GGUF header of an existing llama model file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gguf-'));
    try {
      const header = Buffer.alloc(24);
      header.write('GGUF', 0, 'latin1');
      header.writeUInt32LE(3, 4);
      header.writeBigUInt64LE(3n, 8);
      header.writeBigUInt64LE(5n, 16);
      writeFileSync(path.join(dir, 'good.gguf'), Buffer.concat([header, Buffer.alloc(64)]));
      writeFileSync(path.join(dir, 'text.gguf'), 'this is not a model at all, just text');
      writeFileSync(path.join(dir, 'short.gguf'), 'GGUF');
      const v9 = Buffer.from(header);
      v9.writeUInt32LE(9, 4);
      writeFileSync(path.join(dir, 'v9.gguf'), v9);
      const check = (model: string) => parsePersonaFile(`---\nid: l\nbrain:\n  provider: llama\n  model: ${model}\n---\nhi\n`, { file: path.join(dir, 'l.persona.md') }).problems;
      assert.deepEqual(check('good.gguf'), []);
      assert.match(check('text.gguf')[0]!.message, /is not a GGUF model \(it does not start with "GGUF"\)/);
      assert.deepEqual(at(check('text.gguf')[0]!), [4, 9, 4, 18]);
      assert.equal(check('text.gguf')[0]!.code, 'bad-model');
      assert.match(check('short.gguf')[0]!.message, /only 4 bytes/);
      assert.match(check('v9.gguf')[0]!.message, /GGUF version 9/);
      assert.equal(check('gone.gguf')[0]!.code, 'missing-model');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports files without front matter, YAML syntax errors and missing ids', () => {
    const none = parse('bad/nofront.persona.md');
    assert.equal(none.persona, undefined);
    find(none.problems, 'no-front-matter');
    const syntax = parsePersonaFile('---\nid: a\nbrain: [librarian\n---\nhi\n', { file: '/x.persona.md' });
    assert.ok(syntax.problems.some((p) => p.code === 'yaml-syntax' && p.range.start.line >= 1));
    const noId = parsePersonaFile('---\nname: Nobody\n---\nhi\n', { file: '/x.persona.md' });
    assert.equal(noId.persona, undefined);
    find(noId.problems, 'missing-key', '`id:`');
    const unclosed = parsePersonaFile('---\nid: a\n', { file: '/x.persona.md' });
    find(unclosed.problems, 'unclosed-front-matter');
    const badId = parsePersonaFile('---\nid: Not Valid\n---\nhi\n', { file: '/x.persona.md' });
    assert.deepEqual(at(find(badId.problems, 'bad-id')), [1, 4, 1, 13]);
    find(parsePersonaFile('---\nid: user\n---\nhi\n', { file: '/x.persona.md' }).problems, 'bad-id', 'reserved');
  });

  it('checks the brain: hf references, openai needs a model, headless vscode-lm', () => {
    const hf = parsePersonaFile('---\nid: a\nbrain:\n  provider: llama\n  model: hf:owner/repo/model.gguf\n---\nhi\n', { file: '/p/a.persona.md', fileExists: () => false });
    assert.deepEqual(hf.problems, []);
    const openai = parsePersonaFile('---\nid: a\nbrain: openai\n---\nhi\n', { file: '/p/a.persona.md' });
    find(openai.problems, 'missing-model', '`openai`');
    const lm = parsePersonaFile('---\nid: a\nbrain: vscode-lm\n---\nhi\n', { file: '/p/a.persona.md', headless: true });
    assert.deepEqual(at(find(lm.problems, 'provider-unavailable')), [2, 7, 2, 16]);
  });

  it('takes a LoRA scale for the llama brain, checks its range, and warns where no adapter can use it', () => {
    const llama = parsePersonaFile('---\nid: a\nbrain:\n  provider: llama\n  model: hf:owner/repo/model.gguf\n  loraScale: 0.5\n---\nhi\n', { file: '/p/a.persona.md' });
    assert.deepEqual(llama.problems, []);
    assert.equal(llama.persona?.brain.loraScale, 0.5);
    const tooStrong = parsePersonaFile('---\nid: a\nbrain:\n  provider: llama\n  model: hf:owner/repo/model.gguf\n  loraScale: 9\n---\nhi\n', { file: '/p/a.persona.md' });
    assert.equal(tooStrong.persona?.brain.loraScale, undefined);
    assert.ok(tooStrong.problems.some((p) => p.message.includes('brain.loraScale')), JSON.stringify(tooStrong.problems));
    const openai = parsePersonaFile('---\nid: a\nbrain:\n  provider: openai\n  model: m\n  baseUrl: http://localhost:1/v1\n  loraScale: 0.5\n---\nhi\n', { file: '/p/a.persona.md' });
    const unused = find(openai.problems, 'unused-key', 'loraScale');
    assert.equal(unused.severity, 'warning');
    assert.deepEqual(at(unused), [6, 2, 6, 11]);
  });

  it('finds duplicate ids across files and points at each id', () => {
    const a = parsePersonaFile('---\nid: twin\n---\nA\n', { file: '/p/a.persona.md' });
    const b = parsePersonaFile('---\nname: B\nid: twin\n---\nB\n', { file: '/p/b.persona.md' });
    const c = parsePersonaFile('---\nid: other\n---\nC\n', { file: '/p/c.persona.md' });
    const dups = duplicateIdProblems([a, b, c]);
    assert.equal(dups.size, 2);
    assert.deepEqual(at(dups.get('/p/a.persona.md')![0]!), [1, 4, 1, 8]);
    assert.deepEqual(at(dups.get('/p/b.persona.md')![0]!), [2, 4, 2, 8]);
    assert.match(dups.get('/p/b.persona.md')![0]!.message, /also used by a\.persona\.md/);
  });

  it('never throws on arbitrary text', () => {
    for (const text of ['', '---', '---\n---\n', '---\n- a\n- b\n---\n', '---\nid: [\n', '\uFEFF---\nid: x\n---\nbody', '---\r\nid: x\r\n---\r\nbody\r\n', '---\nbrain: {provider: 3}\nid: 4\n---\n']) {
      const parsed = parsePersonaFile(text, { file: '/x.persona.md' });
      assert.ok(Array.isArray(parsed.problems));
    }
    const crlf = parsePersonaFile('---\r\nid: x\r\n---\r\nbody\r\n', { file: '/x.persona.md' });
    assert.equal(crlf.persona?.id, 'x');
    assert.equal(crlf.persona?.systemPrompt, 'body');
  });
});
