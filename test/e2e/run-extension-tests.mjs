#!/usr/bin/env node
// npm run test:extension — the extension integration tests (test/extension/) inside a real
// extension host: the offline equivalent of @vscode/test-electron. code-server 4.100.3 runs the
// extension from this repository (extensionDevelopmentPath) and the bundled suites
// (extensionTestsPath) given in the workbench URL's `payload`; Chromium opens that URL and the
// workbench reports the result through window.codeAutomationExit(code).
//
//   node test/e2e/run-extension-tests.mjs [--no-build] [--headed] [--tests out/test/extension/index.js]
// Environment: EXTENSION_TESTS_TIMEOUT_MS (default 180000), CHROMIUM_PATH (default /usr/bin/chromium).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { installCodeServer, repoRoot, startCodeServer } from '../../scripts/code-server.mjs';

const args = new Set(process.argv.slice(2));
const timeoutMs = Number(process.env.EXTENSION_TESTS_TIMEOUT_MS ?? 180_000);
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const argv = process.argv.slice(2);
const testsEntry = argv.includes('--tests') ? resolve(argv[argv.indexOf('--tests') + 1]) : join(repoRoot, 'out', 'test', 'extension', 'index.js');

const log = (line) => console.log(`[test:extension] ${line}`);
const elapsed = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function listLogs(dir) {
  const found = [];
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.log')) found.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return found;
}

/** Prints the extension host's log and the extension's own output channel from the user data dir. */
function printHostLogs(userDataDir) {
  const logs = listLogs(join(userDataDir, 'logs')).filter(
    (file) => /^(remote)?exthost\.log$/.test(basename(file)) || file.includes('persona-mesh.persona-mesh'),
  );
  for (const file of logs) {
    const text = readFileSync(file, 'utf8').trim();
    if (!text) continue;
    const lines = text.split('\n');
    console.log(`\n----- ${relative(userDataDir, file)} (${lines.length} lines${lines.length > 300 ? ', last 300' : ''}) -----`);
    console.log(lines.slice(-300).join('\n'));
  }
  if (!logs.length) log(`no extension host log under ${join(userDataDir, 'logs')}`);
}

async function main() {
  const started = Date.now();
  if (!args.has('--no-build')) {
    log('npm run build');
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status})`);
  }
  for (const file of [testsEntry, join(repoRoot, 'out', 'extension.js')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  }
  await installCodeServer({ log });

  const base = mkdtempSync(join(tmpdir(), 'pm-extension-tests-'));
  const workspace = join(base, 'workspace');
  mkdirSync(join(workspace, '.mesh', 'personas'), { recursive: true });
  writeFileSync(join(workspace, 'README.md'), '# Extension test workspace\n');
  const userDataDir = join(base, 'user-data');
  // Tests stay on this machine: sessions and discovery on loopback only.
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ 'personaMesh.listen': '127.0.0.1:0', 'personaMesh.discovery.interface': '127.0.0.1', 'workbench.startupEditor': 'none' }, null, 2),
  );
  const extensionsDir = join(base, 'extensions'); // empty: only the development extension runs
  const profile = join(base, 'chromium');

  let server;
  let context;
  let exitCode;
  try {
    server = await startCodeServer({
      userDataDir,
      extensionsDir,
      folder: workspace,
      env: { PERSONA_MESH_KEY: `ext-test-${randomBytes(12).toString('hex')}` },
      log,
    });
    const authority = `vscode-remote://127.0.0.1:${server.port}`;
    const payload = [
      ['extensionDevelopmentPath', `${authority}${repoRoot}`],
      ['extensionTestsPath', `${authority}${testsEntry}`],
    ];
    const url = new URL(server.url);
    url.searchParams.set('folder', workspace);
    url.searchParams.set('payload', JSON.stringify(payload));

    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: !args.has('--headed'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let settle;
    const result = new Promise((resolve) => (settle = resolve));
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      // The extension host's console, forwarded by the workbench (printf-style arguments).
      const text = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      for (const line of text.split('\n')) console.log(`  ${type === 'error' ? '! ' : ''}${line}`);
    });
    await page.exposeFunction('codeAutomationExit', (code) => settle({ code: Number(code) }));
    page.on('pageerror', (error) => console.log(`  [page error] ${error.message}`));
    page.on('crash', () => settle({ error: 'the page crashed' }));

    log(`opening the workbench with extensionDevelopmentPath=${repoRoot} extensionTestsPath=${relative(repoRoot, testsEntry)}`);
    const opened = Date.now();
    await page.goto(url.toString(), { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const timer = setTimeout(() => settle({ error: `no result from the extension host within ${timeoutMs / 1000} s` }), timeoutMs);
    void server.exited.then(({ code, signal }) => settle({ error: `code-server exited (${signal ?? code})` }));
    const outcome = await result;
    clearTimeout(timer);
    if (outcome.error) {
      log(`FAILED: ${outcome.error}`);
      const shot = join(repoRoot, 'test-results', 'extension', 'timeout.png');
      mkdirSync(join(repoRoot, 'test-results', 'extension'), { recursive: true });
      await page.screenshot({ path: shot }).catch(() => undefined);
      log(`screenshot: ${shot}`);
      console.log(`\n----- code-server output (tail) -----\n${server.output().slice(-4000)}`);
      exitCode = 1;
    } else {
      exitCode = outcome.code;
      log(`extension host finished with exit code ${exitCode} after ${elapsed(opened)}`);
    }
  } finally {
    await context?.close().catch(() => undefined);
    if (server) {
      await server.stop();
      printHostLogs(userDataDir);
    }
    rmSync(base, { recursive: true, force: true });
  }
  log(`${exitCode === 0 ? 'passed' : 'FAILED'} in ${elapsed(started)}`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[test:extension] ${error.stack ?? error}`);
    process.exit(1);
  },
);
