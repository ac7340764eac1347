// Debian's Chromium driven by playwright-core (no browser download), and the workbench page.
import { rmSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './env';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console lines of the page (errors and warnings help when a step fails). */
  consoleLines: string[];
  close(): Promise<void>;
}

/** Launches Chromium headless with a fresh profile. */
export async function launchBrowser(options: { headless?: boolean } = {}): Promise<Browser> {
  const profile = tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: options.headless ?? true,
    args: chromiumArgs,
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines: string[] = [];
  page.on('console', (message) => {
    consoleLines.push(`[${message.type()}] ${message.text()}`);
    if (consoleLines.length > 2000) consoleLines.splice(0, 1000);
  });
  page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
  return {
    context,
    page,
    consoleLines,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The workbench URL for a folder, optionally with a `payload` (extension development and tests). */
export function workbenchUrl(serverUrl: string, folder: string, payload?: [string, string][]): string {
  const url = new URL(serverUrl);
  url.searchParams.set('folder', folder);
  if (payload) url.searchParams.set('payload', JSON.stringify(payload));
  return url.toString();
}

/** Opens the workbench and waits until it is laid out (`.monaco-workbench` and `.statusbar`). */
export async function openWorkbench(page: Page, url: string, timeoutMs = 60_000): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}
