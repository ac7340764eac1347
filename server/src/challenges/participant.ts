/**
 * The role of a node taking part in a challenge (hosting participants or judges, the coordinator's
 * own node included). It keeps a copy of each state the coordinator sends, answers through the
 * personas' brains before the answer deadline, scores the anonymised answers through its AI
 * judges' brains, and sends this node's person's card (`submitScores`). Late or failed answers
 * forfeit with the reason. A node taking part that hears nothing from the coordinator for
 * `coordinatorTimeoutMs` (it left the mesh, directly connected or reached through a forwarder)
 * cancels the challenge with that reason, so nothing is left hanging.
 */
import type { TimerHandle } from '../kernel/clock';
import { personaKey, type PersonaRef } from '../../../protocol/academy';
import { challengeLimits, challengeTopics, judgeKey, type ChallengeMeshMessage, type ChallengeView, type JudgeRef, type SubmitScoresParams } from '../../../protocol/challenges';
import { ServiceError } from '../../../protocol/errors';
import { challengePrompt } from './academyFeed';
import { scoreWithBrain, type PromptPersona } from './aiJudge';
import type { StoredChallenge } from './challengeStore';
import { isActive, type RoleContext } from './held';
import { cleanScores, scoresProblem, viewProblem } from './validate';

/** The coordinator role on this same node, reached without the mesh. */
export interface LocalCoordinator {
  receive(message: ChallengeMeshMessage, from: string): void;
  cancel(entry: StoredChallenge, reason: string): void;
}

export interface ParticipantOptions extends RoleContext {
  /** Asks a persona hosted here one question through its brain. */
  prompt: PromptPersona;
  /** Personas hosted here (ids) that can answer now. */
  localPersonas: () => string[];
  coordinator: LocalCoordinator;
}

export class ChallengeParticipant {
  private readonly coordinatorWatch = new Map<string, TimerHandle>();
  /** `challengeId|role|id` of answers and judgements under way or done here. */
  private readonly started = new Set<string>();
  private readonly controllers = new Map<string, AbortController[]>();
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly options: ParticipantOptions) {}

  /** Watches the coordinators of the held challenges still open that another node coordinates. */
  start(): void {
    const { held, nodeId } = this.options;
    for (const entry of held.all()) if (isActive(entry.view) && entry.view.coordinator !== nodeId) this.expectCoordinator(entry.view);
  }

  /** Stops the watches, aborts the brains at work and waits for them (they send nothing once stopped). */
  async stop(): Promise<void> {
    for (const timer of this.coordinatorWatch.values()) timer.cancel();
    this.coordinatorWatch.clear();
    for (const list of this.controllers.values()) for (const controller of list) controller.abort();
    await this.idle();
    this.controllers.clear();
    this.started.clear();
  }

  /** Resolves when no answer or judgement is being written here. */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** This node's person submits their card for a challenge being judged. */
  submitScores(params: SubmitScoresParams): ChallengeView {
    const entry = typeof params?.challengeId === 'string' ? this.options.held.entry(params.challengeId) : undefined;
    if (!entry) throw new ServiceError('not-found', 'there is no such challenge on this node');
    const view = entry.view;
    if (view.state !== 'judging' || !view.answers) throw new ServiceError('invalid', `the challenge is ${view.state}, not being judged`);
    const judge = view.spec.judges.find((j) => j.kind === 'human' && j.nodeId === this.options.nodeId);
    if (!judge) throw new ServiceError('invalid', 'you are not a judge of this challenge');
    if (view.judged.includes(judgeKey(judge))) throw new ServiceError('invalid', 'your scores are in already');
    const labels = view.answers.map((a) => a.label);
    const problem = scoresProblem(params.scores, labels);
    if (problem) throw new ServiceError('invalid', problem);
    this.toCoordinator(view, { kind: 'scores', challengeId: view.id, judge, scores: cleanScores(params.scores, labels) });
    return view;
  }

  /** A state from a coordinator: kept if newer, then acted on. */
  receiveState(value: unknown, from: string): void {
    const { held, logger } = this.options;
    const problem = viewProblem(value);
    if (problem) return logger.warn(`dropped a challenge state from ${from.slice(0, 7)}: ${problem}`);
    const view = value as ChallengeView;
    if (view.coordinator !== from) return logger.warn(`dropped a challenge state from ${from.slice(0, 7)}: it is not the coordinator`);
    const kept = held.entry(view.id);
    // A challenge already closed here stays closed (a coordinator back after we cancelled is too late).
    if (kept && !isActive(kept.view)) return;
    if (isActive(view)) this.expectCoordinator(view);
    else this.forgetCoordinator(view.id);
    if (kept && kept.view.version >= view.version) return;
    const entry: StoredChallenge = { view };
    held.set(entry);
    held.save(entry);
    held.emit(view);
    if (!isActive(view)) this.abortTasks(view.id);
    this.act(view);
  }

  /** What this node does for a challenge in its current state: answer for its participants, score for its AI judges. */
  act(view: ChallengeView): void {
    const { nodeId } = this.options;
    if (view.state === 'answering') {
      const local = new Set(this.options.localPersonas());
      for (const persona of view.spec.participants) {
        if (persona.nodeId !== nodeId || view.forfeits[personaKey(persona)] !== undefined) continue;
        if (!this.claim(view.id, 'answer', persona.personaId)) continue;
        if (!local.has(persona.personaId)) {
          this.toCoordinator(view, { kind: 'answer', challengeId: view.id, personaId: persona.personaId, forfeit: `${persona.name} is not available on its node` });
          continue;
        }
        this.run(view, view.answerDeadline, (signal) => this.answer(view, persona, signal));
      }
    } else if (view.state === 'judging' && view.answers && view.judgeDeadline !== undefined) {
      for (const judge of view.spec.judges) {
        if (judge.kind !== 'persona' || judge.nodeId !== nodeId || view.judged.includes(judgeKey(judge))) continue;
        if (!this.claim(view.id, 'judge', judge.participantId)) continue;
        this.run(view, view.judgeDeadline, (signal) => this.judge(view, judge, signal));
      }
    }
  }

  private async answer(view: ChallengeView, persona: PersonaRef, signal: AbortSignal): Promise<void> {
    let message: ChallengeMeshMessage;
    try {
      const text = (await this.options.prompt(persona.personaId, challengePrompt(view.spec), { signal })).trim();
      if (signal.aborted) throw new Error('aborted');
      message = text
        ? { kind: 'answer', challengeId: view.id, personaId: persona.personaId, text: text.slice(0, challengeLimits.maxAnswerChars) }
        : { kind: 'answer', challengeId: view.id, personaId: persona.personaId, forfeit: 'its brain gave an empty answer' };
    } catch (error) {
      if (!this.options.running()) return;
      const reason = signal.aborted ? `late: no answer within ${Math.round(view.spec.timeLimitMs / 1000)} s` : `its brain failed: ${(error as Error).message}`;
      message = { kind: 'answer', challengeId: view.id, personaId: persona.personaId, forfeit: reason.slice(0, 300) };
    }
    this.options.logger.info(`challenge ${view.id.slice(0, 8)}: ${persona.name} ${message.kind === 'answer' && message.text ? 'answered' : `forfeits (${(message as { forfeit?: string }).forfeit})`}`);
    this.toCoordinator(view, message);
  }

  private async judge(view: ChallengeView, judge: JudgeRef, signal: AbortSignal): Promise<void> {
    let message: ChallengeMeshMessage;
    try {
      const scores = await scoreWithBrain(this.options.prompt, judge.participantId, view.spec, view.answers!, signal);
      message = { kind: 'scores', challengeId: view.id, judge, scores };
    } catch (error) {
      if (!this.options.running()) return;
      const reason = signal.aborted ? 'no scores before the judging deadline' : (error as Error).message;
      this.options.logger.warn(`challenge ${view.id.slice(0, 8)}: judge ${judge.name} could not score: ${reason}`);
      message = { kind: 'scores', challengeId: view.id, judge, failed: reason.slice(0, 300) };
    }
    this.toCoordinator(view, message);
  }

  /** Runs a brain until the deadline aborts it; stop() waits for what is under way. */
  private run(view: ChallengeView, deadline: number, work: (signal: AbortSignal) => Promise<void>): void {
    const { clock, logger } = this.options;
    const controller = new AbortController();
    const list = this.controllers.get(view.id) ?? [];
    list.push(controller);
    this.controllers.set(view.id, list);
    const timer = clock.setTimeout(() => controller.abort(), Math.max(0, deadline - clock.now()));
    const task = work(controller.signal)
      .catch((error: unknown) => logger.error(`challenge ${view.id.slice(0, 8)}: ${(error as Error).message}`))
      .finally(() => {
        timer.cancel();
        this.tasks.delete(task);
        const remaining = (this.controllers.get(view.id) ?? []).filter((c) => c !== controller);
        if (remaining.length > 0) this.controllers.set(view.id, remaining);
        else this.controllers.delete(view.id);
      });
    this.tasks.add(task);
  }

  private abortTasks(challengeId: string): void {
    for (const controller of this.controllers.get(challengeId) ?? []) controller.abort();
  }

  /** Each state comes again with the sign of life: only the first one starts the work. */
  private claim(challengeId: string, role: string, id: string): boolean {
    const key = `${challengeId}|${role}|${id}`;
    if (this.started.has(key)) return false;
    this.started.add(key);
    return true;
  }

  private toCoordinator(view: ChallengeView, message: ChallengeMeshMessage): void {
    const { nodeId } = this.options;
    if (!this.options.running()) return;
    if (view.coordinator === nodeId) {
      // Through the event loop, as a message from a peer would come: never inside the caller's update.
      queueMicrotask(() => {
        if (this.options.running()) this.options.coordinator.receive(message, nodeId);
      });
      return;
    }
    this.options.transport.sendTo(view.coordinator, challengeTopics.node(view.coordinator), message);
  }

  /** The coordinator was heard from: it has `coordinatorTimeoutMs` to be heard from again. */
  private expectCoordinator(view: ChallengeView): void {
    this.forgetCoordinator(view.id);
    const { clock, coordinatorTimeoutMs: timeoutMs } = this.options;
    this.coordinatorWatch.set(
      view.id,
      clock.setTimeout(() => {
        this.coordinatorWatch.delete(view.id);
        const entry = this.options.held.entry(view.id);
        if (!this.options.running() || !entry || !isActive(entry.view)) return;
        this.cancel(entry, `the coordinator left the mesh: nothing heard from it for ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs),
    );
  }

  private forgetCoordinator(challengeId: string): void {
    this.coordinatorWatch.get(challengeId)?.cancel();
    this.coordinatorWatch.delete(challengeId);
  }

  private cancel(entry: StoredChallenge, reason: string): void {
    this.abortTasks(entry.view.id);
    this.forgetCoordinator(entry.view.id);
    // Only the coordinator tells the others and the room; a node taking part closes its own copy.
    if (entry.view.coordinator === this.options.nodeId) this.options.coordinator.cancel(entry, reason);
    else this.options.held.cancel(entry, reason);
  }
}
