import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const root = join(__dirname, '..', '..', '..');

/** The floor rules of eslint.config.mjs alone (no type information needed), over one snippet. */
async function breaches(filePath: string, code: string): Promise<string[]> {
  const configUrl = pathToFileURL(join(root, 'eslint.config.mjs')).href;
  const { floorRules } = (await import(configUrl)) as { floorRules: () => Linter.Config[] };
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...floorRules()],
  });
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: the floors of DESIGN.md', function () {
  this.timeout(30_000);

  it('is part of the lint the project runs (npm run lint)', async () => {
    const configUrl = pathToFileURL(join(root, 'eslint.config.mjs')).href;
    const config = (await import(configUrl)) as { default: Linter.Config[] };
    const kernel = config.default.find((block) => block.files?.includes('server/src/kernel/**/*.ts'));
    assert.ok(kernel?.rules?.['no-restricted-imports'], 'the floor rules are in the exported config');
  });

  it('refuses an import from the kernel up into a concern or store, and from the protocol into the kernel; the kernel may read the protocol', async () => {
    assert.match((await breaches('server/src/kernel/clock.ts', "import { Rooms } from '../rooms/rooms';\nexport type R = Rooms;\n"))[0] ?? '', /kernel imports nothing/);
    assert.match((await breaches('protocol/rooms.ts', "import type { Logger } from '../server/src/kernel/log';\nexport type L = Logger;\n"))[0] ?? '', /protocol imports nothing/);
    // The protocol is the floor below the kernel: the kernel may read it (the error table), nothing else.
    assert.deepEqual(await breaches('server/src/kernel/responseError.ts', "import { ServiceError } from '../../../protocol/errors';\nexport const e = ServiceError;\n"), []);
    assert.match((await breaches('server/src/kernel/clock.ts', "import type { Store } from '../store/store';\nexport type S = Store;\n"))[0] ?? '', /kernel imports nothing/);
  });

  it('refuses net/ reaching a concern or store/, and a concern reaching a sibling or the root', async () => {
    assert.equal((await breaches('server/src/net/overlay/plumtree.ts', "import type { Rooms } from '../../rooms/rooms';\nexport type R = Rooms;\n")).length, 1);
    assert.equal((await breaches('server/src/net/router.ts', "import type { Db } from '../store/database';\nexport type D = Db;\n")).length, 1);
    assert.equal((await breaches('server/src/rooms/rooms.ts', "import type { Academy } from '../academy/academy';\nexport type A = Academy;\n")).length, 1);
    assert.equal((await breaches('server/src/personas/brains/llama.ts', "import type { MeshNode } from '../../node/meshNode';\nexport type M = MeshNode;\n")).length, 1);
  });

  it('lets each floor import what is below it, and a known breach only its named folders', async () => {
    assert.deepEqual(await breaches('server/src/rooms/rooms.ts', "import type { Clock } from '../kernel/clock';\nimport type { Db } from '../store/database';\nimport type { MeshNetwork } from '../net/meshNetwork';\nimport { roomLimits } from '../../protocol/rooms';\nimport { x } from './eventLog';\nexport const y = [roomLimits, x];\nexport type T = Clock | Db | MeshNetwork;\n"), []);
    assert.deepEqual(await breaches('server/src/node/meshNode.ts', "import { Rooms } from '../rooms/rooms';\nexport const r = Rooms;\n"), []);
    assert.deepEqual(await breaches('server/src/personas/service.ts', "import type { Rooms } from '../rooms/rooms';\nexport type R = Rooms;\n"), []);
    assert.equal((await breaches('server/src/personas/service.ts', "import type { Academy } from '../academy/academy';\nexport type A = Academy;\n")).length, 1);
    // models/ (GGUF files) is a floor below the concerns: genomes and personas may read it, it reads none of them.
    assert.deepEqual(await breaches('server/src/genomes/lora.ts', "import { inspectGguf } from '../models/gguf';\nexport const i = inspectGguf;\n"), []);
    assert.equal((await breaches('server/src/models/gguf.ts', "import type { BrainError } from '../personas/brains/brain';\nexport type B = BrainError;\n")).length, 1);
  });

  it('keeps the extension to the protocol and the kernel, and the webview to the protocol', async () => {
    assert.deepEqual(await breaches('extension/src/commands.ts', "import { parseMeshKey } from '../../server/src/kernel/meshKey';\nimport type { NodeStatus } from '../../protocol/status';\nexport const p = parseMeshKey;\nexport type S = NodeStatus;\n"), []);
    assert.equal((await breaches('extension/src/commands.ts', "import { Rooms } from '../../server/src/rooms/rooms';\nexport const r = Rooms;\n")).length, 1);
    assert.equal((await breaches('webview/src/main.ts', "import { parseMeshKey } from '../../server/src/kernel/meshKey';\nexport const p = parseMeshKey;\n")).length, 1);
  });
});
