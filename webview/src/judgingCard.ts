/**
 * A challenge to judge: the task, then one section per anonymised answer with a score 0…10 per
 * criterion (native range inputs: arrow keys, Home/End and Page Up/Down work, and screen readers
 * read the value), and Submit. Answers are remote text, shown as plain text only.
 */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { challengeCriteria, challengeLimits, type ChallengeView, type CriteriaScores } from '../../protocol/challenges';
import { base } from './styles';

export interface ScoresDetail {
  challengeId: string;
  scores: Record<string, CriteriaScores>;
}

const defaultScore = 5;

@customElement('mesh-judging-card')
export class JudgingCard extends LitElement {
  @property({ attribute: false }) challenge!: ChallengeView;
  @property() error = '';
  @property({ type: Boolean }) busy = false;
  @state() private scores: Record<string, CriteriaScores> = {};

  static override styles = [
    base,
    css`
      :host { display: block; margin: 8px 12px; padding: 8px 12px; border: 1px solid var(--vscode-focusBorder, var(--vscode-contrastBorder, transparent));
        border-radius: 4px; background: var(--vscode-editorWidget-background, transparent); max-height: 50vh; overflow: auto; }
      h2 { margin: 0 0 4px; font-size: 1.05em; }
      .task { margin: 0 0 8px; color: var(--vscode-descriptionForeground); white-space: pre-wrap; }
      section { border-top: 1px solid var(--vscode-panel-border, transparent); padding: 6px 0; }
      h3 { margin: 0 0 4px; font-size: 1em; }
      .answer { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 6px; padding: 4px 6px; font-family: var(--vscode-editor-font-family);
        background: var(--vscode-textCodeBlock-background, transparent); }
      .criteria { display: grid; grid-template-columns: minmax(110px, max-content) 1fr 2.5em; gap: 2px 8px; align-items: center; }
      input[type='range'] { accent-color: var(--vscode-button-background); width: 100%; }
      output { text-align: right; font-variant-numeric: tabular-nums; }
      .actions { display: flex; gap: 8px; align-items: center; margin-top: 6px; }
    `,
  ];

  private score(label: string, criterion: (typeof challengeCriteria)[number]): number {
    return this.scores[label]?.[criterion] ?? defaultScore;
  }

  private set(label: string, criterion: (typeof challengeCriteria)[number], value: number): void {
    const card = { ...(this.scores[label] ?? (Object.fromEntries(challengeCriteria.map((c) => [c, defaultScore])) as CriteriaScores)), [criterion]: value };
    this.scores = { ...this.scores, [label]: card };
  }

  private submit(): void {
    const answers = this.challenge.answers ?? [];
    const scores = Object.fromEntries(answers.map((a) => [a.label, Object.fromEntries(challengeCriteria.map((c) => [c, this.score(a.label, c)])) as CriteriaScores]));
    this.dispatchEvent(new CustomEvent<ScoresDetail>('submit-scores', { detail: { challengeId: this.challenge.id, scores }, bubbles: true, composed: true }));
  }

  override render() {
    const c = this.challenge;
    const weights = c.spec.weights;
    const minutes = c.judgeDeadline ? new Date(c.judgeDeadline).toLocaleTimeString() : '';
    return html`<h2 id="title">Judge the challenge: ${c.spec.title}</h2>
      <p class="task">${c.spec.description}</p>
      <p class="task">Answers are anonymised. Score each from 0 to ${challengeLimits.maxScore}${minutes ? html`; scores are due by ${minutes}` : nothing}.</p>
      ${(c.answers ?? []).map(
        (answer) => html`<section aria-label=${`Answer ${answer.label}`}>
          <h3>Answer ${answer.label}</h3>
          <pre class="answer">${answer.text}</pre>
          <div class="criteria">
            ${challengeCriteria.map((criterion) => {
              const id = `s-${answer.label}-${criterion}`;
              const value = this.score(answer.label, criterion);
              return html`<label for=${id}>${criterion} (${Math.round(weights[criterion] * 100)} %)</label>
                <input
                  id=${id}
                  type="range"
                  min="0"
                  max=${challengeLimits.maxScore}
                  step="1"
                  .value=${String(value)}
                  aria-label=${`Answer ${answer.label}, ${criterion}`}
                  aria-valuetext=${`${value} of ${challengeLimits.maxScore}`}
                  @input=${(event: Event) => this.set(answer.label, criterion, Number((event.target as HTMLInputElement).value))}
                />
                <output for=${id}>${value}</output>`;
            })}
          </div>
        </section>`,
      )}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="actions">
        <vscode-button ?disabled=${this.busy} @click=${() => this.submit()} aria-describedby="title">Submit scores</vscode-button>
      </div>`;
  }
}
