// The server side of an end-to-end run: code-server from npm with the packaged extension
// installed into a fresh extensions folder, and a temp sample workspace.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installCodeServer, installVsix, repoRoot, startCodeServer, type RunningCodeServer } from '../../../scripts/code-server.mjs';
import { packageExtension } from '../../../scripts/package.mjs';

export { repoRoot };

/** Screenshots and logs of the end-to-end suites. */
export const resultsDir = join(repoRoot, 'test-results', 'e2e');

export function log(line: string): void {
  console.log(`      [e2e] ${line}`);
}

let vsixPromise: Promise<string> | undefined;

/**
 * The VSIX under test: $PERSONA_MESH_VSIX when it names an existing file (a VSIX built earlier in
 * the same run), otherwise packaged once per process into test-results/e2e/persona-mesh.vsix and
 * exported through $PERSONA_MESH_VSIX for the suites and child processes that follow.
 */
export function ensureVsix(): Promise<string> {
  vsixPromise ??= (async () => {
    const given = process.env.PERSONA_MESH_VSIX;
    if (given && existsSync(given)) {
      log(`reusing ${given}`);
      return resolve(given);
    }
    mkdirSync(resultsDir, { recursive: true });
    const started = Date.now();
    const vsix = await packageExtension({ out: join(resultsDir, 'persona-mesh.vsix') });
    log(`packaged ${vsix} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.env.PERSONA_MESH_VSIX = vsix;
    return vsix;
  })();
  return vsixPromise;
}

/** A fresh temp folder; removed by the returned disposer. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pm-e2e-${prefix}-`));
}

/** A small workspace like a user's: a README and an empty `.mesh/personas/` folder. */
export function createSampleWorkspace(dir: string): string {
  mkdirSync(join(dir, '.mesh', 'personas'), { recursive: true });
  writeFileSync(
    join(dir, 'README.md'),
    '# Sample workspace\n\nA workspace for trying Persona Mesh. Personas live in `.mesh/personas/*.persona.md`.\n',
  );
  return dir;
}

/** Mesh settings that keep a node on loopback (tests and the demo never touch a real network). */
export const loopbackMeshSettings: Record<string, unknown> = {
  'personaMesh.listen': '127.0.0.1:0',
  'personaMesh.discovery.interface': '127.0.0.1',
};

/** User settings for a quiet, predictable workbench (no welcome page, no tips). */
export const defaultUserSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  // Tests stay on this machine: sessions and discovery on loopback only.
  ...loopbackMeshSettings,
};

/** Writes User/settings.json in a user data dir (defaults plus the given settings). */
export function writeUserSettings(userDataDir: string, settings: Record<string, unknown> = {}): void {
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...defaultUserSettings, ...settings }, null, 2));
}

export interface WorkbenchServer {
  server: RunningCodeServer;
  url: string;
  workspace: string;
  extensionsDir: string;
  userDataDir: string;
  /** The mesh key this run's nodes share (random, so parallel runs never join each other). */
  meshKey: string;
  dispose(): Promise<void>;
}

/**
 * Installs code-server (cached) and the VSIX into a fresh extensions folder, then starts
 * code-server on 127.0.0.1 with a sample workspace and a random mesh key.
 */
export async function startWorkbenchServer(
  options: { vsix?: string | false; env?: Record<string, string>; settings?: Record<string, unknown> } = {},
): Promise<WorkbenchServer> {
  await installCodeServer({ log });
  const base = tempDir('server');
  const extensionsDir = join(base, 'extensions');
  const userDataDir = join(base, 'user-data');
  const workspace = createSampleWorkspace(join(base, 'workspace'));
  mkdirSync(extensionsDir, { recursive: true });
  writeUserSettings(userDataDir, options.settings);
  const vsix = options.vsix === undefined ? await ensureVsix() : options.vsix;
  if (vsix) await installVsix(vsix, extensionsDir, { log });
  const meshKey = `e2e-${randomBytes(12).toString('hex')}`;
  let server: RunningCodeServer;
  try {
    server = await startCodeServer({
      userDataDir,
      extensionsDir,
      folder: workspace,
      env: { PERSONA_MESH_KEY: meshKey, ...options.env },
      log,
    });
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    url: server.url,
    workspace,
    extensionsDir,
    userDataDir,
    meshKey,
    async dispose() {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Copies the server's logs (extension host, the extension's output channels) into test-results/e2e/<name>/. */
export function saveLogs(env: WorkbenchServer, name: string): string {
  const target = join(resultsDir, name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const logs = join(env.userDataDir, 'logs');
  if (existsSync(logs)) cpSync(logs, join(target, 'logs'), { recursive: true });
  writeFileSync(join(target, 'code-server.log'), env.server.output());
  return target;
}
