// @vscode/test-cli configuration: the same extension integration suites as `npm run test:extension`
// (test/extension/, bundled into out/test/extension/index.js by `npm run build`), on desktop VS Code
// where it can be downloaded: `npm run build && npx vscode-test`.
// Offline machines (and CI here) run them through code-server instead: `npm run test:extension`.
import { defineConfig } from '@vscode/test-cli';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const workspace = mkdtempSync(join(tmpdir(), 'pm-vscode-test-'));
mkdirSync(join(workspace, '.mesh', 'personas'), { recursive: true });

const common = {
  files: 'out/test/extension/index.js',
  workspaceFolder: workspace,
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
  env: { PERSONA_MESH_KEY: 'vscode-test-mesh-key' },
  mocha: { ui: 'bdd', timeout: 60_000, color: true },
};

export default defineConfig([
  { label: 'stable', version: 'stable', ...common },
  // engines.vscode is ^1.95.0: the oldest VS Code the extension supports.
  { label: 'minimum', version: '1.95.0', ...common },
]);
