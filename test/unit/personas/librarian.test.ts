import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createBrainFactory } from '../../../server/src/personas/brains';
import { BrainError, collect } from '../../../server/src/personas/brains/brain';
import { LlamaBrain } from '../../../server/src/personas/brains/llama';
import { LibrarianBrain, LibrarianIndex } from '../../../server/src/personas/brains/librarian';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';

const fixtureWorkspace = path.resolve(__dirname, '../../fixtures/personas/workspace');
const persona = parsePersonaFile('---\nid: librarian\n---\nYou are the librarian.\n', { file: '/x/librarian.persona.md' }).persona!;

describe('librarian brain', () => {
  let ws: string;
  let knowledge: string;
  before(() => {
    // A copy of the fixture workspace plus what must be skipped (node_modules, .git, binaries, big files).
    const root = mkdtempSync(path.join(tmpdir(), 'librarian-'));
    ws = path.join(root, 'ws');
    cpSync(fixtureWorkspace, ws, { recursive: true });
    mkdirSync(path.join(ws, 'node_modules', 'pkg'), { recursive: true });
    writeFileSync(path.join(ws, 'node_modules', 'pkg', 'readme.md'), 'jittered backoff reconnect in node_modules');
    mkdirSync(path.join(ws, '.git'));
    writeFileSync(path.join(ws, '.git', 'notes.md'), 'jittered backoff reconnect in git');
    writeFileSync(path.join(ws, 'docs', 'binary.md'), Buffer.from([0x62, 0x61, 0x63, 0x6b, 0x00, 0x6f, 0x66, 0x66]));
    writeFileSync(path.join(ws, 'docs', 'huge.md'), 'backoff '.repeat(20_000));
    knowledge = path.join(root, 'handbook');
    mkdirSync(knowledge);
    writeFileSync(path.join(knowledge, 'onboarding.md'), '# Onboarding\n\nAsk the librarian persona about anything.\nThe mesh key is shared by the team lead.\n');
  });
  after(() => rmSync(path.dirname(ws), { recursive: true, force: true }));

  it('indexes text files within bounds and skips ignored folders', async () => {
    const index = new LibrarianIndex({ roots: [ws], maxFileBytes: 64 * 1024 });
    await index.ensure();
    // docs/networking.md, docs/rooms.md, src/backoff.ts and the persona file; not the binary, the huge file, node_modules or .git.
    assert.equal(index.stats.files, 4, JSON.stringify(index.stats));
    const paths = index.query('jittered backoff reconnect', 10).map((h) => h.path);
    assert.deepEqual(paths, ['src/backoff.ts']);
    const capped = new LibrarianIndex({ roots: [ws], maxFiles: 2 });
    await capped.ensure();
    assert.equal(capped.stats.files, 2);
    assert.ok(capped.stats.skipped > 0);
  });

  it('answers with the best snippets and path:line links, deterministically', async () => {
    const brain = new LibrarianBrain({ roots: [ws], knowledge: [knowledge] });
    const ask = (question: string) => collect(brain.reply({ persona, messages: [], question }));
    const answer = await ask('How are beacons authenticated?');
    assert.match(answer, /^Here is what I found in the workspace about “How are beacons authenticated\?”/);
    assert.match(answer, /1\. \[docs\/networking\.md:4\]\(docs\/networking\.md#L4\)\n```\n.*Each beacon is authenticated with HMAC-SHA256/s);
    assert.equal(await ask('How are beacons authenticated?'), answer, 'same question, same answer');
    const handbook = await ask('who shares the mesh key');
    assert.match(handbook, /\[handbook\/onboarding\.md:4\]\(handbook\/onboarding\.md#L4\)/);
    assert.match(await ask('zebra quantum'), /^I found nothing about “zebra quantum”/);
    assert.match(await ask('what is the'), /^I found nothing/, 'stop words alone find nothing');
  });

  it('streams in parts and stops when cancelled', async () => {
    const brain = new LibrarianBrain({ roots: [ws] });
    const parts: string[] = [];
    for await (const part of brain.reply({ persona, messages: [], question: 'rooms history libsql' })) parts.push(part);
    assert.ok(parts.length >= 2);
    assert.match(parts[1]!, /docs\/rooms\.md:4/);

    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of brain.reply({ persona, messages: [], question: 'rooms', signal: controller.signal })) {
          seen.push(part);
          controller.abort();
        }
      })(),
      (error: unknown) => error instanceof BrainError && error.code === 'cancelled',
    );
    assert.equal(seen.length, 1);
  });
});

describe('brain factory', () => {
  it('shares one librarian index between personas over the same folders', async () => {
    const make = createBrainFactory({ workspaceFolders: () => [fixtureWorkspace] });
    const one = make(persona) as LibrarianBrain;
    const two = make({ ...persona, id: 'other' }) as LibrarianBrain;
    const three = make({ ...persona, id: 'third', knowledge: ['docs'] }) as LibrarianBrain;
    assert.equal(one.index, two.index);
    assert.notEqual(one.index, three.index);
    assert.match(await collect(two.reply({ persona, messages: [], question: 'backoff delay' })), /src\/backoff\.ts:/);
  });
});

describe('brain factory: llama', () => {
  it('makes a llama brain that names a missing model before starting any model process', async () => {
    const make = createBrainFactory({ workspaceFolders: () => [] });
    const llamaPersona = parsePersonaFile('---\nid: local\nbrain:\n  provider: llama\n  model: ./nowhere.gguf\n---\nBe brief.\n', { file: path.join(fixtureWorkspace, 'local.persona.md') }).persona!;
    const brain = make(llamaPersona);
    assert.ok(brain instanceof LlamaBrain);
    await assert.rejects(collect(brain.reply({ persona: llamaPersona, messages: [{ role: 'user', content: 'hi' }], question: 'hi' })), (e: unknown) => e instanceof BrainError && e.code === 'missing-model');
    await brain.dispose();
  });
});
