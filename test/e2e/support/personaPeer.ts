/**
 * The usual stage of an e2e suite: code-server with the packaged extension in Chromium, and a
 * headless node (`persona-mesh node`) on the same mesh hosting the suite's personas. Registers the
 * suite's before/afterEach/after hooks; a failed test leaves a screenshot, the peer's stderr and
 * the logs in test-results/e2e/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess } from '../../integration/cli/support';
import { launchBrowser, openWorkbench, workbenchUrl, type Browser } from './browser';
import { log, resultsDir, saveLogs, startWorkbenchServer, tempDir, type WorkbenchServer } from './env';

export interface PersonaPeerOptions {
  /** Names the temp folders, screenshots and logs. */
  name: string;
  /** The peer node's display name. */
  peerName: string;
  /** Persona files of the peer, by file name. */
  personas: Record<string, string>;
  /** Documents of the folder the peer's librarian indexes, by path; none: it indexes the workbench's workspace. */
  docs?: Record<string, string>;
  /** Runs once the workbench server exists, before the peer starts (e.g. files for the workspace). */
  prepare?: (env: WorkbenchServer) => void;
}

export interface PersonaPeerStage {
  readonly env: WorkbenchServer;
  readonly browser: Browser;
  readonly peer: CliProcess;
  /** The peer's data folder (its database, for the CLI). */
  readonly peerDataDir: string;
}

export function usePersonaPeer(options: PersonaPeerOptions): PersonaPeerStage {
  let env: WorkbenchServer | undefined;
  let browser: Browser | undefined;
  let peer: CliProcess | undefined;
  let peerDataDir = '';

  before(async function () {
    env = await startWorkbenchServer();
    options.prepare?.(env);
    const base = tempDir(`${options.name}-peer`);
    const personas = join(base, 'personas');
    mkdirSync(personas, { recursive: true });
    for (const [file, text] of Object.entries(options.personas)) writeFileSync(join(personas, file), text);
    let workspace = env.workspace;
    if (options.docs) {
      workspace = join(base, 'docs');
      for (const [file, text] of Object.entries(options.docs)) {
        mkdirSync(join(workspace, file, '..'), { recursive: true });
        writeFileSync(join(workspace, file), text);
      }
    }
    peerDataDir = join(base, 'data');
    peer = new CliProcess(
      ['node', '--data-dir', peerDataDir, '--name', options.peerName, '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--personas', personas, '--workspace', workspace, '--jsonl'],
      { PERSONA_MESH_KEY: env.meshKey },
    );
    await peer.waitFor('ready');
    browser = await launchBrowser();
    await openWorkbench(browser.page, workbenchUrl(env.url, env.workspace));
    await peer.waitFor('peer.up', 90_000);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser && env) {
      mkdirSync(resultsDir, { recursive: true });
      await browser.page.screenshot({ path: join(resultsDir, `${options.name}-failed-${this.currentTest.title.replace(/\W+/g, '-')}.png`) }).catch(() => undefined);
      log(`peer stderr (tail):\n${peer?.stderr.slice(-2000) ?? ''}`);
      log(`logs saved in ${saveLogs(env, `${options.name}-logs`)}`);
    }
  });

  after(async function () {
    peer?.kill('SIGTERM');
    await peer?.exited;
    await browser?.close();
    await env?.dispose();
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the e2e stage has no ${what}: its before() hook failed`);
    return value;
  };
  return {
    get env() {
      return started(env, 'workbench server');
    },
    get browser() {
      return started(browser, 'browser');
    },
    get peer() {
      return started(peer, 'peer node');
    },
    get peerDataDir() {
      return peerDataDir;
    },
  };
}
