#!/usr/bin/env node
// npm run bench [-- --json] [-- --quick] [-- --suite net|rooms|webview|genomes|overlay|scale]: runs the benchmarks
// (TypeScript through tsx; overlay bundled, see entryOf) one after another and prints ONE JSON object on stdout: the network
// numbers at the top level (tcpBaseline, mesh, peers, discoveryMs, fastLane…), then `rooms`,
// `webview`, `genomes` and `overlay` (the simulated overlay; `--quick` runs only its 1,000 nodes).
// Progress goes to stderr. `--expose-gc` lets the peers bench measure RSS after a GC.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const suiteArg = args.indexOf('--suite');
const suites = suiteArg >= 0 ? [args[suiteArg + 1]] : ['net', 'rooms', 'webview', 'genomes', 'overlay'];
const passThrough = args.filter((arg, i) => i !== suiteArg && i !== suiteArg + 1);

/**
 * The overlay suite is bundled by esbuild as the server it measures is (scripts/build.mjs): its
 * figure is CPU seconds, and through tsx's on-the-fly transform the same 10,000-node run, event for
 * event, costs about 1.4 times as much. The other suites time sockets and processes and run through tsx.
 */
async function entryOf(suite) {
  if (suite !== 'overlay') return ['--import', 'tsx', join(root, 'bench', `${suite}.ts`)];
  const outfile = join(root, 'out', 'bench', 'overlay.js');
  await esbuild.build({ entryPoints: [join(root, 'bench', 'overlay.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'linked', outfile, logLevel: 'warning', absWorkingDir: root });
  return [outfile];
}

async function run(suite) {
  const entry = await entryOf(suite);
  return new Promise((resolve, reject) => {
    // --max-semi-space-size=1: the flag the extension runs its mesh server with (extension/src/ctx.ts).
    // Not for overlay: it simulates 10,000 nodes in one process, and a 1 MiB young generation
    // would make its CPU figure measure the garbage collector instead of the protocols.
    const heapFlags = suite === 'overlay' ? [] : ['--max-semi-space-size=1'];
    const child = spawn(process.execPath, ['--expose-gc', ...heapFlags, ...entry, ...passThrough], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.on('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`bench/${suite}.ts failed (${signal ?? `exit ${code}`})`));
      // A suite prints one JSON object, possibly after other lines: take the last object.
      const start = out.lastIndexOf('\n{') >= 0 ? out.lastIndexOf('\n{') + 1 : out.indexOf('{');
      try {
        resolve(JSON.parse(out.slice(start)));
      } catch {
        reject(new Error(`bench/${suite}.ts printed no JSON object:\n${out.slice(-500)}`));
      }
    });
  });
}

const result = {};
for (const suite of suites) {
  // scale (N real node processes, several minutes) runs only when asked for.
  if (!['net', 'rooms', 'webview', 'genomes', 'overlay', 'scale'].includes(suite)) {
    console.error(`unknown suite ${suite} (net, rooms, webview, genomes, overlay, scale)`);
    process.exit(2);
  }
  process.stderr.write(`[bench] ${suite}\n`);
  const numbers = await run(suite);
  if (suite === 'net') Object.assign(result, numbers);
  else result[suite] = numbers;
}
process.stdout.write(`${JSON.stringify(result, null, args.includes('--json') ? 0 : 2)}\n`);
