/**
 * Chat panel rendering in headless Chromium (JSON on stdout): time from a 10,000-message history
 * page reaching the webview to the list painted, rows in the DOM, and frame times while scrolling
 * (a steady scroll and a fast fling) through the whole room.
 *
 *   npx tsx bench/webview.ts [--messages 10000] [--frames 300]
 */
import type { ToWebview } from '../protocol/webview';
import { FakeRooms, many, openChat, type ChatPage } from '../test/webview/fakeRooms';
import { buildWebview, startHarness } from '../test/webview/harness';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { p50: round(quantile(sorted, 0.5)), p95: round(quantile(sorted, 0.95)), max: round(sorted.at(-1) ?? NaN), n: sorted.length };
}

async function main(): Promise<void> {
  const count = arg('messages', 10_000);
  const frames = arg('frames', 300);
  await buildWebview();
  const harness = await startHarness();
  try {
    const page: ChatPage = await harness.open({ viewport: { width: 1000, height: 800 }, timeoutMs: 60_000 });
    const all = many('general', count);
    const rooms = new FakeRooms({ general: all });
    rooms.install(page);
    // History is answered by hand below, to time it.
    page.handle('history', () => new Promise(() => undefined));
    await openChat(page);
    const request = (await page.waitForPosted((m) => m.type === 'request' && m.method === 'history')) as { id: number };
    const response: ToWebview = { type: 'response', id: request.id, ok: true, result: { roomId: 'general', messages: all, hasMore: false } };

    const render = await page.page.evaluate(async (message) => {
      const list = () => document.querySelector('mesh-app')!.shadowRoot!.querySelector('mesh-message-list')!;
      const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
      const t0 = performance.now();
      window.postMessage(message, '*');
      for (;;) {
        await frame();
        const rows = list().shadowRoot!.querySelectorAll('article');
        if (rows.length > 0 && rows[rows.length - 1]!.textContent.includes(`#${message.result.messages.length} `)) break;
      }
      await frame();
      return { renderMs: performance.now() - t0, rows: list().shadowRoot!.querySelectorAll('article').length };
    }, response as Extract<ToWebview, { ok: true }> & { result: { messages: unknown[] } });

    const scroll = (stepPx: number) =>
      page.page.evaluate(
        async ({ stepPx, frames }) => {
          const list = document.querySelector('mesh-app')!.shadowRoot!.querySelector('mesh-message-list')!;
          const scroller = list.shadowRoot!.querySelector<HTMLElement>('.scroller')!;
          const long: number[] = [];
          const observer = new PerformanceObserver((entries) => entries.getEntries().forEach((entry) => long.push(entry.duration)));
          try {
            observer.observe({ type: 'long-animation-frame', buffered: false });
          } catch {
            observer.observe({ type: 'longtask', buffered: false });
          }
          const intervals: number[] = [];
          const maxRows: number[] = [];
          let last = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
          for (let i = 0; i < frames; i++) {
            scroller.scrollTop = scroller.scrollTop - stepPx <= 0 ? scroller.scrollHeight : scroller.scrollTop - stepPx;
            const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
            intervals.push(now - last);
            maxRows.push(list.shadowRoot!.querySelectorAll('article').length);
            last = now;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
          observer.disconnect();
          return { intervals, long, maxRows: Math.max(...maxRows) };
        },
        { stepPx, frames },
      );

    const steady = await scroll(120);
    const fling = await scroll(2400);
    await page.close();
    const result = {
      bench: 'webview-chat',
      browser: harness.browser.version(),
      messages: count,
      renderMs: Math.round(render.renderMs * 10) / 10,
      rowsInDom: render.rows,
      scroll: {
        steady: { stepPx: 120, frameMs: summary(steady.intervals), longFrames: steady.long.length, maxRowsInDom: steady.maxRows },
        fling: { stepPx: 2400, frameMs: summary(fling.intervals), longFrames: fling.long.length, maxRowsInDom: fling.maxRows },
      },
      note: 'headless Chromium, --disable-gpu; frame interval ≈ 16.7 ms at 60 Hz means no dropped frames',
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
