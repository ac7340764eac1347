/** Who is in the room, with presence; and who is typing. */
import { LitElement, css, html } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { Participant } from '../../protocol/rooms';
import { base } from './styles';

const presenceOrder = ['online', 'collaborating', 'training', 'evolving', 'busy', 'away', 'offline'];

@customElement('mesh-participants')
export class Participants extends LitElement {
  @property({ attribute: false }) participants: readonly Participant[] = [];
  @property({ attribute: false }) selfKey: string | undefined;

  static override styles = [
    base,
    css`
      :host { display: block; overflow-y: auto; padding: 6px 0; }
      h2 { font-size: 0.85em; text-transform: uppercase; letter-spacing: 0.04em; margin: 4px 12px; }
      ul { list-style: none; margin: 0; padding: 0; }
      li { display: flex; align-items: center; gap: 6px; padding: 2px 12px; }
      .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .meta { color: var(--vscode-descriptionForeground); font-size: 0.85em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .who { display: flex; flex-direction: column; min-width: 0; }
    `,
  ];

  override render() {
    // A system agent (Challenges, Academy) is a node's component that posts notices: it has no presence, and comes last.
    const rank = (p: Participant) => (p.kind === 'system' ? presenceOrder.length : presenceOrder.indexOf(p.presence));
    const sorted = [...this.participants].sort((a, b) => rank(a) - rank(b) || a.displayName.localeCompare(b.displayName));
    return html`<section aria-labelledby="people-heading">
      <h2 id="people-heading">In this room (${sorted.length})</h2>
      <ul>
        ${sorted.map((p) => {
          const you = this.selfKey === `${p.nodeId}/${p.participantId}`;
          const system = p.kind === 'system';
          const meta = system ? 'system notices' : [p.kind === 'human' ? '' : p.kind, p.presence, p.statusText ?? ''].filter(Boolean).join(' · ');
          return html`<li aria-label=${`${p.displayName}${you ? ' (you)' : ''}, ${meta}`} title=${meta}>
            <span class="dot ${system ? 'system' : p.presence}" aria-hidden="true"></span>
            <span class="who" aria-hidden="true"><span class="name">${p.displayName}${you ? ' (you)' : ''}</span><span class="meta">${meta}</span></span>
          </li>`;
        })}
      </ul>
    </section>`;
  }
}

/** "Ana is typing…", "Ana and Bo are typing…", "Several people are typing…". */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}
