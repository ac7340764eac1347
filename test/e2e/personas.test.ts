// End to end: a persona hosted by a headless node answers a question asked in the chat panel of the
// packaged extension in code-server, and the Personas view lists it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cliPath } from '../integration/cli/support';
import { log, resultsDir } from './support/env';
import { usePersonaPeer } from './support/personaPeer';
import { activityBarItem, runCommand } from './support/workbench';
import { until } from '../support/until';

const librarian = `---
id: librarian
name: Librarian
description: Answers from the workspace documents.
brain:
  provider: librarian
capabilities:
  - docs
triggers:
  - how do I
rooms:
  general: expert
---
You are the Librarian. Answer from the documents, with file and line.
`;

describe('e2e: a persona on another node answers in the chat panel', function () {
  this.timeout(300_000);
  const stage = usePersonaPeer({
    name: 'personas',
    peerName: 'persona-host',
    personas: { 'librarian.persona.md': librarian },
    docs: { 'RELEASE.md': '# Releasing\n\nTo release, tag the commit with `v1.2.3` and push the tag; CI publishes the build.\n' },
  });

  it('the Librarian on the headless node answers a question from the panel, quoting the file', async function () {
    const page = stage.browser.page;
    await runCommand(page, 'Persona Mesh: Open Chat');
    const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const composer = panel.locator('textarea[aria-label^="Message #"]');
    await composer.waitFor({ state: 'visible', timeout: 30_000 });
    await composer.click();
    const started = Date.now();
    await page.keyboard.type('how do I release a new version?', { delay: 5 });
    await page.keyboard.press('Enter');
    const answer = panel.locator('article', { hasText: 'Librarian' }).filter({ hasText: 'RELEASE.md' });
    await answer.first().waitFor({ state: 'visible', timeout: 30_000 });
    log(`the persona's answer appeared ${Date.now() - started} ms after sending`);
    assert.match((await answer.first().textContent()) ?? '', /tag the commit/);
  });

  it('a thumbs up in the panel reaches the hosting node and becomes training data (KTO export)', async function () {
    const page = stage.browser.page;
    const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const answer = panel.locator('article', { hasText: 'Librarian' }).filter({ hasText: 'RELEASE.md' }).first();
    await answer.hover();
    await answer.getByRole('button', { name: 'Good answer' }).click();
    await answer.getByRole('button', { name: 'Good answer', pressed: true }).waitFor({ timeout: 10_000 });
    // The signal travels to the persona's node; its database then exports the rated answer.
    type Line = { prompt: unknown; completion: string; label: boolean };
    let stderr = '';
    const exported = (): Line[] | undefined => {
      const result = spawnSync(process.execPath, [cliPath, 'export', '--format', 'kto', '--data-dir', stage.peerDataDir, '--out', '-'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.status, 0, result.stderr);
      stderr = result.stderr;
      const found = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Line);
      return found.length > 0 ? found : undefined;
    };
    // Each check runs the CLI export against the running node's database: once a second.
    const lines = await until("a rated answer exported from the persona's node", exported, 30_000, () => stderr, 1000);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.label, true);
    assert.match(lines[0]!.completion, /tag the commit/);
    assert.match(JSON.stringify(lines[0]!.prompt), /how do I release a new version\?/);
  });

  it('the Personas view lists the remote persona with its brain and state', async function () {
    const page = stage.browser.page;
    await activityBarItem(page, 'Persona Mesh').click();
    const row = page.locator('.pane', { hasText: 'Personas' }).locator('.monaco-list-row', { hasText: 'Librarian' });
    await row.first().waitFor({ state: 'visible', timeout: 30_000 });
    assert.match((await row.first().textContent()) ?? '', /librarian · online/);
    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'personas.png') });
  });
});
