import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MemoryLog } from '../../../server/src/kernel/log';
import { disabledPersonasIn } from '../../../server/src/personas/disabledPersonas';
import { PersonaRegistry, type LocalPersona } from '../../../server/src/personas/registry';
import { Store } from '../../../server/src/store/database';

function persona(id: string, extra = ''): string {
  return `---\nid: ${id}\nbrain: librarian\n${extra}---\nYou are ${id}.\n`;
}

/** Resolves when the registry reports a state that passes `check`. */
function until(registry: PersonaRegistry, check: (list: LocalPersona[]) => boolean, timeoutMs = 4000): Promise<LocalPersona[]> {
  if (check(registry.list())) return Promise.resolve(registry.list());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      registry.off('changed', listener);
      reject(new Error(`timed out; personas: ${JSON.stringify(registry.list().map((p) => [p.persona.id, p.state, p.reason]))}`));
    }, timeoutMs);
    const listener = (list: LocalPersona[]) => {
      if (!check(list)) return;
      clearTimeout(timer);
      registry.off('changed', listener);
      resolve(list);
    };
    registry.on('changed', listener);
  });
}

describe('persona registry', () => {
  let root: string;
  let registry: PersonaRegistry | undefined;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'personas-'));
  });
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
    rmSync(root, { recursive: true, force: true });
  });

  it('loads the workspace folder and extra folders, with states and problems', async () => {
    const ws = path.join(root, 'ws');
    const extra = path.join(root, 'extra');
    mkdirSync(path.join(ws, '.mesh', 'personas'), { recursive: true });
    mkdirSync(extra);
    writeFileSync(path.join(ws, '.mesh', 'personas', 'a.persona.md'), persona('alpha'));
    writeFileSync(path.join(ws, '.mesh', 'personas', 'notes.md'), 'not a persona');
    writeFileSync(path.join(extra, 'b.persona.md'), persona('beta', 'brain: {provider: nope}\n').replace('brain: librarian\n', ''));
    writeFileSync(path.join(extra, 'c.persona.md'), persona('alpha'));
    registry = new PersonaRegistry({ workspaceFolders: [ws], extraFolders: [extra], debounceMs: 20 });
    await registry.start();
    const byId = new Map(registry.list().map((p) => [p.persona.id, p]));
    assert.deepEqual([...byId.keys()].sort(), ['alpha', 'beta']);
    assert.equal(byId.get('alpha')!.state, 'degraded', 'a duplicate id is an error');
    assert.match(byId.get('alpha')!.reason!, /a\.persona\.md:2: the id `alpha` is also used by c\.persona\.md/);
    assert.equal(byId.get('beta')!.state, 'degraded');
    assert.match(byId.get('beta')!.reason!, /unknown brain provider `nope`/);
    assert.equal(registry.parsedFiles().length, 3);
    const summary = registry.summaries('NODE').find((s) => s.id === 'beta')!;
    assert.equal(summary.nodeId, 'NODE');
    assert.equal(summary.local, true);
    assert.equal(summary.state, 'degraded');
  });

  it('picks up created, changed and deleted files live, including a folder created later', async () => {
    const ws = path.join(root, 'ws');
    mkdirSync(ws);
    registry = new PersonaRegistry({ workspaceFolders: [ws], debounceMs: 20 });
    await registry.start();
    assert.deepEqual(registry.list(), []);
    const folder = path.join(ws, '.mesh', 'personas');
    // The folder did not exist: the workspace folder is watched; creating `.mesh` triggers a reload that moves the watch down.
    const reloaded = once(registry, 'loaded');
    mkdirSync(folder, { recursive: true });
    await reloaded;
    writeFileSync(path.join(folder, 'one.persona.md'), persona('one'));
    await until(registry, (l) => l.some((p) => p.persona.id === 'one'));
    writeFileSync(path.join(folder, 'one.persona.md'), persona('one', 'name: Number One\n'));
    await until(registry, (l) => l.some((p) => p.persona.name === 'Number One'));
    unlinkSync(path.join(folder, 'one.persona.md'));
    await until(registry, (l) => l.length === 0);
  });

  it('tracks busy, brain problems and disabled, and reloads with new folders', async () => {
    const extra = path.join(root, 'extra');
    mkdirSync(extra);
    writeFileSync(path.join(extra, 'a.persona.md'), persona('alpha'));
    registry = new PersonaRegistry({ debounceMs: 20 });
    await registry.start();
    assert.equal(registry.list().length, 0);
    await registry.setFolders({ workspaceFolders: [], extraFolders: [extra] });
    assert.equal(registry.get('alpha')?.state, 'online');
    const states: string[] = [];
    registry.on('changed', (list) => states.push(list[0] ? `${list[0].state}${list[0].reason ? `:${list[0].reason}` : ''}` : 'none'));
    registry.setBusy('alpha', true);
    registry.setBusy('alpha', false);
    registry.setBrainProblem('alpha', 'endpoint http://localhost:1 is unreachable');
    registry.setBrainProblem('alpha', 'endpoint http://localhost:1 is unreachable');
    registry.setBrainProblem('alpha', undefined);
    registry.setEnabled('alpha', false);
    assert.deepEqual(states, ['busy', 'online', 'degraded:endpoint http://localhost:1 is unreachable', 'online', 'disabled:disabled by the user']);
    await registry.reload();
    assert.equal(registry.get('alpha')?.state, 'disabled', 'runtime state survives a reload');
    // An editor that truncates before it writes: one reload sees no persona, the next sees it back.
    writeFileSync(path.join(extra, 'a.persona.md'), '');
    await registry.reload();
    assert.equal(registry.get('alpha'), undefined);
    writeFileSync(path.join(extra, 'a.persona.md'), persona('alpha'));
    await registry.reload();
    assert.equal(registry.get('alpha')?.state, 'disabled', 'a persona the user disabled stays disabled when its file comes back');
    assert.throws(() => registry!.setEnabled('ghost', true), /no local persona "ghost"/);
  });

  it('keeps the personas the user disabled across a restart, in the node database', async () => {
    const extra = path.join(root, 'extra');
    mkdirSync(extra);
    writeFileSync(path.join(extra, 'a.persona.md'), persona('alpha'));
    writeFileSync(path.join(extra, 'b.persona.md'), persona('beta'));
    const log = new MemoryLog();
    const open = async () => {
      const store = new Store(root, log.logger);
      await store.start();
      return store;
    };
    let store = await open();
    registry = new PersonaRegistry({ extraFolders: [extra], disabled: disabledPersonasIn(store, log.logger) });
    await registry.start();
    registry.setEnabled('alpha', false);
    registry.setEnabled('beta', false);
    registry.setEnabled('beta', true);
    await registry.stop();
    await store.stop();

    store = await open();
    registry = new PersonaRegistry({ extraFolders: [extra], disabled: disabledPersonasIn(store, log.logger) });
    await registry.start();
    assert.deepEqual(registry.list().map((p) => [p.persona.id, p.state]), [['alpha', 'disabled'], ['beta', 'online']]);
    await registry.stop();

    // A value this version cannot read: reported, and every persona starts enabled.
    store.db.prepare("UPDATE node_meta SET value = '{broken' WHERE key = 'personas.disabled'").run();
    registry = new PersonaRegistry({ extraFolders: [extra], disabled: disabledPersonasIn(store, log.logger) });
    await registry.start();
    assert.deepEqual(registry.list().map((p) => p.state), ['online', 'online']);
    assert.ok(log.messages('warn').some((m) => /disabled personas in the database is unreadable/.test(m)), 'the problem is logged');
    await registry.stop();
    registry = undefined;
    await store.stop();
  });

  it('refuses oversized files', async () => {
    const extra = path.join(root, 'extra');
    mkdirSync(extra);
    writeFileSync(path.join(extra, 'big.persona.md'), persona('big') + 'x'.repeat(2048));
    registry = new PersonaRegistry({ extraFolders: [extra], maxFileBytes: 1024 });
    await registry.start();
    assert.equal(registry.list().length, 0);
    assert.equal(registry.parsedFiles()[0]!.problems[0]!.code, 'too-large');
    const size = Buffer.byteLength(persona('big') + 'x'.repeat(2048)).toLocaleString('en-US');
    assert.equal(registry.parsedFiles()[0]!.problems[0]!.message, `the file is ${size} bytes; the limit is 1,024 bytes`);
  });
});
