// Bundles the three programs (extension host, mesh server, chat webview) with esbuild.
// Native packages stay external: they are loaded from node_modules at run time.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};

const nativeExternals = ['libsql', 'sodium-native', 'node-llama-cpp'];

export const builds = [
  {
    ...nodeCommon,
    entryPoints: { extension: 'extension/src/extension.ts' },
    outdir: 'out',
    external: ['vscode', ...nativeExternals],
  },
  {
    ...nodeCommon,
    entryPoints: { server: 'server/src/ipc.ts', cli: 'server/src/cli.ts', llamaWorker: 'server/src/personas/brains/llamaWorker.ts' },
    outdir: 'server/out',
    external: nativeExternals,
  },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    absWorkingDir: root,
    entryPoints: { chat: 'webview/src/main.ts', leaderboard: 'webview/src/leaderboard/main.ts' },
    outdir: 'webview/out',
  },
  {
    ...nodeCommon,
    entryPoints: { index: 'test/extension/index.ts' },
    outdir: 'out/test/extension',
    external: ['vscode', 'mocha', ...nativeExternals],
  },
];

function copyStatic() {
  mkdirSync(join(root, 'webview/out'), { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) {
    cpSync(join(root, 'node_modules/@vscode/codicons/dist', file), join(root, 'webview/out', file));
  }
}

copyStatic();
if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
  console.log('esbuild: watching');
} else {
  const started = Date.now();
  await Promise.all(builds.map((options) => esbuild.build(options)));
  console.log(`esbuild: built ${builds.length} bundles in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
}
