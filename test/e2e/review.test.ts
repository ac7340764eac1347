// End to end: "Review File with Persona" in the packaged extension in code-server, with a librarian
// persona hosted by a headless node (its node runs the review). The comments appear as comment
// threads in the editor; Apply Suggestion changes the file; Accept records a signal that shows on
// the Leaderboard view, and a click on the persona shows the signals behind its score. A rejected
// suggestion the user then rewrites comes out of Export Training Data as a DPO pair.
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir } from './support/env';
import { usePersonaPeer } from './support/personaPeer';
import { activityBarItem, pickQuickInputRow, runCommand, waitForNotification } from './support/workbench';
import { until } from '../support/until';

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

// Line 5 ends in two spaces (a trailing-whitespace comment with a suggestion).
const cart = ['function cartTotal(items) {', '  var sum = 0;', '  for (const item of items) sum += item.price;', '  if (sum == 0) return null;', '  return sum;  ', '}', ''].join('\n');

describe('e2e: code review by a persona on another node, comment threads and the leaderboard', function () {
  this.timeout(300_000);
  const stage = usePersonaPeer({
    name: 'review',
    peerName: 'review-host',
    personas: { 'reviewer.persona.md': reviewer },
    prepare: (env) => {
      mkdirSync(join(env.workspace, 'src'));
      writeFileSync(join(env.workspace, 'src', 'cart.js'), cart);
    },
  });

  it('Review File with Persona shows the remote persona\'s comments as threads in the editor', async function () {
    const page = stage.browser.page;
    await runCommand(page, 'Go to File...');
    await page.keyboard.type('cart.js', { delay: 5 });
    await pickQuickInputRow(page, 'cart.js');
    await page.locator('.monaco-editor .view-lines', { hasText: 'cartTotal' }).first().waitFor({ timeout: 20_000 });
    // The persona list comes from the mesh: wait until the remote persona is known, then review.
    let shown = '';
    const picked = async (): Promise<true | undefined> => {
      await runCommand(page, 'Persona Mesh: Review File with Persona');
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'Reviewer' });
      try {
        await row.first().waitFor({ state: 'visible', timeout: 3000 });
      } catch {
        shown = JSON.stringify(await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').allInnerTexts());
        await page.keyboard.press('Escape');
        return undefined;
      }
      assert.match((await row.first().textContent()) ?? '', /librarian · node /);
      await row.first().click();
      return true;
    };
    await until('the remote Reviewer in the persona pick', picked, 60_000, () => `rows shown: ${shown}`, 1000);
    const equality = page.locator('.review-widget', { hasText: 'Loose equality' });
    await equality.first().waitFor({ state: 'visible', timeout: 30_000 });
    const declaration = page.locator('.review-widget', { hasText: 'function-scoped' });
    await declaration.first().waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await equality.first().textContent()) ?? '', /Reviewer/);
    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'review-threads.png') });
  });

  it('Apply Suggestion changes the file; Accept marks the thread and records a signal', async function () {
    const page = stage.browser.page;
    const declaration = page.locator('.review-widget', { hasText: 'function-scoped' }).first();
    await declaration.locator('.review-actions [aria-label="Apply Suggestion"]').click();
    await page.locator('.monaco-editor .view-lines', { hasText: 'let sum = 0;' }).first().waitFor({ timeout: 10_000 });
    await declaration.locator('.review-title', { hasText: 'Applied' }).waitFor({ timeout: 10_000 });

    const equality = page.locator('.review-widget', { hasText: 'Loose equality' }).first();
    await equality.locator('.review-actions [aria-label="Accept"]').click();
    await equality.locator('.review-title', { hasText: 'Accepted' }).waitFor({ timeout: 10_000 });
    // Done threads offer no more actions (the title bar follows the thread's context value).
    await equality.locator('.review-actions [aria-label="Accept"]').waitFor({ state: 'detached', timeout: 10_000 });
    await page.keyboard.press('Control+S');
    await until('the applied suggestion saved', () => readFileSync(join(stage.env.workspace, 'src', 'cart.js'), 'utf8').includes('let sum = 0;') || undefined, 10_000);
  });

  it('the Leaderboard view ranks the persona from the review signals and shows the signals behind the score', async function () {
    const page = stage.browser.page;
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

  it('a rejected suggestion the user rewrites becomes a DPO pair in Export Training Data', async function () {
    const page = stage.browser.page;
    const whitespace = page.locator('.review-widget', { hasText: 'Trailing whitespace' }).first();
    await whitespace.waitFor({ state: 'visible', timeout: 10_000 });
    await whitespace.locator('.review-actions [aria-label="Reject"]').click();
    // A rejected thread folds away; the Leaderboard's signal list (still open) shows the rejection live.
    const board = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await board.locator('ul.signals li', { hasText: 'comment rejected' }).waitFor({ timeout: 10_000 });
    // The user writes their own version of line 5 and saves.
    await runCommand(page, 'Go to Line/Column...');
    await page.keyboard.type('5', { delay: 5 });
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.type('// the total', { delay: 5 });
    await page.keyboard.press('Control+S');
    const file = join(stage.env.workspace, 'src', 'cart.js');
    await until('the edit saved', () => readFileSync(file, 'utf8').includes('// the total') || undefined, 10_000);
    await board.locator('ul.signals li', { hasText: 'the user wrote their own' }).waitFor({ timeout: 10_000 });

    await runCommand(page, 'Persona Mesh: Export Training Data…');
    await pickQuickInputRow(page, 'DPO pairs');
    await pickQuickInputRow(page, 'All personas');
    // The room box opens after the persona pick closes; an Enter before that would go to the editor.
    await page.locator('.quick-input-widget', { hasText: '(3/3): room' }).waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('.quick-input-widget .quick-input-box input').press('Enter'); // every room
    // The save dialog (code-server's simple dialog) offers persona-mesh-dpo.jsonl in the workspace.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await page.waitForFunction(() => document.querySelector<HTMLInputElement>('.quick-input-widget .quick-input-box input')?.value.endsWith('persona-mesh-dpo.jsonl'), undefined, { timeout: 10_000 });
    await input.press('Enter');
    const message = await waitForNotification(page, /Exported \d+ dpo line/);
    assert.match(message, /Exported 1 dpo line\./);
    const lines = readFileSync(join(stage.env.workspace, 'persona-mesh-dpo.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const pair = JSON.parse(lines[0]!) as { prompt: string; chosen: string; rejected: string };
    assert.equal(pair.rejected, '  return sum;');
    assert.match(pair.chosen, /return sum; +\/\/ the total/);
    assert.match(pair.prompt, /src\/cart\.js and suggest a fix for line 5/);
  });
});
