// End to end: the chat panel of the packaged extension in code-server talks to a headless node
// (the CLI, a separate process) over the real mesh on loopback.
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { CliProcess } from '../integration/cli/support';
import { launchBrowser, openWorkbench, workbenchUrl, type Browser } from './support/browser';
import { log, resultsDir, saveLogs, startWorkbenchServer, tempDir, type WorkbenchServer } from './support/env';
import { runCommand } from './support/workbench';
import { until } from '../support/until';


describe('e2e: chat panel with a headless node in code-server', function () {
  this.timeout(300_000);
  let env: WorkbenchServer | undefined;
  let browser: Browser | undefined;
  let peer: CliProcess | undefined;
  let panel: FrameLocator;

  before(async function () {
    env = await startWorkbenchServer();
    writeFileSync(join(env.workspace, 'sum.ts'), ['export function sum(values: number[]): number {', '  let total = 0;', '  for (const v of values) total += v;', '  return total;', '}', ''].join('\n'));
    peer = new CliProcess(
      ['node', '--data-dir', join(tempDir('peer'), 'data'), '--name', 'demo-peer', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--jsonl'],
      { PERSONA_MESH_KEY: env.meshKey },
    );
    await peer.waitFor('ready');
    browser = await launchBrowser();
    await openWorkbench(browser.page, workbenchUrl(env.url, env.workspace));
    const up = await peer.waitFor('peer.up', 90_000);
    log(`the extension's node connected to the headless peer: ${String(up.name)}`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser && env) {
      mkdirSync(resultsDir, { recursive: true });
      await browser.page.screenshot({ path: join(resultsDir, `chat-failed-${this.currentTest.title.replace(/\W+/g, '-')}.png`) }).catch(() => undefined);
      log(`peer stderr (tail):\n${peer?.stderr.slice(-2000) ?? ''}`);
      log(`logs saved in ${saveLogs(env, 'chat-logs')}`);
    }
  });

  after(async function () {
    peer?.kill('SIGTERM');
    await peer?.exited;
    await browser?.close();
    await env?.dispose();
  });

  it('a message typed in the panel reaches the headless node', async function () {
    const page = browser!.page;
    await runCommand(page, 'Persona Mesh: Open Chat');
    panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const composer = panel.locator('textarea[aria-label^="Message #"]');
    await composer.waitFor({ state: 'visible', timeout: 30_000 });
    await composer.click();
    await page.keyboard.type('hello from the panel', { delay: 5 });
    await page.keyboard.press('Enter');
    const received = await waitForPeerMessage(peer!, (e) => e.text === 'hello from the panel');
    assert.equal(received.room, 'general');
    assert.equal(received.kind, 'human');
  });

  it('a message from the headless node appears in the panel', async function () {
    peer!.send({ op: 'send', room: 'general', text: 'hello from **demo-peer**' });
    await peer!.waitFor('sent');
    const rendered = panel.locator('strong', { hasText: 'demo-peer' });
    await rendered.first().waitFor({ state: 'visible', timeout: 30_000 });
    mkdirSync(resultsDir, { recursive: true });
    await browser!.page.screenshot({ path: join(resultsDir, 'chat-panel.png') });
  });

  it('Ask Room About Selection posts the selection with its path and line range', async function () {
    const page = browser!.page;
    await runCommand(page, 'Go to File...');
    await page.keyboard.type('sum.ts', { delay: 10 });
    // Enter opens the row the quick open lists once it found the file.
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'sum.ts' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible' });
    await page.locator('.monaco-editor .view-lines').first().click();
    // Select lines 2-3: start of line 2, then two lines down (the selection ends at column 0 of line 4).
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await runCommand(page, 'Persona Mesh: Ask Room About Selection');
    await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible' });
    await page.keyboard.type('is this loop right?', { delay: 5 });
    await page.keyboard.press('Enter');
    const received = await waitForPeerMessage(peer!, (e) => e.text === 'is this loop right?');
    assert.deepEqual(received.attachment, {
      path: 'sum.ts',
      language: 'typescript',
      startLine: 2,
      endLine: 3,
      content: '  let total = 0;\n  for (const v of values) total += v;\n',
    });
    await panel.locator('text=sum.ts').first().waitFor({ state: 'visible', timeout: 30_000 });
    await browser!.page.screenshot({ path: join(resultsDir, 'chat-attachment.png') });
  });

  it('follows a high contrast theme (colours come from the theme, not the panel)', async function () {
    const page = browser!.page;
    await runCommand(page, 'Preferences: Color Theme');
    await page.keyboard.type('Dark High Contrast', { delay: 5 });
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Dark High Contrast' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await runCommand(page, 'Persona Mesh: Open Chat');
    const message = panel.locator('text=hello from the panel').first();
    await message.waitFor({ state: 'visible', timeout: 30_000 });
    const colours = await message.evaluate((element) => {
      let background = 'rgba(0, 0, 0, 0)';
      for (let node: Element | null = element; node && background === 'rgba(0, 0, 0, 0)'; node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host ?? null)) {
        background = getComputedStyle(node).backgroundColor;
      }
      if (background === 'rgba(0, 0, 0, 0)') background = getComputedStyle(document.body).backgroundColor;
      return { text: getComputedStyle(element).color, background, themeKind: document.body.dataset.vscodeThemeKind ?? document.body.className };
    });
    assert.match(colours.themeKind, /high-contrast/);
    assert.equal(colours.text, 'rgb(255, 255, 255)');
    assert.equal(colours.background, 'rgb(0, 0, 0)');
    await page.screenshot({ path: join(resultsDir, 'chat-high-contrast.png') });
  });
});

async function waitForPeerMessage(peer: CliProcess, match: (event: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return until('the message at the headless node', () => peer.events.find((e) => e.event === 'message' && match(e)), timeoutMs, () => `its events: ${JSON.stringify(peer.events.slice(-10))}`);
}
