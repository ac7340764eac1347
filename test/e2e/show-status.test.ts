// End to end: the packaged extension in code-server 4.100.3 (VS Code 1.100.3) from npm, driven
// through Debian's Chromium. "Persona Mesh: Show Status" must show this node's id.
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, openWorkbench, workbenchUrl, type Browser } from './support/browser';
import { createSampleWorkspace, log, resultsDir, saveLogs, startWorkbenchServer, type WorkbenchServer } from './support/env';
import { findNodeId, GROUPED_NODE_ID, NODE_ID } from './support/nodeId';
import { activityBarItem, notificationMessages, readOutputChannel, runCommand, waitForNotification } from './support/workbench';

describe('e2e: Persona Mesh: Show Status in code-server', function () {
  this.timeout(300_000);
  let env: WorkbenchServer | undefined;
  let browser: Browser | undefined;
  let firstNodeId: string | undefined;

  before(async function () {
    env = await startWorkbenchServer();
    browser = await launchBrowser();
    const started = Date.now();
    await openWorkbench(browser.page, workbenchUrl(env.url, env.workspace));
    log(`workbench ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      mkdirSync(resultsDir, { recursive: true });
      const file = join(resultsDir, `show-status-failed-${this.currentTest.title.replace(/\W+/g, '-')}.png`);
      await browser.page.screenshot({ path: file }).catch(() => undefined);
      log(`screenshot of the failure: ${file}`);
      log(`page console (last 40 lines):\n${browser.consoleLines.slice(-40).join('\n')}`);
      if (env) log(`code-server output (tail):\n${env.server.output().slice(-3000)}\nlogs saved in ${saveLogs(env, 'show-status-logs')}`);
    }
  });

  after(async function () {
    await browser?.close();
    await env?.dispose();
  });

  it('shows the Persona Mesh icon in the activity bar', async function () {
    const icon = activityBarItem(browser!.page, 'Persona Mesh');
    await icon.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match((await icon.getAttribute('aria-label')) ?? '', /^Persona Mesh/);
  });

  /** Runs Show Status until the node reports its id (the server may still be starting). */
  async function shownNodeId(page: Page): Promise<{ nodeId: string; message: string }> {
    const started = Date.now();
    let message: string | undefined;
    const deadline = Date.now() + 90_000;
    for (let attempt = 1; message === undefined; attempt++) {
      await runCommand(page, 'Persona Mesh: Show Status', { timeoutMs: 60_000 });
      if (attempt === 1) log(`Show Status ran ${((Date.now() - started) / 1000).toFixed(1)} s after the workbench was ready`);
      try {
        message = await waitForNotification(page, GROUPED_NODE_ID, 5_000);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        log(`no node id yet (notifications: ${JSON.stringify(await notificationMessages(page))}); trying again`);
        await runCommand(page, 'Notifications: Clear All Notifications');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    log(`node id shown ${((Date.now() - started) / 1000).toFixed(1)} s after the workbench was ready`);
    const nodeId = findNodeId(message);
    assert.ok(nodeId, `no node id in "${message}"`);
    assert.match(nodeId, NODE_ID);
    return { nodeId, message };
  }

  it('Show Status shows the node id in a notification and the "Persona Mesh" output', async function () {
    const page = browser!.page;
    const { nodeId, message } = await shownNodeId(page);
    firstNodeId = nodeId;
    log(`notification: ${message}`);

    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'show-status.png') });

    // The same id is in the extension's log channel.
    const output = await readOutputChannel(page, 'Persona Mesh', GROUPED_NODE_ID);
    assert.equal(findNodeId(output), nodeId, `the output channel shows another id:\n${output}`);
  });

  it('a second window runs a node of its own (the first keeps the global storage folder)', async function () {
    assert.ok(firstNodeId, 'the first window showed its node');
    const folder = createSampleWorkspace(join(env!.workspace, '..', 'second-workspace'));
    const second = await browser!.context.newPage();
    try {
      await openWorkbench(second, workbenchUrl(env!.url, folder));
      const { nodeId, message } = await shownNodeId(second);
      log(`second window: ${message}`);
      assert.notEqual(nodeId, firstNodeId, 'two windows on one identity would drop each other\'s sessions');
      assert.ok(message.includes(`node "${hostname()}-2"`), `the second window's node is named after its slot: ${message}`);
    } finally {
      await second.close();
    }
  });
});
