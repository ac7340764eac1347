/**
 * The chat panel in headless Chromium: the real webview bundle under the real CSP; only the VS Code
 * host boundary (acquireVsCodeApi, the extension's answers) is stood in by the harness.
 */
import assert from 'node:assert/strict';
import type { Locator } from 'playwright-core';
import type { ChatMessage } from '../../protocol/rooms';
import type { WebviewState } from '../../protocol/webview';
import { FakeRooms, ana, many, message, openChat, sage, self, type ChatPage } from './fakeRooms';
import { buildWebview, startHarness, type Harness } from './harness';

describe('chat panel webview (host boundary stubbed)', function () {
  this.timeout(60_000);
  let harness: Harness;
  let page: ChatPage | undefined;

  before(async () => {
    await buildWebview();
    harness = await startHarness();
  });

  afterEach(async () => {
    if (page && page.pageErrors.length > 0) console.log('page errors:', page.pageErrors.slice(0, 5));
    await page?.close();
    page = undefined;
  });

  after(async () => {
    await harness?.close();
  });

  async function open(rooms: FakeRooms, options: { state?: WebviewState; viewport?: { width: number; height: number } } = {}): Promise<ChatPage> {
    page = await harness.open({ ...options });
    rooms.install(page);
    await openChat(page);
    return page;
  }

  const rows = (p: ChatPage): Locator => p.page.locator('mesh-message-list article');
  const composer = (p: ChatPage): Locator => p.page.locator('mesh-composer textarea');

  it('lists the room\'s people by presence; a system agent (Challenges) comes last as "system notices", not "offline"', async () => {
    const rooms = new FakeRooms();
    rooms.participants.push({ nodeId: 'ANANODE', participantId: 'challenges', displayName: 'Challenges', kind: 'system', presence: 'offline' });
    const p = await open(rooms);
    const people = p.page.locator('mesh-participants li');
    await people.first().waitFor();
    const labels = await people.evaluateAll((items) => items.map((item) => item.getAttribute('aria-label')));
    assert.deepEqual(labels, ['Ana, online', 'Me (you), online', 'Sage, persona · online', 'Bo, away', 'Challenges, system notices']);
  });

  it('renders malicious Markdown inert: no script runs, no javascript: href, no on* attributes', async () => {
    const payloads = [
      '<script>window.__pwned = 1</script>',
      '<img src=x onerror="window.__pwned = 2">',
      '[click me](javascript:window.__pwned=3)',
      '[upper](JAVASCRIPT:window.__pwned=4) [spaced]( javascript:alert(1)) [entity](jav&#x61;script:alert(1))',
      '<a href="javascript:alert(1)">raw</a> <svg onload="window.__pwned=5"></svg> <iframe src="javascript:alert(1)"></iframe>',
      '![img](javascript:alert(1)) ![ok](https://example.com/x.png) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) [vb](vbscript:msgbox(1))',
      '<javascript:alert(1)> [file](file:///etc/passwd) [cmd](command:workbench.action.terminal.new)',
      '```html\n<script>window.__pwned = 6</script>\n```',
      '<style>body{display:none}</style> <div style="position:fixed" onclick="x()">x</div>',
      '>'.repeat(5000) + ' deep',
      '*'.repeat(20000) + ' [' .repeat(5000),
      'x'.repeat(200_000),
      '[fine](https://example.com/ok) and mailto:someone@example.com',
      '[up](../../etc/passwd#L1) [abs](/etc/passwd) [win](C:/Windows/win.ini) [unc](\\\\host/share) [ok file](src/ok.ts#L2)',
    ];
    const rooms = new FakeRooms({ general: payloads.map((text, i) => message('general', i + 1, ana, text)) });
    const p = await open(rooms);
    await rows(p).first().waitFor();
    // Walk the whole (virtualised) list, checking every row that gets rendered.
    const seen = new Set<string>();
    const report = { pwned: undefined as number | undefined, onAttributes: [] as string[], styleAttributes: 0, hrefs: [] as string[], forbidden: [] as string[], texts: new Map<string, string>() };
    for (let y = 0, i = 0; i < 400; i++, y += 400) {
      const part = await p.page.evaluate((top) => {
        const list = document.querySelector('mesh-app')!.shadowRoot!.querySelector('mesh-message-list')!.shadowRoot!;
        const scroller = list.querySelector('.scroller')!;
        scroller.scrollTop = top;
        const rowsNow = [...list.querySelectorAll('article')];
        const all = rowsNow.flatMap((row) => [...row.querySelectorAll('mesh-markdown *')]);
        return {
          ids: rowsNow.map((row) => row.getAttribute('data-id')!),
          end: scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2,
          pwned: (window as unknown as { __pwned?: number }).__pwned,
          onAttributes: all.flatMap((el) => [...el.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => `${el.tagName} ${a.name}`)),
          styleAttributes: all.filter((el) => el.hasAttribute('style')).length,
          hrefs: all.filter((el) => el.hasAttribute('href')).map((el) => el.getAttribute('href')!),
          forbidden: all.filter((el) => ['SCRIPT', 'IMG', 'SVG', 'IFRAME', 'STYLE', 'OBJECT', 'EMBED', 'FORM', 'INPUT'].includes(el.tagName.toUpperCase())).map((el) => el.tagName),
          texts: rowsNow.map((row) => row.querySelector('mesh-markdown')?.textContent?.slice(0, 60) ?? ''),
        };
      }, y);
      part.ids.forEach((id) => seen.add(id));
      report.pwned ??= part.pwned;
      report.onAttributes.push(...part.onAttributes);
      report.styleAttributes += part.styleAttributes;
      report.hrefs.push(...part.hrefs);
      report.forbidden.push(...part.forbidden);
      part.ids.forEach((id, k) => report.texts.set(id, part.texts[k]!));
      if (part.end && i > 0) break;
      await p.page.waitForTimeout(20);
    }
    assert.equal(seen.size, payloads.length, 'every message was rendered at some point');
    assert.equal(report.pwned, undefined);
    assert.deepEqual(report.onAttributes, []);
    assert.equal(report.styleAttributes, 0);
    assert.deepEqual(report.forbidden, []);
    // Web links, or workspace-relative file links (no scheme, not absolute, no `..`).
    for (const href of report.hrefs) assert.match(href, /^(https?:|mailto:)|^(?!.*\.\.)[\w@.-][\w@./ -]*(#L\d+(-L?\d+)?)?$/, `unsafe href ${href}`);
    assert.ok(report.hrefs.includes('src/ok.ts#L2'));
    assert.ok(!report.hrefs.some((href) => href.includes('passwd') || href.includes('win.ini') || href.includes('host/share')), report.hrefs.join(' '));
    assert.ok(report.hrefs.includes('https://example.com/ok'));
    // The raw HTML shows as text, not as markup.
    const first = report.texts.get(rooms.messages.get('general')![0]!.id)!;
    assert.ok(first.includes('<script>'), first);
    // A safe link is opened by the extension (validated there), never navigated in the webview.
    await p.page.locator('mesh-markdown a[href="https://example.com/ok"]').scrollIntoViewIfNeeded();
    await p.page.locator('mesh-markdown a[href="https://example.com/ok"]').click();
    const link = await p.waitForPosted((m) => m.type === 'openLink');
    assert.deepEqual(link, { type: 'openLink', url: 'https://example.com/ok' });
    assert.ok(p.page.url().startsWith(harness.baseUrl));
    assert.deepEqual(p.pageErrors, []);
  });

  it('composer: Enter sends, Shift+Enter adds a newline, Up edits the last own message, Escape cancels', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'hello'), message('general', 2, self, 'my old text')], random: [] });
    const p = await open(rooms);
    await rows(p).nth(1).waitFor();
    const box = composer(p);
    await box.click();
    await box.pressSequentially('line one');
    await box.press('Shift+Enter');
    await box.pressSequentially('line two');
    assert.equal(await box.inputValue(), 'line one\nline two');
    assert.equal(p.requests('send').length, 0);
    await box.press('Enter');
    const sent = await p.waitForPosted((m) => m.type === 'request' && m.method === 'send');
    assert.deepEqual((sent as { params: unknown }).params, { roomId: 'general', text: 'line one\nline two' });
    await p.page.waitForFunction(() => true);
    await rows(p).nth(2).waitFor();
    assert.equal(await box.inputValue(), '');
    // Up on the empty composer edits the last own message (the one just sent).
    await box.press('ArrowUp');
    assert.equal(await box.inputValue(), 'line one\nline two');
    await p.page.getByText('Editing your message').waitFor();
    await box.press('Escape');
    assert.equal(await box.inputValue(), '');
    await box.press('ArrowUp');
    await box.fill('edited text');
    await box.press('Enter');
    const edit = await p.waitForPosted((m) => m.type === 'request' && m.method === 'edit');
    assert.equal((edit as { params: { text: string } }).params.text, 'edited text');
    await p.page.locator('mesh-message-list article', { hasText: 'edited text' }).getByText('(edited)').waitFor();
  });

  it('shows a failing request as one inline line (server not running), never a blank panel', async () => {
    page = await harness.open();
    const p = page;
    const down = 'The Persona Mesh server is not running: run "Persona Mesh: Restart Mesh Server".';
    p.handle('listRooms', () => {
      throw new Error(down);
    }).handle('history', () => {
      throw new Error(down);
    });
    await p.waitForPosted((m) => m.type === 'ready');
    await p.dispatch({ type: 'status', status: undefined, serverRunning: false });
    await p.page.locator('mesh-app .banner').getByText('not running').waitFor();
    await p.page.locator('main [role="alert"]').getByText(down).waitFor();
    // Sending still answers: the server's one-line error shows under the composer.
    p.handle('send', () => {
      throw new Error('the message is 20,583 bytes; the limit is 16,384 bytes');
    });
    await composer(p).fill('hi');
    await composer(p).press('Enter');
    await p.page.locator('#composer-error').getByText('the limit is 16,384 bytes').waitFor();
    assert.equal(await composer(p).inputValue(), 'hi', 'the text stays for another try');
  });

  it('10,000 messages: only a window of rows is in the DOM, and scrolling to the top asks for the next page', async () => {
    const all = many('general', 12_000);
    const rooms = new FakeRooms({ general: all });
    page = await harness.open();
    const p = page;
    rooms.install(p);
    // The newest 10,000 at once (as if the server answered a large page), more before them.
    p.handle('history', ({ before }: { before?: string }) => (before ? rooms.history({ roomId: 'general', before, limit: 100 }) : { roomId: 'general', messages: all.slice(2000), hasMore: true }));
    await openChat(p);
    // Ten thousand messages arrive in one post: on a loaded machine that takes more than the default wait.
    await rows(p).last().waitFor({ timeout: 30_000 });
    const count = await rows(p).count();
    assert.ok(count > 3 && count < 120, `${count} rows rendered for 10,000 messages`);
    assert.match((await rows(p).last().textContent())!, /#12000 /);
    // Scroll to the very top in steps, as a reader would.
    const scroller = p.page.locator('mesh-message-list .scroller');
    for (let i = 0; i < 20 && p.requests('history').length < 2; i++) {
      await scroller.evaluate((el) => (el.scrollTop = 0));
      await p.page.waitForTimeout(30);
    }
    const older = await p.waitForPosted((m) => m.type === 'request' && m.method === 'history' && 'before' in m.params);
    assert.equal((older as { params: { before: string } }).params.before, all[2000]!.id);
    assert.ok((await rows(p).count()) < 150);
    // The page arrives: the reader stays where they were (the first loaded message stays in view).
    await p.page.waitForFunction(() => !document.querySelector('mesh-app')!.shadowRoot!.querySelector('mesh-message-list')!.shadowRoot!.querySelector('.scroller')!.getAttribute('aria-busy')?.includes('true'));
    await p.page.locator('mesh-message-list article', { hasText: '#2001 ' }).waitFor();
  });

  it('getState/setState round trip restores the room and the per-room draft after hide/show', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'in general')], random: [message('random', 1, ana, 'in random')] });
    const p = await open(rooms);
    await p.page.locator('mesh-room-list button', { hasText: '#random' }).click();
    await p.page.locator('mesh-message-list article', { hasText: 'in random' }).waitFor();
    await composer(p).fill('half-written thought');
    await p.page.waitForTimeout(50);
    const saved = await p.state<WebviewState>();
    assert.equal(saved?.currentRoom, 'random');
    assert.equal(saved?.drafts?.random, 'half-written thought');
    await p.reload();
    await openChat(p);
    await p.page.locator('mesh-message-list article', { hasText: 'in random' }).waitFor();
    assert.equal(await composer(p).inputValue(), 'half-written thought');
    assert.equal(await p.page.locator('mesh-room-list button[aria-current="true"]').textContent().then((t) => t?.trim()), '#random');
    // Back to general: its (empty) draft; and random's draft is still there when returning.
    await p.page.locator('mesh-room-list button', { hasText: '#general' }).click();
    await p.page.locator('mesh-message-list article', { hasText: 'in general' }).waitFor();
    assert.equal(await composer(p).inputValue(), '');
    await p.page.locator('mesh-room-list button', { hasText: '#random' }).click();
    assert.equal(await composer(p).inputValue(), 'half-written thought');
  });

  it('Mention Persona in Chat: the room opens with the mention added to its draft once, composer focused', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'in general')], random: [message('random', 1, ana, 'in random')] });
    const p = await open(rooms);
    await p.page.locator('mesh-message-list article', { hasText: 'in general' }).waitFor();
    await composer(p).fill('question for');
    await p.dispatch({ type: 'showRoom', roomId: 'random', mention: '@librarian' });
    await p.page.locator('mesh-message-list article', { hasText: 'in random' }).waitFor();
    assert.equal(await composer(p).inputValue(), '@librarian ');
    await composer(p).press('End');
    await composer(p).pressSequentially('where is the runbook?');
    await p.dispatch({ type: 'showRoom', roomId: 'random', mention: '@librarian' });
    await p.page.waitForTimeout(50);
    assert.equal(await composer(p).inputValue(), '@librarian where is the runbook?', 'not added twice');
    assert.ok(await composer(p).evaluate((element) => element.matches(':focus')), 'the composer has the focus');
    await p.page.locator('mesh-room-list button', { hasText: '#general' }).click();
    assert.equal(await composer(p).inputValue(), 'question for', "the other room's draft is untouched");
  });

  it('a streamed persona reply updates in place, then can be rated', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, '@Sage how do I sort?')] });
    const p = await open(rooms);
    await rows(p).first().waitFor();
    const base: ChatMessage = message('general', 2, sage, 'You can', { streaming: true });
    await p.dispatch({ type: 'message', message: base });
    const row = p.page.locator('mesh-message-list article', { hasText: 'You can' });
    await row.waitFor();
    assert.equal(await row.getAttribute('aria-busy'), 'true');
    const handle = await row.elementHandle();
    let text = 'You can';
    for (const token of [' use', ' `Array.prototype.sort`', ' with a comparator.']) {
      text += token;
      await p.dispatch({ type: 'message', message: { ...base, text } });
    }
    await p.dispatch({ type: 'message', message: { ...base, text, streaming: false } });
    await p.page.locator('mesh-message-list article', { hasText: 'with a comparator.' }).waitFor();
    assert.equal(await rows(p).count(), 2, 'updated in place, not appended');
    assert.equal(await handle.evaluate((el) => el.isConnected && el.textContent.includes('comparator')), true, 'the same row element');
    assert.equal(await row.getAttribute('aria-busy'), 'false');
    await row.hover();
    await row.getByRole('button', { name: 'Good answer' }).click();
    const rate = await p.waitForPosted((m) => m.type === 'rate');
    assert.deepEqual(rate, { type: 'rate', roomId: 'general', messageId: base.id, persona: 'ANANODE/sage', rating: 'up' });
    assert.equal(await row.getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed'), 'true');
  });

  it('keyboard only: Tab reaches the rooms, the message actions and the composer', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'first'), message('general', 2, sage, 'second\n```js\nlet a = 1;\n```')] });
    const p = await open(rooms);
    await rows(p).nth(1).waitFor();
    await p.page.locator('body').focus();
    const focused = () =>
      p.page.evaluate(() => {
        let el: Element | null = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el ? `${el.tagName.toLowerCase()}|${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30) ?? ''}` : '';
      });
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      await p.page.keyboard.press('Tab');
      seen.push(await focused());
    }
    const order = seen.join('\n');
    const at = (pattern: RegExp) => seen.findIndex((s) => pattern.test(s));
    assert.ok(at(/^button\|general/) >= 0, order);
    assert.ok(at(/^article\|Sage/) > at(/^button\|general/), order);
    assert.ok(at(/^button\|Reply/) > at(/^article\|Sage/), order);
    assert.ok(at(/^button\|Good answer/) > at(/^article\|Sage/), order);
    assert.ok(at(/^textarea\|Message #general/) > at(/^button\|Good answer/), order);
    // Up/Down move between messages; Enter in the composer area sends.
    await p.page.locator('mesh-message-list article', { hasText: 'second' }).focus();
    await p.page.keyboard.press('ArrowUp');
    assert.match(await focused(), /^article\|Ana/);
    // Insert at Cursor on a code block, by keyboard, asks the extension.
    await p.page.keyboard.press('ArrowDown');
    await p.page.locator('mesh-message-list article', { hasText: 'second' }).getByRole('button', { name: 'Insert at Cursor' }).focus();
    await p.page.keyboard.press('Enter');
    const insert = await p.waitForPosted((m) => m.type === 'request' && m.method === 'insertCode');
    assert.deepEqual((insert as { params: unknown }).params, { code: 'let a = 1;\n', language: 'js' });
  });

  it('@mention completion: a listbox driven by aria-activedescendant; mentions are sent', async () => {
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'hi')] });
    const p = await open(rooms);
    await rows(p).first().waitFor();
    const box = composer(p);
    await box.click();
    await box.pressSequentially('hey @sa');
    const listbox = p.page.locator('mesh-composer [role="listbox"]');
    await listbox.waitFor();
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    assert.equal(await box.getAttribute('aria-activedescendant'), 'mention-0');
    assert.match((await listbox.locator('[aria-selected="true"]').textContent())!, /Sage/);
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'hey @Sage ');
    assert.equal(await box.getAttribute('aria-expanded'), 'false');
    await box.press('Enter');
    const sent = await p.waitForPosted((m) => m.type === 'request' && m.method === 'send');
    assert.deepEqual((sent as { params: { mentions: string[] } }).params.mentions, ['ANANODE/sage']);
  });

  it('typing indicator expires; unread counts for other rooms; attachments link back', async () => {
    const attachment = { path: 'src/app.ts', language: 'typescript', startLine: 3, endLine: 5, content: 'const a = 1;\nconst b = 2;\nconst c = 3;' };
    const rooms = new FakeRooms({ general: [message('general', 1, ana, 'look at this', { attachment })], random: [] });
    const p = await open(rooms);
    await rows(p).first().waitFor();
    await p.dispatch({ type: 'typing', event: { roomId: 'general', author: ana, ttlMs: 600 } });
    await p.page.getByText('Ana is typing…').waitFor();
    await p.page.getByText('Ana is typing…').waitFor({ state: 'detached', timeout: 3000 });
    await p.dispatch({ type: 'message', message: message('random', 1, ana, 'psst') });
    await p.dispatch({ type: 'message', message: message('random', 2, ana, 'psst again') });
    await p.page.locator('mesh-room-list button[aria-label="random, 2 unread"]').waitFor();
    await p.page.locator('mesh-message-list').getByRole('button', { name: 'src/app.ts:3-5' }).click();
    const openRequest = await p.waitForPosted((m) => m.type === 'request' && m.method === 'openAttachment');
    assert.deepEqual((openRequest as { params: unknown }).params, { path: 'src/app.ts', startLine: 3, endLine: 5 });
  });

  it("a persona's workspace file link opens the file at its lines through the extension", async () => {
    const librarian = { nodeId: 'N'.repeat(52), participantId: 'librarian', displayName: 'Librarian', kind: 'persona' as const };
    const rooms = new FakeRooms({ general: [message('general', 1, librarian, 'Found it:\n\n1. [docs/DEPLOY.md:6](docs/DEPLOY.md#L6-L8)')] });
    const p = await open(rooms);
    await rows(p).first().waitFor();
    await p.page.locator('mesh-markdown a[href="docs/DEPLOY.md#L6-L8"]').click();
    const openRequest = await p.waitForPosted((m) => m.type === 'request' && m.method === 'openAttachment');
    assert.deepEqual((openRequest as { params: unknown }).params, { path: 'docs/DEPLOY.md', startLine: 6, endLine: 8 });
  });
});
