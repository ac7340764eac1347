/**
 * The coordinator role: this node started the challenge, so it owns the state machine
 *
 *   announced → answering → judging → revealed        (or → cancelled from any of the first three)
 *
 * It collects the answers and the judges' cards (the secret part, kept until the reveal), arms the
 * answer and judging deadlines, ranks and reveals, and records the results in the academy. Every
 * change is written to libsql before it is sent as a snapshot to every node taking part
 * (protocol/challenges.ts); a restarted coordinator re-arms its deadlines from the stored
 * (wall-clock) times. Its state goes out again every third of `coordinatorTimeoutMs`, the sign of
 * life the nodes taking part wait for (participant.ts).
 */
import { randomBytes } from 'node:crypto';
import type { TimerHandle } from '../kernel/clock';
import { personaKey } from '../../../protocol/academy';
import { challengeLimits, challengeTopics, judgeKey, type ChallengeMeshMessage, type ChallengeSpec, type ChallengeView, type JudgeScores } from '../../../protocol/challenges';
import { ServiceError } from '../../../protocol/errors';
import { recordChallengeResults, type ChallengeAcademy } from './academyFeed';
import { announcementText, cancellationText, revealText } from './announcements';
import type { ChallengeSecret, StoredChallenge } from './challengeStore';
import { isActive, type RoleContext } from './held';
import { rankAnswers } from './ranking';
import { answerLabel, deterministicShuffle } from './shuffle';
import { cleanScores, judgeProblem, scoresProblem, specProblem } from './validate';

export interface CoordinatorOptions extends RoleContext {
  /** Every persona on the mesh, to refuse a challenge naming one nobody hosts. */
  knownPersonas?: () => { nodeId: string; id: string }[];
  /** Where results go; a provider since the academy may start later. */
  academy?: () => ChallengeAcademy | undefined;
  newId?: () => string;
  /** Posts in the challenge's room (announcement, reveal, cancellation). */
  post: (view: ChallengeView, text: string) => void;
  /** This node takes part in its own challenges too: it answers and judges on each new state. */
  act: (view: ChallengeView) => void;
}

export class ChallengeCoordinator {
  private readonly deadlines = new Map<string, TimerHandle>();
  private heartbeat: TimerHandle | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: CoordinatorOptions) {}

  /** Resumes the held challenges coordinated here and starts the sign of life. */
  start(): void {
    const { clock, transport, held, nodeId, coordinatorTimeoutMs } = this.options;
    this.unsubscribe = transport.onPeerDown((peer) => this.peerDown(peer));
    for (const entry of held.all()) if (isActive(entry.view) && entry.view.coordinator === nodeId) this.resume(entry);
    this.heartbeat = clock.setInterval(() => this.resendActive(), Math.max(1, Math.floor(coordinatorTimeoutMs / 3)));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    for (const timer of this.deadlines.values()) timer.cancel();
    this.deadlines.clear();
  }

  /** Starts a challenge coordinated by this node. */
  create(spec: ChallengeSpec): ChallengeView {
    const { clock, held, logger, nodeId } = this.options;
    const problem = specProblem(spec);
    if (problem) throw new ServiceError('invalid', problem);
    const known = this.options.knownPersonas?.();
    if (known) {
      const has = (node: string, id: string) => known.some((p) => p.nodeId === node && p.id === id);
      const missing = spec.participants.find((p) => !has(p.nodeId, p.personaId)) ?? spec.judges.find((j) => j.kind === 'persona' && !has(j.nodeId, j.participantId));
      if (missing) throw new ServiceError('not-found', `${missing.name} is not on the mesh right now`);
    }
    const now = clock.now();
    const view: ChallengeView = {
      id: this.options.newId?.() ?? randomBytes(16).toString('hex'),
      coordinator: nodeId,
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
    held.set(entry);
    held.save(entry);
    this.options.post(view, announcementText(view));
    logger.info(`challenge ${view.id.slice(0, 8)} "${spec.title}" announced: ${spec.participants.length} participants, ${spec.judges.length} judges`);
    this.publishState(entry);
    this.update(entry, (v) => (v.state = 'answering'));
    this.armDeadline(entry);
    return entry.view;
  }

  /** An answer or a card from a node taking part (this one included). */
  receive(body: ChallengeMeshMessage, from: string): void {
    if (body.kind === 'state') return;
    const { logger } = this.options;
    const entry = this.options.held.entry(body.challengeId);
    if (!entry || entry.view.coordinator !== this.options.nodeId || !entry.secret) {
      logger.debug(`dropped a challenge ${body.kind} from ${from.slice(0, 7)}: not a challenge coordinated here`);
      return;
    }
    const view = entry.view;
    const secret = entry.secret;
    if (body.kind === 'answer') {
      const persona = view.spec.participants.find((p) => p.nodeId === from && p.personaId === body.personaId);
      if (!persona) return logger.warn(`dropped an answer from ${from.slice(0, 7)}: ${String(body.personaId).slice(0, 64)} is not a participant it hosts`);
      const key = personaKey(persona);
      if (view.state !== 'answering' || secret.answers[key] || view.forfeits[key] !== undefined) {
        logger.debug(`ignored a late or repeated answer of ${key}`);
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
    if (!judge || judge.nodeId !== from) return logger.warn(`dropped scores from ${from.slice(0, 7)}: not a judge it hosts`);
    const key = judgeKey(judge);
    if (view.state !== 'judging' || !view.answers || view.judged.includes(key) || secret.judgeFailures[key] !== undefined) return;
    if (typeof body.failed === 'string') {
      logger.warn(`judge ${judge.name} could not score: ${body.failed}`);
      this.update(entry, () => (secret.judgeFailures[key] = body.failed!.slice(0, 300)));
    } else {
      const labels = view.answers.map((a) => a.label);
      const scoreProblem = scoresProblem(body.scores, labels);
      if (scoreProblem) return logger.warn(`dropped the scores of ${judge.name}: ${scoreProblem}`);
      const scores = cleanScores(body.scores as Record<string, Record<string, number>>, labels);
      this.update(entry, (v) => {
        secret.cards[key] = { scores, ts: this.options.clock.now() };
        v.judged.push(key);
      });
    }
    this.maybeFinishJudging(entry);
  }

  /** Cancels a challenge coordinated here: its deadline goes, and the nodes taking part and the room are told. */
  cancel(entry: StoredChallenge, reason: string): void {
    this.disarm(entry.view.id);
    const view = this.options.held.cancel(entry, reason);
    this.publishState(entry);
    this.options.post(view, cancellationText(view));
  }

  private resume(entry: StoredChallenge): void {
    if (entry.view.state === 'announced') this.update(entry, (v) => (v.state = 'answering'));
    else this.sendState(entry.view);
    this.armDeadline(entry);
    this.options.logger.info(`challenge ${entry.view.id.slice(0, 8)} resumed (${entry.view.state})`);
  }

  private armDeadline(entry: StoredChallenge): void {
    const { clock } = this.options;
    const view = entry.view;
    this.deadlines.get(view.id)?.cancel();
    const at = view.state === 'answering' ? view.answerDeadline : view.state === 'judging' ? view.judgeDeadline : undefined;
    if (at === undefined) return;
    const state = view.state;
    this.deadlines.set(
      view.id,
      clock.setTimeout(() => {
        this.deadlines.delete(view.id);
        if (!this.options.running() || entry.view.state !== state) return;
        if (state === 'answering') this.finishAnswering(entry);
        else this.reveal(entry);
      }, Math.max(0, at - clock.now())),
    );
  }

  private disarm(challengeId: string): void {
    this.deadlines.get(challengeId)?.cancel();
    this.deadlines.delete(challengeId);
  }

  private maybeFinishAnswering(entry: StoredChallenge): void {
    const { view, secret } = entry;
    if (view.state !== 'answering') return;
    if (view.spec.participants.every((p) => secret!.answers[personaKey(p)] || view.forfeits[personaKey(p)] !== undefined)) this.finishAnswering(entry);
  }

  /** Labels the answers in an order only the challenge id decides, so judges score them blind. */
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
      v.judgeDeadline = this.options.clock.now() + spec.judgingMs;
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
    if (!isActive(entry.view)) return;
    const { logger } = this.options;
    const secret = entry.secret!;
    const view = entry.view;
    const answers = new Map<string, { label: string; text: string }>();
    for (const [key, answer] of Object.entries(secret.answers)) if (answer.label !== undefined) answers.set(key, { label: answer.label, text: answer.text });
    const scores: JudgeScores[] = view.spec.judges
      .filter((j) => secret.cards[judgeKey(j)])
      .map((judge) => ({ judge, scores: secret.cards[judgeKey(judge)]!.scores as JudgeScores['scores'], ts: secret.cards[judgeKey(judge)]!.ts }));
    const results = rankAnswers({ participants: view.spec.participants, weights: view.spec.weights, answers, forfeits: view.forfeits, scores });
    this.disarm(view.id);
    this.update(entry, (v) => {
      v.state = 'revealed';
      v.results = results;
      v.scores = scores;
    });
    this.options.post(entry.view, revealText(entry.view));
    logger.info(`challenge ${view.id.slice(0, 8)} revealed: ${results.map((r) => `${r.rank}. ${r.persona.name}`).join(', ')}`);
    const academy = this.options.academy?.();
    if (!academy) {
      logger.warn(`challenge ${view.id.slice(0, 8)}: the academy is not available, so its results update no rating`);
      return;
    }
    try {
      const signals = recordChallengeResults(academy, entry.view, results);
      logger.info(`challenge ${view.id.slice(0, 8)}: ${signals.length} academy signal(s) recorded`);
    } catch (error) {
      logger.error(`challenge ${view.id.slice(0, 8)}: its results could not be recorded: ${(error as Error).message}`);
    }
  }

  /** A participant's node that leaves (its session to the coordinator drops) forfeits its personas. */
  private peerDown(nodeId: string): void {
    if (!this.options.running()) return;
    for (const entry of this.options.held.all()) {
      if (isActive(entry.view) && entry.view.coordinator === this.options.nodeId) this.nodeLeft(entry, nodeId, 'its node left the mesh');
    }
  }

  /** A node taking part left: its participants forfeit, its judges are out. */
  private nodeLeft(entry: StoredChallenge, nodeId: string, reason: string): void {
    const view = entry.view;
    if (!isActive(view) || view.coordinator !== this.options.nodeId) return;
    const personas = view.spec.participants.filter((p) => p.nodeId === nodeId && view.forfeits[personaKey(p)] === undefined);
    const judges = view.spec.judges.filter((j) => j.nodeId === nodeId && !view.judged.includes(judgeKey(j)) && entry.secret!.judgeFailures[judgeKey(j)] === undefined);
    if (personas.length === 0 && judges.length === 0) return;
    this.update(entry, (v) => {
      for (const p of personas) v.forfeits[personaKey(p)] = `left the challenge: ${reason}`;
      for (const j of judges) entry.secret!.judgeFailures[judgeKey(j)] = reason;
    });
    for (const p of personas) this.options.logger.info(`challenge ${view.id.slice(0, 8)}: ${p.name} forfeits (${reason})`);
    this.maybeFinishAnswering(entry);
    this.maybeFinishJudging(entry);
  }

  /** The coordinator's sign of life: the current state of each open challenge, again. */
  private resendActive(): void {
    for (const entry of this.options.held.all()) if (entry.view.coordinator === this.options.nodeId && isActive(entry.view)) this.sendState(entry.view);
  }

  /** Applies a change: new version, stored, announced to the nodes taking part. */
  private update(entry: StoredChallenge, mutate: (view: ChallengeView, secret: ChallengeSecret) => void): void {
    const view = structuredClone(entry.view);
    mutate(view, entry.secret!);
    view.version = entry.view.version + 1;
    view.updatedAt = this.options.clock.now();
    entry.view = view;
    this.options.held.save(entry);
    this.publishState(entry);
  }

  private publishState(entry: StoredChallenge): void {
    const view = entry.view;
    this.options.held.emit(view);
    this.sendState(view);
    this.options.act(view);
  }

  private sendState(view: ChallengeView): void {
    const { nodeId, transport } = this.options;
    const members = new Set([...view.spec.participants.map((p) => p.nodeId), ...view.spec.judges.map((j) => j.nodeId)]);
    members.delete(nodeId);
    for (const member of members) transport.sendTo(member, challengeTopics.node(member), { kind: 'state', challenge: view } satisfies ChallengeMeshMessage);
  }
}
