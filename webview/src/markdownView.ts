import { ReactiveElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { renderMarkdown, type CodeBlock } from './markdown';

/**
 * A message body: sanitised Markdown in light DOM (styled by the list around it). Re-renders
 * only when the text changes, so a streamed message grows in place.
 */
@customElement('mesh-markdown')
export class MarkdownView extends ReactiveElement {
  @property() source = '';
  /** Links and code buttons are in the tab order only in the active message. */
  @property({ type: Boolean }) interactive = false;
  blocks: CodeBlock[] = [];

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  protected override update(changed: Map<PropertyKey, unknown>): void {
    super.update(changed);
    if (changed.has('source')) {
      const rendered = renderMarkdown(this.source);
      this.blocks = rendered.blocks;
      this.innerHTML = rendered.html;
    }
    if (changed.has('source') || changed.has('interactive')) {
      const tabIndex = this.interactive ? 0 : -1;
      for (const element of this.querySelectorAll<HTMLElement>('a, button')) element.tabIndex = tabIndex;
    }
  }
}
