/** The system messages a challenge posts in its room: the announcement, the reveal, a cancellation. */
import { challengeCriteria, type ChallengeView } from '../../../protocol/challenges';

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

export function announcementText(view: ChallengeView): string {
  const s = view.spec;
  const weights = challengeCriteria.filter((c) => s.weights[c] > 0).map((c) => `${c} ${Math.round(s.weights[c] * 100)} %`);
  return [
    `🏁 Challenge: **${s.title}** (${s.type}, ${s.difficulty})`,
    s.description.trim() ? `\n${s.description.trim()}\n` : '',
    `Participants: ${s.participants.map((p) => p.name).join(', ')}. Answers within ${seconds(s.timeLimitMs)}.`,
    `Judged blind by ${s.judges.map((j) => j.name).join(', ')} on ${weights.join(', ')}.`,
  ]
    .filter(Boolean)
    .join('\n');
}

export function revealText(view: ChallengeView): string {
  const results = view.results ?? [];
  const lines = [`🏆 Results of **${view.spec.title}**:`, ''];
  // "#1" rather than "1.": Markdown would renumber an ordered list and hide shared ranks.
  for (const r of results) {
    if (r.forfeit !== undefined) lines.push(`- #${r.rank} ${r.persona.name}: forfeit (${r.forfeit})`);
    else lines.push(`- #${r.rank} ${r.persona.name}: ${r.total?.toFixed(2)} / 10 (answer ${r.label})`);
  }
  const judges = view.spec.judges.map((j) => `${j.name}${(view.scores ?? []).some((c) => c.judge.nodeId === j.nodeId && c.judge.participantId === j.participantId) ? '' : ' (no scores)'}`);
  lines.push('', `Judges: ${judges.join(', ')}.`);
  return lines.join('\n');
}

export function cancellationText(view: ChallengeView): string {
  return `⛔ Challenge **${view.spec.title}** was cancelled: ${view.cancelReason ?? 'no reason given'}.`;
}
