/**
 * Which challenges the person at this window must judge now: being judged, naming this node's
 * person as a judge, and not yet scored by them. Fed by the server's challenge notifications and
 * by a list on panel start. No `vscode` import: unit-tested in plain Node.
 */
import { judgeKey, type ChallengeView } from '../../../protocol/challenges';

export class JudgingQueue {
  private readonly pending = new Map<string, ChallengeView>();

  /** Takes a challenge's newest state; true when what the person must judge changed. */
  update(view: ChallengeView, selfNodeId: string | undefined): boolean {
    const had = this.pending.get(view.id);
    if (had && had.version > view.version) return false;
    const mine = view.spec.judges.find((j) => j.kind === 'human' && j.nodeId === selfNodeId);
    const due = view.state === 'judging' && mine !== undefined && !view.judged.includes(judgeKey(mine)) && (view.answers?.length ?? 0) > 0;
    if (due) {
      this.pending.set(view.id, view);
      return true;
    }
    return this.pending.delete(view.id);
  }

  /** The person submitted: the card goes away before the coordinator's next state arrives. */
  submitted(challengeId: string): boolean {
    return this.pending.delete(challengeId);
  }

  list(): ChallengeView[] {
    return [...this.pending.values()].sort((a, b) => a.createdAt - b.createdAt);
  }
}
