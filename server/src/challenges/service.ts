/**
 * Challenges on this node, by role: the coordinator of the ones started here (coordinator.ts: the
 * state machine, deadlines, answers and cards, the reveal) and a node taking part in any of them
 * (participant.ts: answering and judging through the personas' brains, its person's card, a copy
 * of each state, cancelling when the coordinator falls silent). Both work on the challenges held
 * here (held.ts). This service composes them behind one API and routes this node's challenge
 * topic: states go to the participant role, answers and cards to the coordinator role.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { challengeTopics, type ChallengeMeshMessage, type ChallengeSpec, type ChallengeView, type SubmitScoresParams } from '../../../protocol/challenges';
import { ServiceError } from '../../../protocol/errors';
import type { LocalParticipant } from '../../../protocol/rooms';
import type { PortMessage } from '../kernel/meshPort';
import type { Db } from '../store/database';
import type { ChallengeAcademy } from './academyFeed';
import type { PromptPersona } from './aiJudge';
import { ChallengeCoordinator } from './coordinator';
import { HeldChallenges, type RoleContext } from './held';
import { ChallengeParticipant } from './participant';
import type { ChallengeTransport } from './transport';

/** Where a challenge is announced: the rooms, as far as the service posts in them (Rooms fits). */
export interface ChallengeRooms {
  join(roomId: string, as: LocalParticipant): unknown;
  send(params: { roomId: string; text: string; metadata: Record<string, unknown> }, as: LocalParticipant): unknown;
}

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
  rooms?: ChallengeRooms;
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

export class ChallengeService extends EventEmitter<ChallengeServiceEvents> implements Component {
  readonly name = 'challenges';
  readonly nodeId: string;
  private readonly logger: Logger;
  private readonly held: HeldChallenges;
  private readonly coordinator: ChallengeCoordinator;
  private readonly participant: ChallengeParticipant;
  private unsubscribe: (() => void) | undefined;
  private running = false;

  constructor(private readonly options: ChallengeServiceOptions) {
    super();
    this.nodeId = options.transport.localNodeId;
    const clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('challenges');
    this.held = new HeldChallenges(clock, this.logger, (view) => this.emit('changed', view));
    const context: RoleContext = {
      nodeId: this.nodeId,
      clock,
      logger: this.logger,
      transport: options.transport,
      held: this.held,
      coordinatorTimeoutMs: options.coordinatorTimeoutMs ?? 30_000,
      running: () => this.running,
    };
    // Each role reaches the other on this node directly: the coordinator's node takes part too.
    this.coordinator = new ChallengeCoordinator({
      ...context,
      ...(options.knownPersonas ? { knownPersonas: options.knownPersonas } : {}),
      ...(options.academy ? { academy: options.academy } : {}),
      ...(options.newId ? { newId: options.newId } : {}),
      post: (view, text) => this.post(view, text),
      act: (view) => this.participant.act(view),
    });
    this.participant = new ChallengeParticipant({
      ...context,
      prompt: options.prompt,
      localPersonas: options.localPersonas,
      coordinator: this.coordinator,
    });
  }

  // ---------------------------------------------------------------- lifecycle

  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.held.open(this.options.store.db);
    this.unsubscribe = this.options.transport.subscribe(challengeTopics.node(this.nodeId), (message) => this.route(message));
    this.participant.start();
    this.coordinator.start();
    this.logger.info(`challenges ready: ${this.held.size} held`);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.coordinator.stop();
    await this.participant.stop();
    this.held.close();
  }

  /** Resolves when no answer or judgement is being written here (tests). */
  idle(): Promise<void> {
    return this.participant.idle();
  }

  // ---------------------------------------------------------------- API

  /** Every challenge this node holds, newest first. */
  list(): ChallengeView[] {
    return this.held.list();
  }

  get(id: string): ChallengeView | undefined {
    return this.held.entry(id)?.view;
  }

  /** Starts a challenge coordinated by this node. */
  create(spec: ChallengeSpec): ChallengeView {
    this.requireRunning();
    return this.coordinator.create(spec);
  }

  /** This node's person submits their card for a challenge being judged. */
  submitScores(params: SubmitScoresParams): ChallengeView {
    this.requireRunning();
    return this.participant.submitScores(params);
  }

  // ---------------------------------------------------------------- plumbing

  private route(message: PortMessage): void {
    if (!this.running) return;
    const body = message.body as Partial<ChallengeMeshMessage> | null;
    if (typeof body !== 'object' || body === null || typeof body.kind !== 'string') {
      this.logger.warn(`dropped a malformed challenge message from ${message.from.slice(0, 7)}`);
      return;
    }
    if (body.kind === 'state') return this.participant.receiveState(body.challenge, message.from);
    if ((body.kind === 'answer' || body.kind === 'scores') && typeof body.challengeId === 'string') return this.coordinator.receive(body as ChallengeMeshMessage, message.from);
    this.logger.warn(`dropped a challenge message of kind ${String(body.kind).slice(0, 20)} from ${message.from.slice(0, 7)}`);
  }

  /** The room is reached here only, so the roles need no part of rooms/. */
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
