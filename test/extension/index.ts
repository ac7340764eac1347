// Extension integration tests, run inside the real extension host with the real `vscode` API.
// scripts/build.mjs bundles this file (and the suites it imports) into out/test/extension/index.js
// with `vscode` and `mocha` external; mocha resolves from the repository's node_modules.
//
// Two ways in:
// - VS Code's extension test runner (extensionTestsPath, used by test/e2e/run-extension-tests.mjs
//   through code-server) calls run(), which creates mocha and registers the suites.
// - @vscode/test-cli (.vscode-test.mjs, desktop VS Code) loads this file with its own mocha; its
//   `describe` global is already there, so the suites register at load time.
import Mocha from 'mocha';
import { activationSuite } from './activation.test';
import { askPersonaSuite } from './askPersona.test';
import { genomesSuite } from './genomes.test';
import { newIdentitySuite } from './newIdentity.test';
import { outcomesSuite } from './outcomes.test';
import { meshKeyTraceSuite } from './meshKeyTrace.test';

const suites: [file: string, register: () => void][] = [
  ['test/extension/activation.test.ts', activationSuite],
  ['test/extension/askPersona.test.ts', askPersonaSuite],
  ['test/extension/genomes.test.ts', genomesSuite],
  ['test/extension/outcomes.test.ts', outcomesSuite],
  // Last: these change the server's key and this window's identity, restarting the server.
  ['test/extension/meshKeyTrace.test.ts', meshKeyTraceSuite],
  ['test/extension/newIdentity.test.ts', newIdentitySuite],
];

function registerAll(mocha?: Mocha): void {
  for (const [file, register] of suites) {
    if (mocha) mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, file, mocha);
    register();
    if (mocha) mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_POST_REQUIRE, globalThis, file, mocha);
  }
}

if (typeof (globalThis as { describe?: unknown }).describe === 'function') registerAll();

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, reporter: 'spec', timeout: 60_000 });
  registerAll(mocha);
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} extension test${failures === 1 ? '' : 's'} failed`);
}
