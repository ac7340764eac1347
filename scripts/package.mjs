#!/usr/bin/env node
// Builds the production bundles and packages persona-mesh.vsix for linux-x64 with the installed
// @vscode/vsce (no network). Then checks the VSIX: only whitelisted files are inside, the bundles
// and native packages are there, and the native packages load from the unpacked extension folder
// alone (the server process runs from the installed extension, not from this repository).
//
//   node scripts/package.mjs [--out FILE] [--skip-build] [--no-verify]
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const defaultVsixPath = join(repoRoot, 'persona-mesh.vsix');
export const target = 'linux-x64';

const requireFromVsce = createRequire(join(repoRoot, 'node_modules', '@vscode', 'vsce', 'package.json'));

/** What may be inside the VSIX (paths under `extension/`). Anything else fails the check. */
const allowed = [
  /^package\.json$/,
  /^readme\.md$/i,
  /^license(\.txt|\.md)?$/i,
  /^changelog\.md$/i,
  /^out\/extension\.js$/,
  /^server\/out\/.+(?<!\.map)$/,
  /^webview\/out\/.+(?<!\.map)$/,
  /^media\//,
  /^syntaxes\//,
  /^node_modules\/libsql\//,
  /^node_modules\/@libsql\/linux-x64-gnu\//,
  /^node_modules\/detect-libc\//,
  /^node_modules\/@neon-rs\/load\//,
  /^node_modules\/sodium-native\/(package\.json|index\.js|binding\.js|LICENSE|prebuilds\/linux-x64\/[^/]+\.node)$/,
  /^node_modules\/(require-addon|which-runtime|bare-addon-resolve|bare-module-resolve|bare-semver)\//,
  /^node_modules\/node-llama-cpp\/(?!llama\/gitRelease\.bundle$)(?!node_modules\/@node-llama-cpp\/)(?!dist\/.*\.map$)/,
  /^node_modules\/@node-llama-cpp\/linux-x64\//,
  ...llamaDependencyFolders().map((name) => new RegExp(`^node_modules/${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/`)),
];

/**
 * The top-level node_modules folders node-llama-cpp needs at run time (its `dependencies`,
 * transitively, as installed here); .vscodeignore lists the same.
 */
function llamaDependencyFolders() {
  const modules = join(repoRoot, 'node_modules');
  const seen = new Set();
  const resolveFrom = (name, from) => {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dirname(dir) === dir) return undefined;
    }
  };
  const walk = (dir) => {
    const real = realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      const found = resolveFrom(name, dir);
      if (found) walk(found);
    }
  };
  if (!existsSync(join(modules, 'node-llama-cpp'))) return [];
  walk(join(modules, 'node-llama-cpp'));
  const names = new Set();
  for (const dir of seen) {
    const parts = relative(modules, dir).split(sep);
    names.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  names.delete('node-llama-cpp');
  return [...names].sort();
}

/** What must be inside the VSIX. */
const required = [
  'package.json',
  'LICENSE.txt',
  'out/extension.js',
  'server/out/server.js',
  'node_modules/libsql/package.json',
  'node_modules/@libsql/linux-x64-gnu/index.node',
  'node_modules/sodium-native/prebuilds/linux-x64/sodium-native.node',
  'server/out/llamaWorker.js',
  'node_modules/node-llama-cpp/package.json',
  'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node',
];

function log(line) {
  console.log(`[package] ${line}`);
}

function run(cmd, args, { cwd = repoRoot, env = process.env, quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'] });
    let output = '';
    child.stdout?.on('data', (c) => (output += c));
    child.stderr?.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolvePromise(output) : reject(new Error(`${cmd} ${args.join(' ')} failed with ${signal ?? `exit code ${code}`}${output ? `:\n${output}` : ''}`)),
    );
  });
}

/** Entry names of a zip file. */
export function listZip(zipPath) {
  const yauzl = requireFromVsce('yauzl');
  return new Promise((resolvePromise, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const names = [];
      zip.on('entry', (entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolvePromise(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Unpacks a zip into dir (keeps the unix mode bits). */
export function extractZip(zipPath, dir) {
  const yauzl = requireFromVsce('yauzl');
  return new Promise((resolvePromise, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      zip.on('entry', (entry) => {
        const path = resolve(dir, entry.fileName);
        if (!path.startsWith(resolve(dir) + '/')) return reject(new Error(`unsafe path in zip: ${entry.fileName}`));
        if (entry.fileName.endsWith('/')) {
          mkdirSync(path, { recursive: true });
          zip.readEntry();
          return;
        }
        mkdirSync(dirname(path), { recursive: true });
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const mode = (entry.externalFileAttributes >>> 16) & 0o777;
          const out = createWriteStream(path, mode ? { mode } : {});
          out.on('close', () => zip.readEntry());
          out.on('error', reject);
          stream.pipe(out);
        });
      });
      zip.on('end', () => resolvePromise());
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Checks the file list of a VSIX against the whitelist; returns the extension's files. */
export async function checkVsixContents(vsixPath) {
  const entries = await listZip(vsixPath);
  const files = entries.filter((name) => name.startsWith('extension/') && !name.endsWith('/')).map((name) => name.slice('extension/'.length));
  const unexpected = files.filter((file) => !allowed.some((pattern) => pattern.test(file)));
  const missing = required.filter((file) => !files.includes(file));
  const problems = [];
  if (unexpected.length) problems.push(`files that should not be in the VSIX:\n  ${unexpected.join('\n  ')}`);
  if (missing.length) problems.push(`files missing from the VSIX:\n  ${missing.join('\n  ')}`);
  if (problems.length) throw new Error(`${vsixPath}: ${problems.join('\n')}\n(edit .vscodeignore)`);
  return files;
}

/**
 * Unpacks the VSIX in a temp folder (no node_modules above it) and loads the native packages the
 * way the bundled server does, from server/out, plus the CLI's --help when there is a CLI.
 */
export async function verifyVsixRuntime(vsixPath) {
  const dir = mkdtempSync(join(tmpdir(), 'pm-vsix-'));
  try {
    await extractZip(vsixPath, dir);
    const extensionDir = join(dir, 'extension');
    const probe = `
      const { createRequire } = require('node:module');
      const path = require('node:path');
      const req = createRequire(path.join(process.cwd(), 'server', 'out', 'server.js'));
      const Database = req('libsql');
      const db = new Database(':memory:');
      const row = db.prepare('select sqlite_version() as v').get();
      db.close();
      const sodium = req('sodium-native');
      const out = Buffer.alloc(32);
      sodium.crypto_generichash(out, Buffer.from('persona-mesh'));
      const pk = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES), sk = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES);
      sodium.crypto_sign_keypair(pk, sk);
      console.log(JSON.stringify({ sqlite: row.v, libsql: req.resolve('libsql'), sodium: req.resolve('sodium-native') }));
    `;
    const env = { ...process.env };
    delete env.NODE_PATH;
    const output = await run(process.execPath, ['-e', probe], { cwd: extensionDir, env, quiet: true });
    const result = JSON.parse(output.trim().split('\n').pop());
    if (!result.libsql.startsWith(extensionDir) || !result.sodium.startsWith(extensionDir)) {
      throw new Error(`native packages resolved outside the unpacked VSIX: ${output}`);
    }
    log(`VSIX runtime check: libsql (SQLite ${result.sqlite}) and sodium-native load from the unpacked extension`);
    // node-llama-cpp is ESM: the server's model process loads it with import() from server/out.
    const llamaProbe = `
      const { createRequire } = require('node:module');
      const path = require('node:path');
      const { pathToFileURL } = require('node:url');
      const req = createRequire(path.join(process.cwd(), 'server', 'out', 'llamaWorker.js'));
      const resolved = req.resolve('node-llama-cpp');
      import(pathToFileURL(resolved).href).then(async (lib) => {
        const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
        const binary = llama.buildType;
        await llama.dispose();
        console.log(JSON.stringify({ resolved, binary }));
      }).catch((error) => { console.error(error); process.exit(1); });
    `;
    const llamaOutput = await run(process.execPath, ['-e', llamaProbe], { cwd: extensionDir, env, quiet: true });
    const llamaResult = JSON.parse(llamaOutput.trim().split('\n').pop());
    if (!llamaResult.resolved.startsWith(extensionDir)) throw new Error(`node-llama-cpp resolved outside the unpacked VSIX: ${llamaOutput}`);
    log(`VSIX runtime check: node-llama-cpp loads its ${llamaResult.binary} llama.cpp build (CPU) from the unpacked extension`);
    if (existsSync(join(extensionDir, 'server', 'out', 'cli.js'))) {
      await run(process.execPath, [join(extensionDir, 'server', 'out', 'cli.js'), '--help'], { cwd: extensionDir, env, quiet: true });
      log('VSIX runtime check: server/out/cli.js --help runs from the unpacked extension');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Builds (production) and packages the VSIX; returns its absolute path. */
export async function packageExtension({ out = defaultVsixPath, skipBuild = false, verify = true } = {}) {
  const started = Date.now();
  out = resolve(out);
  if (!skipBuild) {
    log('npm run build -- --production');
    await run('npm', ['run', '--silent', 'build', '--', '--production']);
  }
  rmSync(out, { force: true });
  log(`vsce package --target ${target} --out ${out}`);
  const vsce = join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  // vsce runs the vscode:prepublish script (the same production build) before packaging.
  // The VSIX is installed from a file, not published: README links stay relative to the extension
  // folder (media/ is inside), so vsce need not know a repository URL to rewrite them.
  await run(process.execPath, [vsce, 'package', '--target', target, '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links'], {
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (!existsSync(out)) throw new Error(`vsce finished but ${out} is missing`);
  const files = await checkVsixContents(out);
  log(`VSIX contents check: ${files.length} files, all whitelisted`);
  if (verify) await verifyVsixRuntime(out);
  const size = (statSync(out).size / 1024 / 1024).toFixed(1);
  log(`${out} (${size} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

function argValue(args, name) {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  packageExtension({
    out: argValue(args, '--out') ?? defaultVsixPath,
    skipBuild: args.includes('--skip-build'),
    verify: !args.includes('--no-verify'),
  }).catch((error) => {
    console.error(`[package] ${error.message ?? error}`);
    process.exit(1);
  });
}
