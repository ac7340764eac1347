/**
 * A real-browser harness for webview components. It serves a webview bundle in the same page and
 * under the same CSP as the extension (extension/src/chat/html.ts) on 127.0.0.1, with a stand-in
 * for the VS Code host boundary only: `acquireVsCodeApi()` records what the webview posts, keeps
 * getState/setState in sessionStorage (so a reload is like hide/show), and the test answers
 * requests and dispatches host messages. Everything inside the page is the real bundle.
 *
 * Reusable for other panels: pass another entry and custom element (`open({ body })`).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chatHtml } from '../../extension/src/chat/html';
import { leaderboardHtml } from '../../extension/src/views/leaderboardHtml';

export const root = join(__dirname, '..', '..');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bundles a webview entry exactly as scripts/build.mjs does (browser ESM), into webview/out. */
export async function buildWebview(entries: Record<string, string> = { chat: 'webview/src/main.ts' }): Promise<void> {
  mkdirSync(join(root, 'webview/out'), { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) {
    const target = join(root, 'webview/out', file);
    if (!existsSync(target)) cpSync(join(root, 'node_modules/@vscode/codicons/dist', file), target);
  }
  await esbuild.build({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
    entryPoints: entries,
    outdir: 'webview/out',
  });
}

/** The stand-in for the VS Code webview host API (runs in the page before the bundle). */
const hostStub = `(() => {
  const key = '__vscodeState';
  const saved = sessionStorage.getItem(key);
  let state = saved === null ? undefined : JSON.parse(saved);
  let acquired = false;
  const posted = [];
  window.__host = {
    posted,
    get state() { return state; },
    dispatch(message) { window.postMessage(message, '*'); },
  };
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(message) {
        const copy = JSON.parse(JSON.stringify(message));
        posted.push(copy);
        if (typeof window.__hostPosted === 'function') window.__hostPosted(copy);
      },
      getState() { return state === undefined ? undefined : JSON.parse(JSON.stringify(state)); },
      setState(next) {
        state = JSON.parse(JSON.stringify(next));
        sessionStorage.setItem(key, JSON.stringify(next));
        return next;
      },
    });
  };
})();`;

const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.ttf': 'font/ttf', '.map': 'application/json', '.html': 'text/html' };

export interface Harness {
  baseUrl: string;
  browser: Browser;
  /** Opens a page with the webview. `state` pre-sets getState() (as after hide/show). */
  open<From extends { type: string } = { type: string }, To = unknown>(options?: OpenOptions): Promise<WebviewPage<From, To>>;
  close(): Promise<void>;
}

export interface OpenOptions {
  state?: unknown;
  /** Bundle under webview/out (default chat.js). */
  script?: string;
  /** The page the bundle runs in, each under its own CSP (default: the chat panel's). */
  page?: 'chat' | 'leaderboard';
  /** Body element of the page (default `<mesh-app>`). */
  body?: string;
  viewport?: { width: number; height: number };
  /** Playwright's default wait (ms) for locators in this page. */
  timeoutMs?: number;
  /** Called for each message the page posts, before the test sees it (e.g. auto-answer requests). */
  onPosted?: (message: { type: string }, page: WebviewPage<{ type: string }, unknown>) => void;
}

/** Starts the static server and Chromium (once per suite). */
export async function startHarness(): Promise<Harness> {
  const pages = new Map<string, { script: string; body: string; page: 'chat' | 'leaderboard' }>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/host-stub.js') {
      res.writeHead(200, { 'content-type': types['.js'] }).end(hostStub);
      return;
    }
    const pageOptions = pages.get(url.pathname);
    if (pageOptions) {
      const nonce = randomBytes(16).toString('base64');
      const html = pageOptions.page === 'leaderboard' ? leaderboardHtml({ nonce, script: `/webview/out/${pageOptions.script}`, preScripts: ['/host-stub.js'] }) : chatHtml({ nonce, cspSource: origin, script: `/webview/out/${pageOptions.script}`, codicons: '/webview/out/codicon.css', preScripts: ['/host-stub.js'] }).replace(
        '<mesh-app></mesh-app>',
        pageOptions.body,
      );
      res.writeHead(200, { 'content-type': types['.html'], 'cache-control': 'no-store' }).end(html);
      return;
    }
    const file = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(join(root, 'webview', 'out') + sep) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  } catch (error) {
    // No browser, no harness: the page server must not outlive the failure.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  let counter = 0;
  const contexts = new Set<BrowserContext>();
  return {
    baseUrl,
    browser,
    async open<From extends { type: string }, To>(options: OpenOptions = {}) {
      const path = `/page-${++counter}.html`;
      pages.set(path, { script: options.script ?? 'chat.js', body: options.body ?? '<mesh-app></mesh-app>', page: options.page ?? 'chat' });
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 700 } });
      contexts.add(context);
      context.setDefaultTimeout(options.timeoutMs ?? 5000);
      const page = await context.newPage();
      const webview = new WebviewPage<From, To>(page, () => {
        contexts.delete(context);
        return context.close();
      });
      // tsx/esbuild name helpers appear in functions passed to page.evaluate.
      await page.addInitScript('globalThis.__name = (fn) => fn;');
      await page.exposeFunction('__hostPosted', (message: From) => webview.receive(message));
      if (options.onPosted) webview.onPosted = options.onPosted as unknown as (message: From, page: WebviewPage<From, To>) => void;
      if (options.state !== undefined) {
        await page.addInitScript((state) => {
          if (sessionStorage.getItem('__vscodeState') === null) sessionStorage.setItem('__vscodeState', JSON.stringify(state));
        }, options.state);
      }
      await page.goto(baseUrl + path);
      return webview;
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

type Handler = (params: never) => unknown;

interface PostedRequest {
  type: string;
  id: number;
  method: string;
  params?: unknown;
}

/** One webview page: what it posted, requests answered by handlers, host messages dispatched. */
export class WebviewPage<From extends { type: string }, To> {
  readonly posted: From[] = [];
  readonly pageErrors: string[] = [];
  onPosted: ((message: From, page: WebviewPage<From, To>) => void) | undefined;
  private readonly handlers = new Map<string, Handler>();
  private unanswered: PostedRequest[] = [];
  private waiters: { predicate: (message: From) => boolean; resolve: (message: From) => void }[] = [];

  constructor(
    readonly page: Page,
    private readonly closeContext: () => Promise<void>,
  ) {
    page.on('pageerror', (error) => this.pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageErrors.push(message.text());
    });
  }

  /**
   * Answers requests `{ type: 'request', id, method, params }` for a method (throw to answer an
   * error). Requests posted before the handler was registered are answered now.
   */
  handle<P = never, R = unknown>(method: string, handler: (params: P) => R | Promise<R>): this {
    this.handlers.set(method, handler);
    const waiting = this.unanswered.filter((request) => request.method === method);
    this.unanswered = this.unanswered.filter((request) => request.method !== method);
    for (const request of waiting) this.answer(request);
    return this;
  }

  receive(message: From): void {
    this.posted.push(message);
    this.onPosted?.(message, this);
    const request = message as unknown as PostedRequest;
    if (request.type === 'request' && typeof request.method === 'string' && typeof request.id === 'number') {
      if (this.handlers.has(request.method)) this.answer(request);
      else this.unanswered.push(request);
    }
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }

  private answer(request: PostedRequest): void {
    const handler = this.handlers.get(request.method) as (params: unknown) => unknown;
    const id = request.id;
    void (async () => {
      try {
        const result = await handler(request.params);
        await this.dispatch({ type: 'response', id, ok: true, result: result ?? null } as To);
      } catch (error) {
        await this.dispatch({ type: 'response', id, ok: false, error: (error as Error).message } as To);
      }
    })().catch(() => undefined);
  }

  /** Delivers an extension → webview message, as the host would. */
  async dispatch(message: To): Promise<void> {
    await this.page.evaluate((m) => (window as unknown as { __host: { dispatch(m: unknown): void } }).__host.dispatch(m), message as unknown);
  }

  /** The next (or an already) posted message matching the predicate. */
  waitForPosted(predicate: (message: From) => boolean, options: { timeoutMs?: number; since?: number } = {}): Promise<From> {
    const found = this.posted.slice(options.since ?? 0).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`the webview did not post the expected message within ${options.timeoutMs ?? 5000} ms; it posted: ${JSON.stringify(this.posted.slice(-8)).slice(0, 1500)}`));
      }, options.timeoutMs ?? 5000);
      const waiter = {
        predicate,
        resolve: (message: From) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      this.waiters.push(waiter);
    });
  }

  requests(method: string): { id: number; method: string; params: Record<string, unknown> }[] {
    return (this.posted as unknown as { type: string; id: number; method: string; params: Record<string, unknown> }[]).filter((m) => m.type === 'request' && m.method === method);
  }

  /** What the webview last stored with setState. */
  state<S = unknown>(): Promise<S | undefined> {
    return this.page.evaluate(() => (window as unknown as { __host: { state: unknown } }).__host.state) as Promise<S | undefined>;
  }

  /** Like hide/show: the page is destroyed and created again; getState() returns what was saved. */
  async reload(): Promise<void> {
    this.posted.length = 0;
    await this.page.reload();
  }

  close(): Promise<void> {
    return this.closeContext();
  }
}
