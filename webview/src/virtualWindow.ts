/**
 * The windowing math of a virtualised list: the top of every row, from heights measured in the DOM
 * or, for rows never rendered, estimated. Coordinates are the rows' own: 0 is the first row's top.
 * Rendered rows are measured as soon as they are in the DOM and observed while they stay there
 * (streamed text, fonts, a narrower panel), so the offsets follow what the reader sees.
 */

/** Rendered beyond each edge of the viewport: a scroll of less than this shows rows already there. */
export const overscanPx = 400;
const defaultRowPx = 64;
/** Rows measured before the estimate is fixed. */
const estimateSample = 24;

export class VirtualWindow {
  private readonly heights = new Map<string, number>();
  private offsets = new Float64Array(1);
  private index = new Map<string, number>();
  private measuredTotal = 0;
  private measuredCount = 0;
  private frozenEstimate: number | undefined;
  private readonly observed = new Set<Element>();
  private readonly resizeObserver = new ResizeObserver((entries) => this.onResize(entries));

  /**
   * @param rows the list's rows as they are now: read on every use, as the list's property would be.
   * @param resized rows changed height between updates (the offsets are already laid out again).
   */
  constructor(
    private readonly rows: () => readonly { readonly id: string }[],
    private readonly resized: () => void,
  ) {}

  disconnect(): void {
    this.resizeObserver.disconnect();
    this.observed.clear();
  }

  /** Another room: its rows have heights of their own. */
  reset(): void {
    this.heights.clear();
    this.measuredTotal = 0;
    this.measuredCount = 0;
    this.frozenEstimate = undefined;
  }

  /** The rows changed: index them and lay them out again. */
  reindex(): void {
    this.index = new Map(this.rows().map((m, i) => [m.id, i]));
    this.layout();
  }

  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  /** Measures the rows in the DOM; observes the new ones, forgets those gone. */
  measureRendered(rendered: Iterable<HTMLElement>): void {
    let changed = false;
    const live = new Set<Element>();
    for (const row of rendered) {
      live.add(row);
      if (!this.observed.has(row)) {
        this.observed.add(row);
        this.resizeObserver.observe(row);
      }
      if (this.measure(row.dataset.id!, row.offsetHeight)) changed = true;
    }
    for (const element of this.observed) {
      if (!live.has(element)) {
        this.resizeObserver.unobserve(element);
        this.observed.delete(element);
      }
    }
    if (changed) this.layout();
  }

  private measure(id: string, height: number): boolean {
    if (height <= 0) return false;
    const old = this.heights.get(id);
    if (old === height) return false;
    if (old === undefined) {
      this.measuredTotal += height;
      this.measuredCount++;
    } else {
      this.measuredTotal += height - old;
    }
    this.heights.set(id, height);
    return true;
  }

  private onResize(entries: ResizeObserverEntry[]): void {
    let changed = false;
    for (const entry of entries) {
      const row = entry.target as HTMLElement;
      if (!row.isConnected || !row.dataset.id) continue;
      const height = entry.borderBoxSize[0]?.blockSize ?? row.offsetHeight;
      if (this.measure(row.dataset.id, Math.round(height))) changed = true;
    }
    if (!changed) return;
    this.layout();
    this.resized();
  }

  /**
   * Height assumed for rows not measured yet: the mean of the first rows measured, then fixed, so
   * that measuring more rows does not shift every unmeasured row (and the reader's place).
   */
  estimate(): number {
    if (this.frozenEstimate !== undefined) return this.frozenEstimate;
    if (this.measuredCount === 0) return defaultRowPx;
    const mean = this.measuredTotal / this.measuredCount;
    if (this.measuredCount >= estimateSample) this.frozenEstimate = mean;
    return mean;
  }

  heightOf(id: string): number {
    return this.heights.get(id) ?? this.estimate();
  }

  private layout(): void {
    const rows = this.rows();
    const n = rows.length;
    const offsets = this.offsets.length === n + 1 ? this.offsets : new Float64Array(n + 1);
    const estimate = this.estimate();
    let top = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = top;
      top += this.heights.get(rows[i]!.id) ?? estimate;
    }
    offsets[n] = top;
    this.offsets = offsets;
  }

  /** The top of row `i`; past the last row, the total height. */
  top(i: number): number | undefined {
    return this.offsets[i];
  }

  get total(): number {
    return this.offsets[this.rows().length] ?? 0;
  }

  /** First index whose row ends after `y`. */
  indexAt(y: number): number {
    let lo = 0;
    let hi = this.rows().length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.offsets[mid + 1]! <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The last row that ends at or above `y` (the last one wholly above it); -1 when none does. */
  lastEndingBy(y: number): number {
    return Math.min(this.rows().length - 1, this.indexAt(y) - (this.offsets[this.indexAt(y) + 1]! > y ? 1 : 0));
  }

  /** The [start, end) of the rows to render for a viewport whose top is at `top`. */
  rangeAt(top: number, viewport: number): [number, number] {
    const start = Math.max(0, this.indexAt(top - overscanPx));
    const end = Math.min(this.rows().length, this.indexAt(top + viewport + overscanPx) + 1);
    return [start, end];
  }

  /**
   * Whether the rows [start, end) still cover a viewport at `top` with some margin, without being
   * far too many: then they can stay (fewer re-renders while scrolling).
   */
  covers(start: number, end: number, top: number, viewport: number): boolean {
    const n = this.rows().length;
    const margin = overscanPx / 4;
    const coversTop = start === 0 || this.offsets[start]! <= top - margin;
    const coversBottom = end >= n || this.offsets[end]! >= top + viewport + margin;
    const tooMany = (this.offsets[Math.min(end, n)] ?? 0) - (this.offsets[start] ?? 0) > viewport + 4 * overscanPx;
    return end <= n && coversTop && coversBottom && !tooMany;
  }
}
