// Driving the VS Code workbench in the page: command palette, notifications, output, views.
import type { Locator, Page } from 'playwright-core';
import { until } from '../../support/until';

const quickInput = '.quick-input-widget';
const quickInputBox = `${quickInput} .quick-input-box input`;
const quickInputRows = `${quickInput} .quick-input-list .monaco-list-row`;

/** Closes the command palette / quick pick when it is open. */
export async function closeQuickInput(page: Page): Promise<void> {
  if (await page.locator(quickInputBox).isVisible()) {
    await page.keyboard.press('Escape');
    await page.locator(quickInputBox).waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
  }
}

/**
 * Opens the command palette with F1. When focus is inside a webview (a Markdown preview, the chat
 * panel) the key goes to its iframe, so it moves focus back to the workbench and tries again.
 */
export async function openCommandPalette(page: Page): Promise<Locator> {
  const input = page.locator(quickInputBox);
  const attempts: (() => Promise<void>)[] = [
    () => page.keyboard.press('F1'),
    async () => {
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.locator('.part.statusbar').focus().catch(() => undefined);
      await page.keyboard.press('F1');
    },
    () => page.keyboard.press('Control+Shift+P'),
  ];
  for (const attempt of attempts) {
    await attempt();
    try {
      await input.waitFor({ state: 'visible', timeout: 3000 });
      return input;
    } catch {
      // try the next way
    }
  }
  await input.waitFor({ state: 'visible', timeout: 5000 });
  return input;
}

/**
 * Runs a command by its palette title ("Persona Mesh: Show Status"). The palette lists the
 * commands known when it opens, so while the extension host has not registered the command yet
 * (the first ~10 s) it closes the palette and opens it again until the row shows.
 */
export async function runCommand(page: Page, title: string, options: { timeoutMs?: number } = {}): Promise<void> {
  let attempts = 0;
  let rows: string[] = [];
  const ran = async (): Promise<true | undefined> => {
    attempts++;
    await closeQuickInput(page);
    const input = await openCommandPalette(page);
    // Typing key by key matches the palette's filter; fill() of the whole title did not.
    await page.keyboard.type(title, { delay: 5 });
    const row = page.locator(quickInputRows).filter({ hasText: title }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 2500 });
      await row.click();
      await input.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      return true;
    } catch {
      rows = await page.locator(quickInputRows).allInnerTexts();
      await closeQuickInput(page);
      return undefined;
    }
  };
  // Each try reopens the palette, which then lists the commands registered by then.
  await until(`command "${title}" in the palette`, ran, options.timeoutMs ?? 60_000, () => `${attempts} tries; rows shown: ${JSON.stringify(rows.slice(0, 10))}`, 1000);
}

/** Picks a row of an open quick pick by its text. */
export async function pickQuickInputRow(page: Page, text: string, timeoutMs = 10_000): Promise<void> {
  const row = page.locator(quickInputRows).filter({ hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: timeoutMs });
  await row.click();
}

/**
 * Runs a command that answers with a quick pick and picks `text` in it. The quick pick closes when
 * it loses focus, and focus going back to a webview (the chat panel) just after the palette closed
 * can close it as it opens: then the command is run again (a user would do the same).
 */
export async function runCommandAndPick(page: Page, title: string, text: string, tries = 3): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, title);
    try {
      await pickQuickInputRow(page, text, 5000);
      return;
    } catch (error) {
      if (attempt >= tries) throw error;
      await closeQuickInput(page);
    }
  }
}

/** Messages of every notification (toasts and the notification center). */
export async function notificationMessages(page: Page): Promise<string[]> {
  return page.locator('.notification-list-item-message').allTextContents();
}

/** Waits for a notification whose message matches; returns its text. */
export async function waitForNotification(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return until(`a notification matching ${pattern}`, async () => (await notificationMessages(page)).find((text) => pattern.test(text)), timeoutMs, async () => `shown: ${JSON.stringify(await notificationMessages(page))}`, 250);
}

/** Text of the editor shown in the panel (the Output view's current channel). */
export async function panelEditorText(page: Page): Promise<string> {
  const lines = page.locator('.part.panel .monaco-editor .view-lines');
  if ((await lines.count()) === 0) return '';
  return (await lines.first().innerText()).replaceAll('\u00a0', ' ');
}

/**
 * Shows an output channel by name through "Output: Show Output Channels..." and waits until its
 * text matches pattern (when given); returns the visible text.
 */
export async function readOutputChannel(page: Page, channel: string, pattern?: RegExp, timeoutMs = 20_000): Promise<string> {
  await runCommand(page, 'Output: Show Output Channels...');
  await pickQuickInputRow(page, channel);
  let text = '';
  return until(
    `output channel "${channel}" to match ${String(pattern)}`,
    async () => {
      text = await panelEditorText(page);
      return !pattern || pattern.test(text) ? text : undefined;
    },
    timeoutMs,
    () => text,
    250,
  );
}

/** The activity bar entry of a view container, by its title. */
export function activityBarItem(page: Page, title: string): Locator {
  return page.locator(`.part.activitybar .action-item a[aria-label^="${title}"], .part.activitybar .action-item[aria-label^="${title}"]`).first();
}

/** The status bar entry whose text or label matches. */
export function statusBarItem(page: Page, text: string | RegExp): Locator {
  return page.locator('.part.statusbar .statusbar-item').filter({ hasText: text }).first();
}
