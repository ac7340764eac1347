/**
 * The challenges the person here is asked to judge (the extension sends the list whenever it
 * changes): one card each above the messages, and their scores sent, one card at a time, with a
 * failure shown under its card.
 */
import { html, type ReactiveControllerHost } from 'lit';
import type { ChallengeView } from '../../protocol/challenges';
import { errorText, request } from './host';
import './judgingCard';
import type { ScoresDetail } from './judgingCard';

export class Judging {
  private challenges: ChallengeView[] = [];
  private errors: Record<string, string> = {};
  /** The challenge whose scores are on their way ('' when none). */
  private busy = '';

  /** @param announce says a result to screen readers. */
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly announce: (text: string) => void,
  ) {}

  /** The extension's list now; empty when there is nothing to judge. */
  show(challenges: ChallengeView[]): void {
    if (challenges === this.challenges) return;
    this.challenges = challenges;
    this.host.requestUpdate();
  }

  cards() {
    return this.challenges.map(
      (challenge) => html`<mesh-judging-card
        role="region"
        aria-label=${`Judge ${challenge.spec.title}`}
        .challenge=${challenge}
        .error=${this.errors[challenge.id] ?? ''}
        ?busy=${this.busy === challenge.id}
        @submit-scores=${(event: CustomEvent<ScoresDetail>) => void this.submit(event.detail)}
      ></mesh-judging-card>`,
    );
  }

  private async submit(detail: ScoresDetail): Promise<void> {
    this.setBusy(detail.challengeId);
    this.setError(detail.challengeId, '');
    try {
      await request('submitScores', detail);
      this.announce('Scores submitted.');
    } catch (error) {
      this.setError(detail.challengeId, errorText(error));
    } finally {
      this.setBusy('');
    }
  }

  private setBusy(challengeId: string): void {
    if (challengeId === this.busy) return;
    this.busy = challengeId;
    this.host.requestUpdate();
  }

  private setError(challengeId: string, error: string): void {
    this.errors = { ...this.errors, [challengeId]: error };
    this.host.requestUpdate();
  }
}
