#!/usr/bin/env node
// npm test — every check, in order, stopping at the first failure with its exit code:
// build, typecheck, lint, unit, integration, extension (real extension host in code-server),
// e2e (packaged VSIX in code-server driven through Chromium), plus any other test:* script of
// package.json. Prints a summary with durations.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts ?? {};
const fixed = ['build', 'typecheck', 'lint', 'test:unit', 'test:integration', 'test:extension', 'test:e2e'];
// Suites added later (test:webview, ...) run after the integration tests, before the slow
// browser-driven ones, so `npm test` never silently leaves a suite out.
const extra = Object.keys(scripts).filter((name) => name.startsWith('test:') && !fixed.includes(name));
const order = [...fixed.slice(0, 5), ...extra, ...fixed.slice(5)];
const steps = order.map((name) => [
  name,
  // The bundles were just built: the extension-host runner need not build again.
  name === 'test:extension' ? ['run', name, '--', '--no-build'] : ['run', name],
]);
// VS Code (code-server, from npm into .cache/) before the unit tests: the persona grammar is
// tokenized there with VS Code's own TextMate engine, and the browser suites need it anyway.
steps.splice(order.indexOf('test:unit'), 0, ['code-server', ['exec', '--', 'node', 'scripts/code-server.mjs', 'install']]);

let current;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exitCode = 130;
  });
}

function runStep(args) {
  return new Promise((resolve) => {
    current = spawn('npm', args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? '1' : '0') } });
    current.on('error', (error) => {
      console.error(error);
      resolve(1);
    });
    current.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

const format = (ms) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${((ms % 60_000) / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);
const results = [];
const started = Date.now();
let failed;
for (const [name, args] of steps) {
  console.log(`\n━━━ ${name}: npm ${args.join(' ')} ━━━`);
  const stepStarted = Date.now();
  const code = await runStep(args);
  results.push({ name, code, ms: Date.now() - stepStarted });
  if (code !== 0) {
    failed = { name, code };
    break;
  }
}

console.log('\n━━━ summary ━━━');
for (const { name, code, ms } of results) console.log(`  ${code === 0 ? 'pass' : 'FAIL'}  ${name.padEnd(18)} ${format(ms).padStart(10)}${code === 0 ? '' : `  (exit code ${code})`}`);
for (const [name] of steps.slice(results.length)) console.log(`  skip  ${name}`);
console.log(`  total ${format(Date.now() - started)}`);
if (failed) {
  console.log(`\n${failed.name} failed (exit code ${failed.code})`);
  process.exit(failed.code);
}
console.log('\nall checks passed');
