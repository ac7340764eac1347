/**
 * The composer's text, and each room's draft in the saved state: a half-written message survives
 * switching rooms and hide/show. Editing a message borrows the composer; the draft comes back when
 * the edit ends.
 */
import type { ReactiveControllerHost } from 'lit';
import type { SavedState } from './savedState';

/** The saved state is written on every key: a longer draft stays whole in the composer only. */
const maxSavedDraft = 64 * 1024;

export class Drafts {
  private text: string;
  private beforeEdit = '';

  /** @param room the room shown now (its draft is the one changed). */
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly saved: SavedState,
    private readonly room: () => string,
  ) {
    const roomId = room();
    this.text = roomId ? (saved.value.drafts?.[roomId] ?? '') : '';
  }

  /** What the composer shows. */
  get value(): string {
    return this.text;
  }

  /** Another room is shown: its draft. */
  showRoom(): void {
    this.show(this.saved.value.drafts?.[this.room()] ?? '');
  }

  /** The person typed. While they edit a message, the text is the message's, not a draft. */
  typed(text: string, editing: boolean): void {
    this.show(text);
    if (editing) return;
    const drafts = { ...this.saved.value.drafts };
    if (text) drafts[this.room()] = text.slice(0, maxSavedDraft);
    else delete drafts[this.room()];
    this.saved.save({ drafts });
  }

  /** Replaces the draft (sent, or a mention added). */
  set(text: string): void {
    this.show(text);
    const drafts = { ...this.saved.value.drafts };
    if (text) drafts[this.room()] = text;
    else delete drafts[this.room()];
    this.saved.save({ drafts });
  }

  /** Shows a message's text to edit; the draft is kept unless another edit already kept it. */
  startEdit(text: string, editing: boolean): void {
    if (!editing) this.beforeEdit = this.text;
    this.show(text);
  }

  /** The edit was cancelled: the draft is back. */
  cancelEdit(): void {
    this.show(this.beforeEdit);
  }

  /** The edit was sent: the draft is back, and saved. */
  endEdit(): void {
    this.set(this.beforeEdit);
  }

  /** Adds a mention (`@id`) at the end, unless the draft has it already. */
  addMention(mention: string): void {
    const draft = this.text.trimEnd();
    if (!new RegExp(`(^|\\s)${mention.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(draft)) this.set(`${draft}${draft ? ' ' : ''}${mention} `);
  }

  private show(text: string): void {
    if (text === this.text) return;
    this.text = text;
    this.host.requestUpdate();
  }
}
