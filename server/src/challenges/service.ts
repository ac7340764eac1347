/**
 * Challenges on this node, as coordinator of the ones started here and as a node taking part in
 * others (hosting participants or judges). The coordinator owns the state machine
 *
 *   announced → answering → judging → revealed        (or → cancelled from any of the first three)
 *
 * and sends a snapshot to every node taking part on each change (protocol/challenges.ts). Nodes
 * hosting participants answer through the personas' brains before the answer deadline; nodes
 * hosting AI judges score the anonymised answers through their brains; this node's person scores
 * through `submitScores`. Late or failed answers, and participants whose node leaves before the
 * reveal, forfeit with the reason. The coordinator sends the state again every third of
 * `coordinatorTimeoutMs`, so a node taking part that hears nothing from it for that long (it left
 * the mesh, directly connected or reached through a forwarder) cancels the challenge with that
 * reason, and nothing is left hanging.
 *
 * Every state is written to libsql before it is sent, and a restarted coordinator re-arms its
 * deadlines from the stored (wall-clock) times.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { personaKey, type PersonaRef } from '../../../protocol/academy';
import {
  challengeLimits,
  challengeTopics,
  judgeKey,
  type ChallengeMeshMessage,
  type ChallengeSpec,
  type ChallengeView,
  type JudgeRef,
  type JudgeScores,
  type SubmitScoresParams,
} from '../../../protocol/challenges';
import { ServiceError } from '../../../protocol/errors';
import type { LocalParticipant, Rooms } from '../rooms/rooms';
import type { PortMessage } from '../kernel/meshPort';
import type { Db } from '../store/database';
import { challengePrompt, recordChallengeResults, type ChallengeAcademy } from './academyFeed';
import { scoreWithBrain, type PromptPersona } from './aiJudge';
import { announcementText, cancellationText, revealText } from './announcements';
import { ChallengeStore, type ChallengeSecret, type StoredChallenge } from './challengeStore';
import { rankAnswers } from './ranking';
import { answerLabel, deterministicShuffle } from './shuffle';
import type { ChallengeTransport } from './transport';
import { cleanScores, judgeProblem, scoresProblem, specProblem, viewProblem } from './validate';

export interface ChallengeServiceOptions {
  store: { readonly db: Db };
  transport: ChallengeTransport;
  /** Asks a persona hosted here one question through its brain. */
  prompt: PromptPersona;
  /** Personas hosted here (ids) that can answer now. */
  localPersonas: () => string[];
  /** Every persona on the mesh, to refuse a challenge naming one nobody hosts. */
  knownPersonas?: () => { nodeId: string; id: string }[];
  /** Where the challenge is announced and revealed. */
  rooms?: Pick<Rooms, 'join' | 'send'>;
  /** Where results go (the coordinator records them); a provider since the academy may start later. */
  academy?: () => ChallengeAcademy | undefined;
  clock?: Clock;
  logger?: Logger;
  /** How long a node taking part waits without hearing from the coordinator before cancelling. Default 30 s. */
  coordinatorTimeoutMs?: number;
  newId?: () => string;
}

export interface ChallengeServiceEvents {
  /** A challenge this node holds changed (any state). */
  changed: [ChallengeView];
}

const systemAuthor: LocalParticipant = { participantId: 'challenges', displayName: 'Challenges', kind: 'system' };
const activeStates = new Set(['announced', 'answering', 'judging']);

export class ChallengeService extends EventEmitter<ChallengeServiceEvents> implements Component {
  readonly name = 'challenges';
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private challengeStore: ChallengeStore | undefined;
  private readonly entries = new Map<string, StoredChallenge>();
  private readonly deadlines = new Map<string, TimerHandle>();
  private readonly coordinatorWatch = new Map<string, TimerHandle>();
  /** `challengeId|role|id` of answers and judgements under way or done here. */
  private readonly started = new Set<string>();
  private readonly controllers = new Map<string, AbortController[]>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private heartbeat: TimerHandle | undefined;
  private running = false;

  constructor(private readonly options: ChallengeServiceOptions) {
    super();
    this.nodeId = options.transport.localNodeId;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('challenges');
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    const store = new ChallengeStore(this.options.store.db);
    this.challengeStore = store;
    const transport = this.options.transport;
    this.unsubscribe.push(
      transport.subscribe(challengeTopics.node(this.nodeId), (message) => this.onMessage(message)),
      transport.onPeerDown((nodeId) => this.peerDown(nodeId)),
    );
    for (const entry of store.all()) {
      this.entries.set(entry.view.id, entry);
      if (!activeStates.has(entry.view.state)) continue;
      if (entry.view.coordinator === this.nodeId) this.resume(entry);
      else this.expectCoordinator(entry.view);
    }
    this.heartbeat = this.clock.setInterval(() => this.resendActive(), Math.max(1, Math.floor(this.coordinatorTimeoutMs / 3)));
    this.logger.info(`challenges ready: ${this.entries.size} held`);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const off of this.unsubscribe.splice(0)) off();
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    for (const timer of [...this.deadlines.values(), ...this.coordinatorWatch.values()]) timer.cancel();
    this.deadlines.clear();
    this.coordinatorWatch.clear();
    for (const list of this.controllers.values()) for (const controller of list) controller.abort();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    this.controllers.clear();
    this.entries.clear();
    this.started.clear();
    this.challengeStore = undefined;
  }

  /** Resolves when no answer or judgement is being written here (tests). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  // ---------------------------------------------------------------- API

  /** Every challenge this node holds, newest first. */
  list(): ChallengeView[] {
    return [...this.entries.values()].map((e) => e.view).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  }

  get(id: string): ChallengeView | undefined {
    return this.entries.get(id)?.view;
  }

  /** Starts a challenge coordinated by this node. */
  create(spec: ChallengeSpec): ChallengeView {
    this.requireRunning();
    const problem = specProblem(spec);
    if (problem) throw new ServiceError('invalid', problem);
    const known = this.options.knownPersonas?.();
    if (known) {
      const has = (nodeId: string, id: string) => known.some((p) => p.nodeId === nodeId && p.id === id);
      const missing = spec.participants.find((p) => !has(p.nodeId, p.personaId)) ?? spec.judges.find((j) => j.kind === 'persona' && !has(j.nodeId, j.participantId));
      if (missing) throw new ServiceError('not-found', `${missing.name} is not on the mesh right now`);
    }
    const now = this.clock.now();
    const view: ChallengeView = {
      id: this.options.newId?.() ?? randomBytes(16).toString('hex'),
      coordinator: this.nodeId,
      spec: structuredClone(spec),
      state: 'announced',
      version: 1,
      createdAt: now,
      answerDeadline: now + spec.timeLimitMs,
      forfeits: {},
      judged: [],
      updatedAt: now,
    };
    const entry: StoredChallenge = { view, secret: { answers: {}, cards: {}, judgeFailures: {} } };
    this.entries.set(view.id, entry);
    this.save(entry);
    this.post(view, announcementText(view));
    this.logger.info(`challenge ${view.id.slice(0, 8)} "${spec.title}" announced: ${spec.participants.length} participants, ${spec.judges.length} judges`);
    this.publishState(entry);
    this.update(entry, (v) => (v.state = 'answering'));
    this.armDeadline(entry);
    return entry.view;
  }

  /** This node's person submits their card for a challenge being judged. */
  submitScores(params: SubmitScoresParams): ChallengeView {
    this.requireRunning();
    const entry = typeof params?.challengeId === 'string' ? this.entries.get(params.challengeId) : undefined;
    if (!entry) throw new ServiceError('not-found', 'there is no such challenge on this node');
    const view = entry.view;
    if (view.state !== 'judging' || !view.answers) throw new ServiceError('invalid', `the challenge is ${view.state}, not being judged`);
    const judge = view.spec.judges.find((j) => j.kind === 'human' && j.nodeId === this.nodeId);
    if (!judge) throw new ServiceError('invalid', 'you are not a judge of this challenge');
    if (view.judged.includes(judgeKey(judge))) throw new ServiceError('invalid', 'your scores are in already');
    const labels = view.answers.map((a) => a.label);
    const problem = scoresProblem(params.scores, labels);
    if (problem) throw new ServiceError('invalid', problem);
    this.toCoordinator(view, { kind: 'scores', challengeId: view.id, judge, scores: cleanScores(params.scores, labels) });
    return view;
  }

  // ---------------------------------------------------------------- coordinator

  private resume(entry: StoredChallenge): void {
    if (entry.view.state === 'announced') this.update(entry, (v) => (v.state = 'answering'));
    else this.sendState(entry.view);
    this.armDeadline(entry);
    this.logger.info(`challenge ${entry.view.id.slice(0, 8)} resumed (${entry.view.state})`);
  }

  private armDeadline(entry: StoredChallenge): void {
    const view = entry.view;
    this.deadlines.get(view.id)?.cancel();
    const at = view.state === 'answering' ? view.answerDeadline : view.state === 'judging' ? view.judgeDeadline : undefined;
    if (at === undefined) return;
    const state = view.state;
    this.deadlines.set(
      view.id,
      this.clock.setTimeout(() => {
        this.deadlines.delete(view.id);
        if (!this.running || entry.view.state !== state) return;
        if (state === 'answering') this.finishAnswering(entry);
        else this.reveal(entry);
      }, Math.max(0, at - this.clock.now())),
    );
  }

  private onCoordinatorMessage(body: ChallengeMeshMessage, from: string): void {
    if (body.kind === 'state') return;
    const entry = this.entries.get(body.challengeId);
    if (!entry || entry.view.coordinator !== this.nodeId || !entry.secret) {
      this.logger.debug(`dropped a challenge ${body.kind} from ${from.slice(0, 7)}: not a challenge coordinated here`);
      return;
    }
    const view = entry.view;
    const secret = entry.secret;
    if (body.kind === 'answer') {
      const persona = view.spec.participants.find((p) => p.nodeId === from && p.personaId === body.personaId);
      if (!persona) return this.logger.warn(`dropped an answer from ${from.slice(0, 7)}: ${String(body.personaId).slice(0, 64)} is not a participant it hosts`);
      const key = personaKey(persona);
      if (view.state !== 'answering' || secret.answers[key] || view.forfeits[key] !== undefined) {
        this.logger.debug(`ignored a late or repeated answer of ${key}`);
        return;
      }
      if (typeof body.text === 'string' && body.text.trim() !== '') {
        const text = body.text.slice(0, challengeLimits.maxAnswerChars);
        this.update(entry, () => (secret.answers[key] = { text }));
      } else {
        const reason = typeof body.forfeit === 'string' && body.forfeit.trim() ? body.forfeit.slice(0, 300) : 'it gave no answer';
        this.update(entry, (v) => (v.forfeits[key] = reason));
      }
      this.maybeFinishAnswering(entry);
      return;
    }
    const problem = judgeProblem(body.judge);
    const judge = problem ? undefined : view.spec.judges.find((j) => judgeKey(j) === judgeKey(body.judge) && j.kind === body.judge.kind);
    if (!judge || judge.nodeId !== from) return this.logger.warn(`dropped scores from ${from.slice(0, 7)}: not a judge it hosts`);
    const key = judgeKey(judge);
    if (view.state !== 'judging' || !view.answers || view.judged.includes(key) || secret.judgeFailures[key] !== undefined) return;
    if (typeof body.failed === 'string') {
      this.logger.warn(`judge ${judge.name} could not score: ${body.failed}`);
      this.update(entry, () => (secret.judgeFailures[key] = body.failed!.slice(0, 300)));
    } else {
      const labels = view.answers.map((a) => a.label);
      const scoreProblem = scoresProblem(body.scores, labels);
      if (scoreProblem) return this.logger.warn(`dropped the scores of ${judge.name}: ${scoreProblem}`);
      const scores = cleanScores(body.scores as Record<string, Record<string, number>>, labels);
      this.update(entry, (v) => {
        secret.cards[key] = { scores, ts: this.clock.now() };
        v.judged.push(key);
      });
    }
    this.maybeFinishJudging(entry);
  }

  private maybeFinishAnswering(entry: StoredChallenge): void {
    const { view, secret } = entry;
    if (view.state !== 'answering') return;
    if (view.spec.participants.every((p) => secret!.answers[personaKey(p)] || view.forfeits[personaKey(p)] !== undefined)) this.finishAnswering(entry);
  }

  private finishAnswering(entry: StoredChallenge): void {
    const secret = entry.secret!;
    const spec = entry.view.spec;
    const standing = spec.participants.filter((p) => secret.answers[personaKey(p)] && entry.view.forfeits[personaKey(p)] === undefined);
    const order = deterministicShuffle(standing, entry.view.id);
    this.update(entry, (v) => {
      for (const p of spec.participants) {
        const key = personaKey(p);
        if (!secret.answers[key] && v.forfeits[key] === undefined) v.forfeits[key] = `late: no answer within ${Math.round(spec.timeLimitMs / 1000)} s`;
      }
      order.forEach((p, i) => (secret.answers[personaKey(p)]!.label = answerLabel(i)));
      v.answers = order.map((p) => ({ label: secret.answers[personaKey(p)]!.label!, text: secret.answers[personaKey(p)]!.text })).sort((a, b) => (a.label < b.label ? -1 : 1));
      v.state = 'judging';
      v.judgeDeadline = this.clock.now() + spec.judgingMs;
    });
    if (order.length === 0) return this.reveal(entry);
    this.armDeadline(entry);
    this.maybeFinishJudging(entry);
  }

  private maybeFinishJudging(entry: StoredChallenge): void {
    const { view, secret } = entry;
    if (view.state !== 'judging') return;
    if (view.spec.judges.every((j) => view.judged.includes(judgeKey(j)) || secret!.judgeFailures[judgeKey(j)] !== undefined)) this.reveal(entry);
  }

  private reveal(entry: StoredChallenge): void {
    if (!activeStates.has(entry.view.state)) return;
    const secret = entry.secret!;
    const view = entry.view;
    const answers = new Map<string, { label: string; text: string }>();
    for (const [key, answer] of Object.entries(secret.answers)) if (answer.label !== undefined) answers.set(key, { label: answer.label, text: answer.text });
    const scores: JudgeScores[] = view.spec.judges
      .filter((j) => secret.cards[judgeKey(j)])
      .map((judge) => ({ judge, scores: secret.cards[judgeKey(judge)]!.scores as JudgeScores['scores'], ts: secret.cards[judgeKey(judge)]!.ts }));
    const results = rankAnswers({ participants: view.spec.participants, weights: view.spec.weights, answers, forfeits: view.forfeits, scores });
    this.deadlines.get(view.id)?.cancel();
    this.deadlines.delete(view.id);
    this.update(entry, (v) => {
      v.state = 'revealed';
      v.results = results;
      v.scores = scores;
    });
    this.post(entry.view, revealText(entry.view));
    this.logger.info(`challenge ${view.id.slice(0, 8)} revealed: ${results.map((r) => `${r.rank}. ${r.persona.name}`).join(', ')}`);
    const academy = this.options.academy?.();
    if (!academy) {
      this.logger.warn(`challenge ${view.id.slice(0, 8)}: the academy is not available, so its results update no rating`);
      return;
    }
    try {
      const signals = recordChallengeResults(academy, entry.view, results);
      this.logger.info(`challenge ${view.id.slice(0, 8)}: ${signals.length} academy signal(s) recorded`);
    } catch (error) {
      this.logger.error(`challenge ${view.id.slice(0, 8)}: its results could not be recorded: ${(error as Error).message}`);
    }
  }

  /** A node taking part left: its participants forfeit, its judges are out. */
  private nodeLeft(entry: StoredChallenge, nodeId: string, reason: string): void {
    const view = entry.view;
    if (!activeStates.has(view.state) || view.coordinator !== this.nodeId) return;
    const personas = view.spec.participants.filter((p) => p.nodeId === nodeId && view.forfeits[personaKey(p)] === undefined);
    const judges = view.spec.judges.filter((j) => j.nodeId === nodeId && !view.judged.includes(judgeKey(j)) && entry.secret!.judgeFailures[judgeKey(j)] === undefined);
    if (personas.length === 0 && judges.length === 0) return;
    this.update(entry, (v) => {
      for (const p of personas) v.forfeits[personaKey(p)] = `left the challenge: ${reason}`;
      for (const j of judges) entry.secret!.judgeFailures[judgeKey(j)] = reason;
    });
    for (const p of personas) this.logger.info(`challenge ${view.id.slice(0, 8)}: ${p.name} forfeits (${reason})`);
    this.maybeFinishAnswering(entry);
    this.maybeFinishJudging(entry);
  }

  // ---------------------------------------------------------------- nodes taking part

  private onMessage(message: PortMessage): void {
    if (!this.running) return;
    const body = message.body as Partial<ChallengeMeshMessage> | null;
    if (typeof body !== 'object' || body === null || typeof body.kind !== 'string') {
      this.logger.warn(`dropped a malformed challenge message from ${message.from.slice(0, 7)}`);
      return;
    }
    if (body.kind === 'state') return this.onState(body.challenge, message.from);
    if ((body.kind === 'answer' || body.kind === 'scores') && typeof body.challengeId === 'string') return this.onCoordinatorMessage(body as ChallengeMeshMessage, message.from);
    this.logger.warn(`dropped a challenge message of kind ${String(body.kind).slice(0, 20)} from ${message.from.slice(0, 7)}`);
  }

  private onState(value: unknown, from: string): void {
    const problem = viewProblem(value);
    if (problem) return this.logger.warn(`dropped a challenge state from ${from.slice(0, 7)}: ${problem}`);
    const view = value as ChallengeView;
    if (view.coordinator !== from) return this.logger.warn(`dropped a challenge state from ${from.slice(0, 7)}: it is not the coordinator`);
    const held = this.entries.get(view.id);
    // A challenge already closed here stays closed (a coordinator back after we cancelled is too late).
    if (held && !activeStates.has(held.view.state)) return;
    if (activeStates.has(view.state)) this.expectCoordinator(view);
    else this.forgetCoordinator(view.id);
    if (held && held.view.version >= view.version) return;
    const entry: StoredChallenge = { view };
    this.entries.set(view.id, entry);
    this.save(entry);
    this.emit('changed', view);
    if (!activeStates.has(view.state)) this.abortTasks(view.id);
    this.act(view);
  }

  /** What this node does for a challenge in its current state: answer for its participants, score for its AI judges. */
  private act(view: ChallengeView): void {
    if (view.state === 'answering') {
      const local = new Set(this.options.localPersonas());
      for (const persona of view.spec.participants) {
        if (persona.nodeId !== this.nodeId || view.forfeits[personaKey(persona)] !== undefined) continue;
        if (!this.claim(view.id, 'answer', persona.personaId)) continue;
        if (!local.has(persona.personaId)) {
          this.toCoordinator(view, { kind: 'answer', challengeId: view.id, personaId: persona.personaId, forfeit: `${persona.name} is not available on its node` });
          continue;
        }
        this.run(view, view.answerDeadline, (signal) => this.answer(view, persona, signal));
      }
    } else if (view.state === 'judging' && view.answers && view.judgeDeadline !== undefined) {
      for (const judge of view.spec.judges) {
        if (judge.kind !== 'persona' || judge.nodeId !== this.nodeId || view.judged.includes(judgeKey(judge))) continue;
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
      if (!this.running) return;
      const reason = signal.aborted ? `late: no answer within ${Math.round(view.spec.timeLimitMs / 1000)} s` : `its brain failed: ${(error as Error).message}`;
      message = { kind: 'answer', challengeId: view.id, personaId: persona.personaId, forfeit: reason.slice(0, 300) };
    }
    this.logger.info(`challenge ${view.id.slice(0, 8)}: ${persona.name} ${message.kind === 'answer' && message.text ? 'answered' : `forfeits (${(message as { forfeit?: string }).forfeit})`}`);
    this.toCoordinator(view, message);
  }

  private async judge(view: ChallengeView, judge: JudgeRef, signal: AbortSignal): Promise<void> {
    let message: ChallengeMeshMessage;
    try {
      const scores = await scoreWithBrain(this.options.prompt, judge.participantId, view.spec, view.answers!, signal);
      message = { kind: 'scores', challengeId: view.id, judge, scores };
    } catch (error) {
      if (!this.running) return;
      const reason = signal.aborted ? 'no scores before the judging deadline' : (error as Error).message;
      this.logger.warn(`challenge ${view.id.slice(0, 8)}: judge ${judge.name} could not score: ${reason}`);
      message = { kind: 'scores', challengeId: view.id, judge, failed: reason.slice(0, 300) };
    }
    this.toCoordinator(view, message);
  }

  private run(view: ChallengeView, deadline: number, work: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    const list = this.controllers.get(view.id) ?? [];
    list.push(controller);
    this.controllers.set(view.id, list);
    const timer = this.clock.setTimeout(() => controller.abort(), Math.max(0, deadline - this.clock.now()));
    const task = work(controller.signal)
      .catch((error: unknown) => this.logger.error(`challenge ${view.id.slice(0, 8)}: ${(error as Error).message}`))
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

  private claim(challengeId: string, role: string, id: string): boolean {
    const key = `${challengeId}|${role}|${id}`;
    if (this.started.has(key)) return false;
    this.started.add(key);
    return true;
  }

  private toCoordinator(view: ChallengeView, message: ChallengeMeshMessage): void {
    if (!this.running) return;
    if (view.coordinator === this.nodeId) {
      // Through the event loop, as a message from a peer would come: never inside the caller's update.
      queueMicrotask(() => {
        if (this.running) this.onCoordinatorMessage(message, this.nodeId);
      });
      return;
    }
    this.options.transport.sendTo(view.coordinator, challengeTopics.node(view.coordinator), message);
  }

  // ---------------------------------------------------------------- peers

  private get coordinatorTimeoutMs(): number {
    return this.options.coordinatorTimeoutMs ?? 30_000;
  }

  /** A participant's node that leaves (its session to the coordinator drops) forfeits its personas. */
  private peerDown(nodeId: string): void {
    if (!this.running) return;
    for (const entry of [...this.entries.values()]) {
      if (activeStates.has(entry.view.state) && entry.view.coordinator === this.nodeId) this.nodeLeft(entry, nodeId, 'its node left the mesh');
    }
  }

  /** The coordinator was heard from: it has `coordinatorTimeoutMs` to be heard from again. */
  private expectCoordinator(view: ChallengeView): void {
    this.forgetCoordinator(view.id);
    const timeoutMs = this.coordinatorTimeoutMs;
    this.coordinatorWatch.set(
      view.id,
      this.clock.setTimeout(() => {
        this.coordinatorWatch.delete(view.id);
        const entry = this.entries.get(view.id);
        if (!this.running || !entry || !activeStates.has(entry.view.state)) return;
        this.cancel(entry, `the coordinator left the mesh: nothing heard from it for ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs),
    );
  }

  private forgetCoordinator(challengeId: string): void {
    this.coordinatorWatch.get(challengeId)?.cancel();
    this.coordinatorWatch.delete(challengeId);
  }

  /** The coordinator's sign of life: the current state of each open challenge, again. */
  private resendActive(): void {
    for (const entry of this.entries.values()) if (entry.view.coordinator === this.nodeId && activeStates.has(entry.view.state)) this.sendState(entry.view);
  }

  private cancel(entry: StoredChallenge, reason: string): void {
    this.abortTasks(entry.view.id);
    this.forgetCoordinator(entry.view.id);
    this.deadlines.get(entry.view.id)?.cancel();
    this.deadlines.delete(entry.view.id);
    const view = { ...entry.view, state: 'cancelled' as const, cancelReason: reason, version: entry.view.version + 1, updatedAt: this.clock.now() };
    entry.view = view;
    this.save(entry);
    this.emit('changed', view);
    this.logger.warn(`challenge ${view.id.slice(0, 8)} "${view.spec.title}" cancelled: ${reason}`);
    if (view.coordinator === this.nodeId) {
      this.publishState(entry);
      this.post(view, cancellationText(view));
    }
  }

  // ---------------------------------------------------------------- plumbing

  /** Applies a change on the coordinator: new version, stored, announced to the nodes taking part. */
  private update(entry: StoredChallenge, mutate: (view: ChallengeView, secret: ChallengeSecret) => void): void {
    const view = structuredClone(entry.view);
    mutate(view, entry.secret!);
    view.version = entry.view.version + 1;
    view.updatedAt = this.clock.now();
    entry.view = view;
    this.save(entry);
    this.publishState(entry);
  }

  private publishState(entry: StoredChallenge): void {
    const view = entry.view;
    this.emit('changed', view);
    this.sendState(view);
    this.act(view);
  }

  private sendState(view: ChallengeView): void {
    const members = new Set([...view.spec.participants.map((p) => p.nodeId), ...view.spec.judges.map((j) => j.nodeId)]);
    members.delete(this.nodeId);
    for (const nodeId of members) this.options.transport.sendTo(nodeId, challengeTopics.node(nodeId), { kind: 'state', challenge: view } satisfies ChallengeMeshMessage);
  }

  private save(entry: StoredChallenge): void {
    try {
      this.challengeStore?.save(entry);
    } catch (error) {
      this.logger.error(`challenge ${entry.view.id.slice(0, 8)} could not be stored: ${(error as Error).message}`);
    }
  }

  private post(view: ChallengeView, text: string): void {
    const rooms = this.options.rooms;
    if (!rooms) return;
    try {
      rooms.join(view.spec.roomId, systemAuthor);
      rooms.send({ roomId: view.spec.roomId, text, metadata: { challenge: { id: view.id, state: view.state } } }, systemAuthor);
    } catch (error) {
      this.logger.warn(`challenge ${view.id.slice(0, 8)}: could not post in room ${view.spec.roomId}: ${(error as Error).message}`);
    }
  }

  private requireRunning(): void {
    if (!this.running) throw new ServiceError('unavailable', 'challenges are not available: the node is not running or its database could not be opened');
  }
}
