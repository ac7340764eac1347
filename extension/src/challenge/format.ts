/**
 * Text of the challenge commands: criteria weights typed as four numbers, the defaults per type,
 * and the Markdown of Challenge History. No `vscode` import: unit-tested in plain Node.
 */
import { challengeCriteria, challengeLimits, type ChallengeType, type ChallengeView, type CriteriaWeights } from '../../../protocol/challenges';

export const defaultWeights: Record<ChallengeType, CriteriaWeights> = {
  technical: { technical: 0.4, collaborative: 0.2, innovative: 0.2, reliable: 0.2 },
  collaborative: { technical: 0.2, collaborative: 0.4, innovative: 0.2, reliable: 0.2 },
  creative: { technical: 0.2, collaborative: 0.1, innovative: 0.5, reliable: 0.2 },
  speed: { technical: 0.3, collaborative: 0.1, innovative: 0.1, reliable: 0.5 },
};

export function weightsText(weights: CriteriaWeights): string {
  return challengeCriteria.map((c) => String(weights[c])).join(' ');
}

/** Four numbers (technical collaborative innovative reliable) summing to 1, or the problem. */
export function parseWeights(text: string): CriteriaWeights | string {
  const parts = text.trim().split(/[\s,;]+/).filter(Boolean);
  if (parts.length !== challengeCriteria.length) return `Four numbers, one per criterion: ${challengeCriteria.join(', ')}`;
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) return 'Each weight is a number from 0 to 1';
  const sum = values.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > challengeLimits.weightTolerance) return `The weights must sum to 1 (they sum to ${Math.round(sum * 1000) / 1000})`;
  return Object.fromEntries(challengeCriteria.map((c, i) => [c, values[i]!])) as CriteriaWeights;
}

/** Time limit typed in seconds, or the problem. */
export function parseSeconds(text: string): number | string {
  const seconds = Number(text.trim());
  const min = challengeLimits.minTimeLimitMs / 1000;
  const max = challengeLimits.maxTimeLimitMs / 1000;
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) return `A whole number of seconds from ${min} to ${max}`;
  return seconds;
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}text\n${text}\n${ticks}`;
}

/** One past challenge in full: task, state, every answer with its scores and rank, and the judges' cards. */
export function historyMarkdown(view: ChallengeView): string {
  const s = view.spec;
  const lines = [
    `# ${s.title}`,
    '',
    `${s.type}, ${s.difficulty}; room #${s.roomId}; started ${new Date(view.createdAt).toISOString()}; **${view.state}**${view.cancelReason ? `: ${view.cancelReason}` : ''}`,
    '',
    s.description,
    '',
    `Weights: ${challengeCriteria.map((c) => `${c} ${s.weights[c]}`).join(', ')}. Time limit ${Math.round(s.timeLimitMs / 1000)} s.`,
    '',
    `Judges: ${s.judges.map((j) => `${j.name} (${j.kind === 'human' ? 'person' : 'AI'})`).join(', ')}`,
    '',
    '## Results',
    '',
  ];
  if (view.results) {
    for (const r of view.results) {
      lines.push(`### ${r.rank}. ${r.persona.name}${r.label ? ` (answer ${r.label})` : ''}`, '');
      if (r.forfeit !== undefined) lines.push(`Forfeit: ${r.forfeit}`, '');
      if (r.total !== undefined) lines.push(`Total ${r.total.toFixed(2)} / ${challengeLimits.maxScore}: ${challengeCriteria.map((c) => `${c} ${r.criteria?.[c] ?? '–'}`).join(', ')}`, '');
      if (r.text !== undefined) lines.push(fence(r.text), '');
    }
    lines.push('## Scores by judge', '');
    for (const card of view.scores ?? []) {
      lines.push(`- ${card.judge.name}: ${Object.entries(card.scores).map(([label, scores]) => `${label} ${challengeCriteria.map((c) => scores[c]).join('/')}`).join('; ')}`);
    }
    if ((view.scores ?? []).length === 0) lines.push('No judge scored.');
  } else {
    lines.push(`Not revealed. Participants: ${s.participants.map((p) => `${p.name}${view.forfeits[`${p.nodeId}/${p.personaId}`] ? ` (forfeit: ${view.forfeits[`${p.nodeId}/${p.personaId}`]})` : ''}`).join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}
