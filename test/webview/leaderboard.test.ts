// The Leaderboard view's bundle in Chromium under the webview CSP, with a stand-in for the VS Code
// host: ranking, trend, the category select and the signal list by keyboard, remote text as text,
// state across hide/show.
import { strict as assert } from 'node:assert';
import type { CategoryScore, Leaderboard, PersonaScores, Signal } from '../../protocol/academy';
import type { FromLeaderboard, ToLeaderboard } from '../../protocol/leaderboard';
import { buildWebview, startHarness, type Harness } from './harness';

const score = (mean: number, count: number, lowerBound: number): CategoryScore => ({ count, weight: count, mean, lowerBound });
const persona = (id: string, name: string, overall: CategoryScore, extra: Partial<PersonaScores> = {}): PersonaScores => ({
  persona: { nodeId: 'n1', personaId: id, name },
  key: `n1/${id}`,
  overall,
  categories: { technical: overall },
  elo: 1000,
  rating: 1000,
  games: 0,
  ...extra,
});

const board: Leaderboard = {
  personas: [
    persona('critic', 'Critic', score(0.9, 200, 0.85), { latency: { count: 10, p50Ms: 420, p95Ms: 1800 }, games: 3, rating: 1042.4, elo: 1016.2 }),
    persona('evil', '<img src=x onerror="window.__xss=1">', score(1, 2, 0.1)),
  ],
  signalCount: 202,
  asOf: 1_800_000_000_000,
};

const signal = (value: number, reason: string): Signal =>
  ({ id: 'a'.repeat(64), persona: board.personas[0]!.persona, room: 'review:r1', category: 'technical', value, source: 'review', reason, context: { input: 'code', actual: 'warning: strict equality' }, ts: 1_800_000_000_000, signer: 'n1', signerKey: 'k', signature: 's' });

describe('webview: the Leaderboard view', function () {
  this.timeout(60_000);
  let harness: Harness;

  before(async () => {
    await buildWebview({ leaderboard: 'webview/src/leaderboard/main.ts' });
    harness = await startHarness();
  });
  after(async () => {
    // Unset when the browser could not start (before() failed).
    await (harness as Harness | undefined)?.close();
  });

  async function open(state?: unknown, viewport?: { width: number; height: number }) {
    const view = await harness.open<FromLeaderboard, ToLeaderboard>({ page: 'leaderboard', script: 'leaderboard.js', ...(state ? { state } : {}), ...(viewport ? { viewport } : {}) });
    await view.waitForPosted((m) => m.type === 'category');
    return view;
  }

  it('ranks personas with score, count, lower bound, rating, latency and trend; remote names stay text', async () => {
    const view = await open();
    await view.dispatch({ type: 'board', board, previous: { 'n1/critic': 0.8 }, trendDays: 7 });
    const rows = view.page.locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const first = (await rows.nth(0).innerText()).replace(/\s+/g, ' ');
    assert.match(first, /^1 Critic \+0\.90 \(200\) \+0\.85 1042 \/ 1016 420 ms \/ 1\.8 s ▲ \+0\.05$/);
    const second = (await rows.nth(1).innerText()).replace(/\s+/g, ' ');
    assert.match(second, /<img src=x onerror="window.__xss=1">.*\+1\.00 \(2\) \+0\.10 .*new/);
    assert.equal(await view.page.locator('img').count(), 0);
    assert.equal(await view.page.evaluate(() => (window as { __xss?: number }).__xss), undefined);
    assert.deepEqual(view.pageErrors, []);
    await view.close();
  });

  it('fits a narrow side bar: the secondary columns become a line under the name, nothing scrolls sideways', async () => {
    const view = await open(undefined, { width: 280, height: 600 });
    await view.dispatch({ type: 'board', board, previous: { 'n1/critic': 0.8 }, trendDays: 7 });
    const first = view.page.locator('tbody tr').first();
    await first.waitFor();
    assert.equal((await first.innerText()).replace(/\s+/g, ' '), 'Critic #1 · score +0.90 (200) · rating 1042 / 1016 · latency 420 ms / 1.8 s +0.85 ▲ +0.05');
    const overflow = await view.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the view`);
    assert.deepEqual(view.pageErrors, []);
    await view.close();
  });

  it('by keyboard: the category select asks for another board; a persona opens its signals and Back returns', async () => {
    const view = await open();
    await view.dispatch({ type: 'board', board, previous: {}, trendDays: 7 });
    await view.page.locator('tbody tr').first().waitFor();
    await view.page.keyboard.press('Tab');
    assert.equal(await view.page.evaluate(() => document.activeElement?.id), 'category');
    const since = view.posted.length;
    await view.page.keyboard.press('ArrowDown');
    const asked = await view.waitForPosted((m) => m.type === 'category', { since });
    assert.deepEqual(asked, { type: 'category', category: 'technical' });
    await view.dispatch({ type: 'board', category: 'technical', board, previous: {}, trendDays: 7 });
    await view.page.keyboard.press('Tab');
    assert.equal(await view.page.evaluate(() => document.activeElement?.textContent), 'Critic');
    await view.page.keyboard.press('Enter');
    const request = await view.waitForPosted((m) => m.type === 'signals');
    assert.deepEqual(request, { type: 'signals', persona: 'n1/critic', name: 'Critic', category: 'technical' });
    await view.dispatch({ type: 'signals', persona: 'n1/critic', name: 'Critic', category: 'technical', signals: [signal(1, 'comment accepted'), signal(-1, 'comment rejected')] });
    const items = view.page.locator('ul.signals li');
    await items.first().waitFor();
    assert.equal(await items.count(), 2);
    assert.match(await items.nth(0).innerText(), /\+1 review · technical[\s\S]*comment accepted[\s\S]*strict equality/);
    assert.equal(await view.page.evaluate(() => document.activeElement?.textContent), '← All personas');
    await view.page.keyboard.press('Enter');
    await view.page.locator('tbody tr').first().waitFor();
    await view.close();
  });

  it('keeps the category and the open persona across hide/show (getState) and asks for them again', async () => {
    const view = await open({ category: 'reliable', selected: { persona: 'n1/critic', name: 'Critic' } });
    assert.deepEqual(view.posted[0], { type: 'category', category: 'reliable' });
    assert.equal(await view.page.locator('#category').inputValue(), 'reliable');
    // A new board while a persona is open asks for its signals again (live refresh).
    await view.dispatch({ type: 'board', category: 'reliable', board, previous: {}, trendDays: 7 });
    const again = await view.waitForPosted((m) => m.type === 'signals');
    assert.deepEqual(again, { type: 'signals', persona: 'n1/critic', name: 'Critic', category: 'reliable' });
    await view.close();
  });
});
