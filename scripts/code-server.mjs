#!/usr/bin/env node
// code-server 4.100.3 (VS Code 1.100.3) from npm, installed offline into .cache/, and helpers to
// start it, install a VSIX into it and stop it without leaving processes behind.
// The recipe is the measured one in ../shared/notes/e2e-code-server.md.
//
// CLI:
//   node scripts/code-server.mjs install                 install (cached; a second run takes seconds)
//   node scripts/code-server.mjs start [--port N] [--folder DIR] [--extensions-dir DIR]
//   node scripts/code-server.mjs install-vsix FILE.vsix EXTENSIONS_DIR
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  lstatSync,
  copyFileSync,
  chmodSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = join(repoRoot, '.cache', `code-server-${CODE_SERVER_VERSION}`);
export const codeServerDir = join(cacheDir, 'node_modules', 'code-server');
export const codeServerEntry = join(codeServerDir, 'out', 'node', 'entry.js');
const vscodeDir = join(codeServerDir, 'lib', 'vscode');
const installedMarker = join(cacheDir, '.installed');
const stepsDir = join(cacheDir, '.steps');
const installLog = join(cacheDir, 'install.log');
const lockDir = `${cacheDir}.lock`;

/** Flags every start uses (from the note). */
export const codeServerFlags = [
  '--auth',
  'none',
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function defaultLog(line) {
  console.log(`[code-server] ${line}`);
}

export function isCodeServerInstalled() {
  return existsSync(installedMarker) && existsSync(codeServerEntry);
}

/** Environment for npm child processes: native builds as root, no prompts, no audit/fund noise. */
function npmEnv() {
  return {
    ...process.env,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
    // code-server's own package-lock entries and scripts must not try to open a browser etc.
    CI: process.env.CI ?? 'true',
  };
}

/** Runs a command, appending its output to the install log; rejects with the log's tail. */
function run(cmd, args, { cwd, env = npmEnv() } = {}) {
  return new Promise((resolvePromise, reject) => {
    const out = createWriteStream(installLog, { flags: 'a' });
    out.write(`\n$ (cd ${cwd} && ${cmd} ${args.join(' ')})\n`);
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk) => {
      out.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => {
      out.end();
      reject(error);
    });
    child.on('close', (code, signal) => {
      out.end();
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with ${signal ?? `exit code ${code}`}:\n${tail}\n(full log: ${installLog})`));
    });
  });
}

function isProcessAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** A lock folder so two concurrent installs (two terminals, two suites) do not interleave. */
async function withLock(log, fn) {
  mkdirSync(dirname(lockDir), { recursive: true });
  let waitedSince = 0;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
      } catch {
        // being created right now
      }
      if (Number.isFinite(owner) && owner > 0 && !isProcessAlive(owner)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!waitedSince) {
        waitedSince = Date.now();
        log(`another install is running (pid ${owner}); waiting for it`);
      }
      if (Date.now() - waitedSince > 15 * 60_000) throw new Error(`timed out waiting for ${lockDir}`, { cause: error });
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function ensureSymlink(target, path) {
  try {
    lstatSync(path);
    return;
  } catch {
    // missing
  }
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
}

function hasDebPackage(name) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/**
 * Installs code-server into .cache/code-server-4.100.3 (about 140 s and 300 MB cold).
 * Each step leaves a marker, so an interrupted install resumes; a finished one returns at once.
 */
export async function installCodeServer({ log = defaultLog, force = false } = {}) {
  if (!force && isCodeServerInstalled()) {
    log(`code-server ${CODE_SERVER_VERSION} already installed in ${cacheDir}`);
    return { dir: codeServerDir, entry: codeServerEntry };
  }
  return withLock(log, async () => {
    if (force) rmSync(cacheDir, { recursive: true, force: true });
    if (isCodeServerInstalled()) return { dir: codeServerDir, entry: codeServerEntry };
    mkdirSync(stepsDir, { recursive: true });
    const started = Date.now();
    log(`installing code-server ${CODE_SERVER_VERSION} into ${cacheDir} (cold install takes a few minutes; log: ${installLog})`);
    const steps = [
      {
        name: 'libkrb5-dev',
        title: 'Debian libkrb5-dev (for the kerberos native module)',
        run: async () => {
          if (hasDebPackage('libkrb5-dev')) return 'already present';
          if (process.getuid?.() !== 0) throw new Error('libkrb5-dev is missing: run `sudo apt-get install -y libkrb5-dev` and try again');
          const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
          try {
            await run('apt-get', ['install', '-y', 'libkrb5-dev'], { cwd: cacheDir, env });
          } catch {
            await run('apt-get', ['update'], { cwd: cacheDir, env });
            await run('apt-get', ['install', '-y', 'libkrb5-dev'], { cwd: cacheDir, env });
          }
          return 'installed';
        },
      },
      {
        name: 'npm-install',
        title: `npm install code-server@${CODE_SERVER_VERSION} --ignore-scripts`,
        run: async () => {
          writeFileSync(join(cacheDir, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true }, null, 2));
          await run('npm', ['install', `code-server@${CODE_SERVER_VERSION}`, '--ignore-scripts', '--no-save', '--no-package-lock'], { cwd: cacheDir });
        },
      },
      {
        name: 'argon2',
        title: 'npm rebuild argon2 (from source)',
        run: () => run('npm', ['rebuild', 'argon2'], { cwd: cacheDir }),
      },
      {
        name: 'vscode-install',
        title: 'lib/vscode: npm install --omit=dev --ignore-scripts',
        run: () => run('npm', ['install', '--omit=dev', '--ignore-scripts'], { cwd: vscodeDir }),
      },
      {
        name: 'ripgrep',
        title: 'ripgrep binary from @vscode/ripgrep-linux-x64',
        run: async () => {
          const rg = join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
          if (existsSync(rg)) return 'already present';
          const scratch = join(cacheDir, 'ripgrep-linux-x64');
          mkdirSync(scratch, { recursive: true });
          writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'rg-scratch', private: true }));
          await run('npm', ['install', '@vscode/ripgrep-linux-x64', '--no-save', '--no-package-lock', '--ignore-scripts'], { cwd: scratch });
          const found = findFile(join(scratch, 'node_modules', '@vscode', 'ripgrep-linux-x64'), 'rg');
          if (!found) throw new Error('no rg binary in @vscode/ripgrep-linux-x64');
          mkdirSync(dirname(rg), { recursive: true });
          copyFileSync(found, rg);
          chmodSync(rg, 0o755);
          rmSync(scratch, { recursive: true, force: true });
          return 'copied';
        },
      },
      {
        name: 'vscode-rebuild',
        title: 'lib/vscode: npm rebuild (node-pty, spdlog, kerberos, native-watchdog from source)',
        run: () => run('npm', ['rebuild'], { cwd: vscodeDir }),
      },
      {
        name: 'links',
        title: 'links the postinstall would make',
        run: async () => {
          ensureSymlink('node_modules', join(vscodeDir, 'node_modules.asar'));
          const remoteCli = join(vscodeDir, 'bin', 'remote-cli');
          if (existsSync(join(remoteCli, 'code-linux.sh'))) ensureSymlink('code-linux.sh', join(remoteCli, 'code-server'));
          const helpers = join(vscodeDir, 'bin', 'helpers');
          if (existsSync(join(helpers, 'browser-linux.sh'))) ensureSymlink('browser-linux.sh', join(helpers, 'browser.sh'));
        },
      },
      {
        name: 'extensions-install',
        title: 'lib/vscode/extensions: npm install --omit=dev',
        run: () => run('npm', ['install', '--omit=dev'], { cwd: join(vscodeDir, 'extensions') }),
      },
    ];
    for (const [index, step] of steps.entries()) {
      const marker = join(stepsDir, `${step.name}.done`);
      const prefix = `step ${index + 1}/${steps.length}: ${step.title}`;
      if (existsSync(marker)) {
        log(`${prefix}: done earlier`);
        continue;
      }
      const stepStarted = Date.now();
      log(`${prefix} ...`);
      const note = await step.run();
      writeFileSync(marker, new Date().toISOString());
      log(`${prefix}: ${note ? `${note}, ` : ''}${((Date.now() - stepStarted) / 1000).toFixed(1)} s`);
    }
    if (!existsSync(codeServerEntry)) throw new Error(`install finished but ${codeServerEntry} is missing`);
    writeFileSync(installedMarker, JSON.stringify({ version: CODE_SERVER_VERSION, installedAt: new Date().toISOString() }) + '\n');
    log(`code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { dir: codeServerDir, entry: codeServerEntry };
  });
}

function findFile(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name) return path;
  }
  return undefined;
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** XDG_* dirs in a temp folder so code-server never touches the user's own config. */
function xdgEnv(base) {
  const env = {
    XDG_CONFIG_HOME: join(base, 'config'),
    XDG_DATA_HOME: join(base, 'data'),
    XDG_CACHE_HOME: join(base, 'cache'),
    XDG_STATE_HOME: join(base, 'state'),
  };
  for (const dir of Object.values(env)) mkdirSync(dir, { recursive: true });
  return env;
}

/** Every descendant of pid (children first found by walking /proc). */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...  — comm may contain spaces or parens
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  const result = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift();
    for (const child of children.get(next) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Processes whose process group is pgid (everything code-server started that did not setsid). */
function processGroupMembers(pgid) {
  const members = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

/**
 * Starts code-server on 127.0.0.1 and waits for /healthz.
 * Returns { url, port, pid, output(), stop() }; stop() ends the whole process tree.
 */
export async function startCodeServer({
  port,
  host = '127.0.0.1',
  userDataDir,
  extensionsDir,
  folder,
  env = {},
  extraArgs = [],
  log = defaultLog,
  echo = false,
  timeoutMs = 60_000,
} = {}) {
  if (!isCodeServerInstalled()) await installCodeServer({ log });
  const base = mkdtempSync(join(tmpdir(), 'pm-code-server-'));
  port ??= await freePort();
  userDataDir ??= join(base, 'user-data');
  extensionsDir ??= join(base, 'extensions');
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const args = [
    codeServerEntry,
    '--bind-addr',
    `${host}:${port}`,
    ...codeServerFlags,
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    ...extraArgs,
  ];
  if (folder) args.push(folder);
  const child = spawn(process.execPath, args, {
    cwd: base,
    env: { ...process.env, ...xdgEnv(join(base, 'xdg')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() signals the whole group
  });
  let output = '';
  const onData = (chunk) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
    if (echo) process.stderr.write(chunk);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  const exitPromise = new Promise((r) => child.on('exit', (code, signal) => {
    exited = true;
    r({ code, signal });
  }));
  const pgid = child.pid;
  // If this process goes away without stop(), do not leave code-server running.
  const emergency = () => {
    for (const pid of [...processTree(pgid), ...processGroupMembers(pgid)]) killQuietly(pid, 'SIGKILL');
    killQuietly(-pgid, 'SIGKILL');
  };
  process.on('exit', emergency);

  let stopped;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', emergency);
      const tree = new Set([...processTree(pgid), ...processGroupMembers(pgid)]);
      killQuietly(-pgid, 'SIGTERM');
      for (const pid of tree) killQuietly(pid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      const alive = () => [...tree, ...processGroupMembers(pgid)].filter(isProcessAlive).filter((pid) => !isZombie(pid));
      while (Date.now() < deadline && (!exited || alive().length)) await sleep(100);
      for (const pid of alive()) killQuietly(pid, 'SIGKILL');
      killQuietly(-pgid, 'SIGKILL');
      await Promise.race([exitPromise, sleep(2000)]);
      rmSync(base, { recursive: true, force: true });
    })();
    return stopped;
  };

  const url = `http://${host}:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`code-server exited before it was healthy:\n${output.slice(-4000)}`);
    }
    try {
      const response = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer ${url}healthz within ${timeoutMs / 1000} s:\n${output.slice(-4000)}`);
    }
    await sleep(200);
  }
  log(`code-server ${CODE_SERVER_VERSION} listening on ${url} (pid ${child.pid})`);
  return {
    url,
    port,
    pid: child.pid,
    userDataDir,
    extensionsDir,
    output: () => output,
    exited: exitPromise,
    stop,
  };
}

function isZombie(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Installs a VSIX into extensionsDir with code-server's own CLI (works offline). */
export async function installVsix(vsixPath, extensionsDir, { log = defaultLog } = {}) {
  if (!isCodeServerInstalled()) await installCodeServer({ log });
  const vsix = resolve(vsixPath);
  if (!existsSync(vsix)) throw new Error(`no VSIX at ${vsix}`);
  mkdirSync(extensionsDir, { recursive: true });
  const base = mkdtempSync(join(tmpdir(), 'pm-code-server-install-'));
  try {
    const result = spawnSync(
      process.execPath,
      [codeServerEntry, '--user-data-dir', join(base, 'user-data'), '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
      { cwd: base, env: { ...process.env, ...xdgEnv(join(base, 'xdg')) }, encoding: 'utf8', timeout: 120_000 },
    );
    const text = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    if (result.status !== 0 || !/successfully installed/i.test(text)) {
      throw new Error(`installing ${vsix} failed (exit ${result.status ?? result.signal}):\n${text}`);
    }
    log(`installed ${vsix} into ${extensionsDir}`);
    return text.trim();
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

function argValue(args, name) {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

async function main(argv) {
  const [command = 'install', ...rest] = argv;
  if (command === 'install') {
    await installCodeServer({ force: rest.includes('--force') });
  } else if (command === 'install-vsix') {
    const [vsix, extensionsDir] = rest;
    if (!vsix || !extensionsDir) throw new Error('usage: code-server.mjs install-vsix FILE.vsix EXTENSIONS_DIR');
    await installVsix(vsix, extensionsDir);
  } else if (command === 'start') {
    const port = argValue(rest, '--port');
    const server = await startCodeServer({
      port: port ? Number(port) : undefined,
      folder: argValue(rest, '--folder'),
      extensionsDir: argValue(rest, '--extensions-dir'),
      echo: true,
    });
    console.log(`open ${server.url}`);
    const shutdown = () => void server.stop().then(() => process.exit(0));
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    await server.exited;
  } else {
    throw new Error(`unknown command ${command}; use install | start | install-vsix`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`[code-server] ${error.message ?? error}`);
    process.exit(1);
  });
}
