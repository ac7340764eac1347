// End to end: "Review File with Persona" in the packaged extension in code-server, with a librarian
// persona hosted by a headless node (its node runs the review). The comments appear as comment
// threads in the editor; Apply Suggestion changes the file; Accept records a signal that shows on
// the Leaderboard view, and a click on the persona shows the signals behind its score.
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess } from '../integration/cli/support';
import { launchBrowser, openWorkbench, workbenchUrl, type Browser } from './support/browser';
import { log, resultsDir, saveLogs, startWorkbenchServer, tempDir, type WorkbenchServer } from './support/env';
import { activityBarItem, pickQuickInputRow, runCommand } from './support/workbench';

const reviewer = `---
id: reviewer
name: Reviewer
description: Reviews code from the workspace's conventions.
brain:
  provider: librarian
participation:
  mentionsOnly: true
---
You are the Reviewer.
`;

const cart = `function cartTotal(items) {
  var sum = 0;
  for (const item of items) sum += item.price;
  if (sum == 0) return null;
  return sum;
}
`;

describe('e2e: code review by a persona on another node, comment threads and the leaderboard', function () {
  this.timeout(300_000);
  let env: WorkbenchServer | undefined;
  let browser: Browser | undefined;
  let peer: CliProcess | undefined;

  before(async function () {
    env = await startWorkbenchServer();
    mkdirSync(join(env.workspace, 'src'));
    writeFileSync(join(env.workspace, 'src', 'cart.js'), cart);
    const base = tempDir('review-peer');
    const personas = join(base, 'personas');
    mkdirSync(personas, { recursive: true });
    writeFileSync(join(personas, 'reviewer.persona.md'), reviewer);
    peer = new CliProcess(
      ['node', '--data-dir', join(base, 'data'), '--name', 'review-host', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--personas', personas, '--workspace', env.workspace, '--jsonl'],
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
      await browser.page.screenshot({ path: join(resultsDir, `review-failed-${this.currentTest.title.replace(/\W+/g, '-')}.png`) }).catch(() => undefined);
      log(`peer stderr (tail):\n${peer?.stderr.slice(-2000) ?? ''}`);
      log(`logs saved in ${saveLogs(env, 'review-logs')}`);
    }
  });

  after(async function () {
    peer?.kill('SIGTERM');
    await peer?.exited;
    await browser?.close();
    await env?.dispose();
  });

  it('Review File with Persona shows the remote persona\'s comments as threads in the editor', async function () {
    const page = browser!.page;
    await runCommand(page, 'Go to File...');
    await page.keyboard.type('cart.js', { delay: 5 });
    await pickQuickInputRow(page, 'cart.js');
    await page.locator('.monaco-editor .view-lines', { hasText: 'cartTotal' }).first().waitFor({ timeout: 20_000 });
    // The persona list comes from the mesh: wait until the remote persona is known, then review.
    const deadline = Date.now() + 60_000;
    for (;;) {
      await runCommand(page, 'Persona Mesh: Review File with Persona');
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Reviewer' });
      try {
        await row.first().waitFor({ state: 'visible', timeout: 3000 });
        assert.match((await row.first().textContent()) ?? '', /librarian · node /);
        await row.first().click();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await page.keyboard.press('Escape');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const equality = page.locator('.review-widget', { hasText: 'Loose equality' });
    await equality.first().waitFor({ state: 'visible', timeout: 30_000 });
    const declaration = page.locator('.review-widget', { hasText: 'function-scoped' });
    await declaration.first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await equality.first().textContent()) ?? '', /Reviewer/);
    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'review-threads.png') });
  });

  it('Apply Suggestion changes the file; Accept marks the thread and records a signal', async function () {
    const page = browser!.page;
    const declaration = page.locator('.review-widget', { hasText: 'function-scoped' }).first();
    await declaration.locator('.review-actions [aria-label="Apply Suggestion"]').click();
    await page.locator('.monaco-editor .view-lines', { hasText: 'let sum = 0;' }).first().waitFor({ timeout: 10_000 });
    await declaration.locator('.review-title', { hasText: 'Applied' }).waitFor({ timeout: 10_000 });

    const equality = page.locator('.review-widget', { hasText: 'Loose equality' }).first();
    await equality.locator('.review-actions [aria-label="Accept"]').click();
    await equality.locator('.review-title', { hasText: 'Accepted' }).waitFor({ timeout: 10_000 });
    // Done threads offer no more actions.
    assert.equal(await equality.locator('.review-actions [aria-label="Accept"]').count(), 0);
    await page.keyboard.press('Control+S');
    const deadline = Date.now() + 10_000;
    while (!readFileSync(join(env!.workspace, 'src', 'cart.js'), 'utf8').includes('let sum = 0;')) {
      assert.ok(Date.now() < deadline, 'the applied suggestion was not saved');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('the Leaderboard view ranks the persona from the review signals and shows the signals behind the score', async function () {
    const page = browser!.page;
    await activityBarItem(page, 'Persona Mesh').click();
    const header = page.locator('.pane-header', { hasText: 'Leaderboard' });
    await header.waitFor({ state: 'visible', timeout: 20_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const board = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const row = board.locator('tr', { hasText: 'Reviewer' });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    // Two signals (applied, accepted), both +1.
    assert.match((await row.textContent()) ?? '', /\+1\.00 \(2\)/);
    await row.getByRole('button', { name: 'Reviewer' }).focus();
    await page.keyboard.press('Enter');
    const items = board.locator('ul.signals li[data-source="review"]');
    await items.first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(await items.count(), 2);
    const texts = (await items.allTextContents()).join('\n');
    assert.match(texts, /comment accepted/);
    assert.match(texts, /comment applied/);
    await page.screenshot({ path: join(resultsDir, 'review-leaderboard.png') });
  });
});
