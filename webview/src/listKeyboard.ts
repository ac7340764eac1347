/**
 * Keyboard navigation of a list of rows, by roving focus: the list is one tab stop (the active row
 * has tabindex 0, every other -1); Up/Down/PageUp/PageDown/Home/End move between rows, also to rows
 * not rendered yet (they get the focus once they are); Tab goes on into the active row's controls,
 * and Escape brings the focus back from them to the row (or closes the row's open menu first).
 */
import type { ReactiveControllerHost } from 'lit';
import { emit } from './events';

/** What the keyboard needs of its list, beyond the element itself. */
export interface ListKeyboardPort {
  rows(): readonly { readonly id: string }[];
  hasMore(): boolean;
  scroller(): HTMLElement | null;
  rowElement(id: string): HTMLElement | null;
  indexOf(id: string): number | undefined;
  /** The height assumed for a row (to turn a page of pixels into rows). */
  estimate(): number;
  /** The last row wholly in view, if rendered. */
  lastVisibleRow(): HTMLElement | undefined;
  /** Renders row `i` (not in the DOM now) and scrolls to it. */
  showRow(i: number): void;
  /** Closes a row's open menu: the row it was in, if one was open. */
  closeMenu(): string | undefined;
}

export class ListKeyboard {
  private active: string | undefined;
  private pendingFocus: string | undefined;

  constructor(
    private readonly list: ReactiveControllerHost & HTMLElement,
    private readonly port: ListKeyboardPort,
  ) {}

  /** The row that is the tab stop. */
  get activeId(): string | undefined {
    return this.active;
  }

  set activeId(id: string | undefined) {
    if (id === this.active) return;
    this.active = id;
    this.list.requestUpdate();
  }

  /** Makes a row the tab stop and focuses it once it is rendered (see focusPending). */
  focusWhenRendered(id: string): void {
    this.activeId = id;
    this.pendingFocus = id;
  }

  /** After each update of the list: the row waiting for the focus, if it is rendered now. */
  focusPending(): void {
    if (!this.pendingFocus) return;
    const row = this.port.rowElement(this.pendingFocus);
    if (row) {
      this.pendingFocus = undefined;
      row.focus({ preventScroll: true });
      this.reveal(row);
    }
  }

  /** Focus the active row (or the last one wholly visible). */
  focusRows(): void {
    const row = (this.activeId && this.port.rowElement(this.activeId)) || this.port.lastVisibleRow();
    if (row) {
      this.activeId = row.dataset.id;
      row.focus();
    } else {
      this.port.scroller()?.focus();
    }
  }

  private reveal(row: HTMLElement): void {
    const scroller = this.port.scroller()!;
    const top = row.offsetTop;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + row.offsetHeight > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + row.offsetHeight - scroller.clientHeight;
  }

  private moveActive(to: number): void {
    const rows = this.port.rows();
    const n = rows.length;
    if (n === 0) return;
    const i = Math.max(0, Math.min(n - 1, to));
    const id = rows[i]!.id;
    this.activeId = id;
    const row = this.port.rowElement(id);
    if (row) {
      row.focus({ preventScroll: true });
      this.reveal(row);
      return;
    }
    this.pendingFocus = id;
    this.port.showRow(i);
  }

  readonly onKeyDown = (event: KeyboardEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    if (event.key === 'Escape') {
      const id = this.port.closeMenu();
      if (id !== undefined) {
        this.port.rowElement(id)?.focus();
        event.preventDefault();
        return;
      }
    }
    if (target.tagName !== 'ARTICLE') {
      if (event.key === 'Escape') {
        const row = target.closest<HTMLElement>('article');
        row?.focus();
      }
      return;
    }
    const i = this.port.indexOf(target.dataset.id ?? '') ?? -1;
    const page = Math.max(1, Math.floor((this.port.scroller()?.clientHeight ?? 600) / this.port.estimate()) - 1);
    const rows = this.port.rows();
    const moves: Record<string, number> = { ArrowUp: i - 1, ArrowDown: i + 1, PageUp: i - page, PageDown: i + page, Home: 0, End: rows.length - 1 };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    // Up from the first loaded row: the rows before it are on the next older page.
    if (to < 0 && this.port.hasMore()) emit(this.list, 'load-older', { before: rows[0]?.id });
    this.moveActive(to);
  };

  /** Focus coming to the list lands on the active row; focus anywhere in a row makes it active. */
  readonly onFocusIn = (event: FocusEvent) => {
    const target = event.composedPath()[0] as HTMLElement;
    if (target === this.port.scroller()) {
      this.focusRows();
      return;
    }
    const row = target.closest<HTMLElement>('article[data-id]');
    if (row && row.dataset.id !== this.activeId) this.activeId = row.dataset.id;
  };
}
