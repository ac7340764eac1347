// End to end: a challenge started from the command palette of the packaged extension in
// code-server between two personas of a headless node, judged by the person in the chat panel,
// revealed in the room; the academy's leaderboard on the mesh changes; Challenge History shows it.
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Leaderboard } from '../../protocol/academy';
import { resultsDir } from './support/env';
import { usePersonaPeer } from './support/personaPeer';
import { activityBarItem, pickQuickInputRow, runCommand, runCommandAndPick } from './support/workbench';
import { until } from '../support/until';

const persona = (id: string, name: string) => `---
id: ${id}
name: ${name}
brain:
  provider: librarian
rooms:
  general: expert
---
You are ${name}. Answer from the documents.
`;


describe('e2e: a challenge from the palette, judged in the chat panel', function () {
  this.timeout(300_000);
  const stage = usePersonaPeer({
    name: 'challenges',
    peerName: 'persona-host',
    personas: { 'librarian.persona.md': persona('librarian', 'Librarian'), 'scribe.persona.md': persona('scribe', 'Scribe') },
    docs: { 'RELEASE.md': '# Releasing\n\nTo release, tag the commit with `v1.2.3` and push the tag; CI publishes the build.\n' },
  });

  it('starts a challenge from the palette, the person judges it in the panel, the ranking is revealed and the leaderboard changes', async function () {
    const page = stage.browser.page;
    // The mesh's personas are known to this window once the Personas view lists them.
    await activityBarItem(page, 'Persona Mesh').click();
    for (const name of ['Librarian', 'Scribe']) {
      await page.locator('.pane', { hasText: 'Personas' }).locator('.monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 60_000 });
    }

    await runCommand(page, 'Persona Mesh: Start Challenge');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const step = async (n: number) => page.locator('.quick-input-widget', { hasText: `Start Challenge (${n}/8)` }).waitFor({ state: 'visible', timeout: 15_000 });
    await step(1);
    await page.keyboard.type('Release steps', { delay: 5 });
    await page.keyboard.press('Enter');
    await step(2);
    await page.keyboard.type('How do I release a new version?', { delay: 5 });
    await page.keyboard.press('Enter');
    await step(3);
    await pickQuickInputRow(page, 'technical');
    await step(4);
    // Back goes a step back at a time, and each step shows what was answered there.
    const goBack = () => page.locator('.quick-input-widget .quick-input-titlebar').getByRole('button', { name: /^Back/ }).click();
    await goBack();
    await step(3);
    await goBack();
    await step(2);
    assert.equal(await input.inputValue(), 'How do I release a new version?');
    await page.keyboard.press('Enter');
    await step(3);
    await pickQuickInputRow(page, 'technical');
    await step(4);
    await pickQuickInputRow(page, 'easy');
    await step(5);
    await input.fill('20');
    await page.keyboard.press('Enter');
    // Participants and judges come preselected: every persona, and the person here.
    await step(6);
    await page.keyboard.press('Enter');
    await step(7);
    await page.keyboard.press('Enter');
    await step(8);
    // Weights that do not sum to 1 are refused where they are typed.
    await input.fill('0.5 0.5 0.5 0');
    await page.locator('.quick-input-widget', { hasText: 'must sum to 1 (they sum to 1.5)' }).waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill('0.4 0.2 0.2 0.2');
    await page.keyboard.press('Enter');

    // The panel opens on the room; the announcement is there and a judging card per answer follows.
    const panel = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await panel.locator('article', { hasText: 'Challenge: Release steps' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    const card = panel.locator('mesh-judging-card');
    await card.locator('section[aria-label="Answer B"]').waitFor({ state: 'visible', timeout: 60_000 });
    // Keyboard only: answer A gets 10 on technical (End), everything else stays at 5.
    const slider = card.locator('input[aria-label="Answer A, technical"]');
    await slider.focus();
    await page.keyboard.press('End');
    assert.equal(await slider.inputValue(), '10');
    await card.getByRole('button', { name: 'Submit scores' }).click();
    await card.waitFor({ state: 'detached', timeout: 20_000 });

    // Revealed in the room with names: answer A (7.00) first.
    const reveal = panel.locator('article', { hasText: 'Results of Release steps' }).first();
    await reveal.waitFor({ state: 'visible', timeout: 30_000 });
    const text = (await reveal.textContent()) ?? '';
    assert.match(text, /#1 (Librarian|Scribe): 7\.00 \/ 10 \(answer A\)/);
    assert.match(text, /#2 (Librarian|Scribe): 5\.00 \/ 10 \(answer B\)/);
    const winner = /#1 (Librarian|Scribe)/.exec(text)![1]!;
    mkdirSync(resultsDir, { recursive: true });
    await page.screenshot({ path: join(resultsDir, 'challenge-revealed.png') });

    // The academy's leaderboard on the mesh (the persona's node) changed: one game each, Elo ±16.
    let board: Leaderboard | undefined;
    const changed = () => {
      board = [...stage.peer.events].reverse().find((e) => e.event === 'leaderboard')?.leaderboard as Leaderboard | undefined;
      if (board && board.personas.filter((p) => p.games === 1).length >= 2) return board;
      stage.peer.send({ op: 'leaderboard' });
      return undefined;
    };
    board = await until('the leaderboard with one game for each', changed, 30_000, () => JSON.stringify(board), 500);
    assert.equal(board.personas.find((p) => p.persona.name === winner)!.elo, 1016);
    assert.equal(board.personas.find((p) => p.persona.name !== winner && p.games === 1)!.elo, 984);
  });

  it('Challenge History shows the challenge with its answers, scores and judges', async function () {
    const page = stage.browser.page;
    await runCommandAndPick(page, 'Persona Mesh: Challenge History', 'Release steps');
    const editor = page.locator('.editor-instance .monaco-editor .view-lines').first();
    await editor.waitFor({ state: 'visible', timeout: 15_000 });
    let shown = '';
    await until(
      'the scores by judge in Challenge History',
      async () => {
        shown = (await editor.innerText()).replaceAll('\u00a0', ' ');
        return /Scores by judge/.test(shown) || undefined;
      },
      10_000,
      () => shown,
      250,
    );
    assert.match(shown, /# Release steps/);
    assert.match(shown, /\*\*revealed\*\*/);
    assert.match(shown, /### 1\. (Librarian|Scribe) \(answer A\)/);
  });
});
