import { renderMarkdown, type CodeBlock } from './markdown';

/**
 * A message body: sanitised Markdown in light DOM (styled by the list around it). It renders as
 * soon as `source` is set (synchronously, so the list measures rows with their content), and
 * again only when the text changes: a streamed message grows in place.
 */
export class MarkdownView extends HTMLElement {
  private text: string | undefined;
  private focusable = false;
  blocks: CodeBlock[] = [];

  get source(): string {
    return this.text ?? '';
  }

  set source(value: string) {
    if (value === this.text) return;
    this.text = value;
    const rendered = renderMarkdown(value);
    this.blocks = rendered.blocks;
    this.replaceChildren(rendered.fragment.cloneNode(true));
    this.applyTabIndex();
  }

  /** Links and code buttons are in the tab order only in the active message. */
  get interactive(): boolean {
    return this.focusable;
  }

  set interactive(value: boolean) {
    if (value === this.focusable) return;
    this.focusable = value;
    this.applyTabIndex();
  }

  private applyTabIndex(): void {
    const tabIndex = this.focusable ? 0 : -1;
    for (const element of this.querySelectorAll<HTMLElement>('a, button')) element.tabIndex = tabIndex;
  }
}

if (!customElements.get('mesh-markdown')) customElements.define('mesh-markdown', MarkdownView);

declare global {
  interface HTMLElementTagNameMap {
    'mesh-markdown': MarkdownView;
  }
}
