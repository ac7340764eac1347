/**
 * Evolution of the personas hosted here. A persona evolves when the mean of its last `window`
 * signals in a category falls below the threshold, or when a message to it asks for a capability
 * some persona or genome on the mesh has and it lacks. It then searches the mesh for a genome
 * (through the genome market), adopts the best match (policy: ask the user, automatic, or off),
 * and is measured over the next `window` signals of that category against the window before: the
 * genome is kept when the persona did at least as well, rolled back otherwise. Presence shows
 * "evolving" meanwhile; each step is a system message in the persona's rooms and a
 * PersonaEvolutionEvent on the mesh, which every node keeps as the lineage.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { personaKey, type Signal, type SignalCategory } from '../../../protocol/academy';
import {
  evolutionPolicies,
  evolutionTopic,
  type EvolutionOutcome,
  type EvolutionPolicy,
  type EvolutionProposal,
  type EvolutionTrigger,
  type PersonaEvolutionEvent,
} from '../../../protocol/evolution';
import type { ChatMessage } from '../../../protocol/rooms';
import type { LocalParticipant } from '../../../protocol/rooms';
import type { PortMessage } from '../kernel/meshPort';
import type { Db } from '../store/database';
import { capabilityGap, defaultThresholds, fallingCategory, keepGenome, windowAfter, windowBefore, type EvolutionThresholds } from './evolutionRules';
import { EvolutionStore, type Trial } from './evolutionStore';
import type { AcademyTransport } from './transport';

/** What evolution needs of the genomes: find, adopt and drop a genome for a local persona. */
export interface GenomeMarket {
  /** Genomes on the mesh, best first. */
  search(query: { required: string[]; preferred: string[]; exclude: string[]; maxResults: number; timeoutMs: number }): Promise<GenomeOffer[]>;
  /** Downloads (if needed) and applies the genome to the persona; the persona file records it. */
  adopt(personaId: string, genomeId: string): Promise<void>;
  /** Removes the genome from the persona, restoring its previous state. */
  remove(personaId: string, genomeId: string): Promise<void>;
}

export interface GenomeOffer {
  id: string;
  name: string;
  capabilities: string[];
}

export interface EvolvingPersona {
  id: string;
  name: string;
  capabilities: string[];
  genomes: string[];
  rooms: string[];
}

export interface EvolutionOptions {
  store: { readonly db: Db };
  nodeId: string;
  transport: AcademyTransport;
  academy: {
    on(event: 'signal', listener: (signal: Signal) => void): unknown;
    off(event: 'signal', listener: (signal: Signal) => void): unknown;
    signalsOf(personaKey: string): Signal[];
  };
  rooms: {
    on(event: 'message', listener: (message: ChatMessage) => void): unknown;
    off(event: 'message', listener: (message: ChatMessage) => void): unknown;
    joinedRooms(): string[];
    send(params: { roomId: string; text: string; metadata?: Record<string, unknown> }, as?: LocalParticipant): unknown;
  };
  /** The personas hosted here that can evolve (enabled, healthy). */
  personas: () => EvolvingPersona[];
  /** Whether a message is addressed to a local persona (mention by key or `@id`). */
  addressedTo: (message: ChatMessage, personaId: string) => boolean;
  /** Capability names seen on the mesh (personas and genomes). */
  knownCapabilities: () => string[];
  /** Shows the persona as evolving (with a status text) or back to normal. */
  setEvolving: (personaId: string, text: string | undefined) => void;
  /** The genomes; absent (or returning undefined) while this node has none. */
  market: () => GenomeMarket | undefined;
  /** Policy `ask`: asks the user; absent in a headless node (then `ask` declines). */
  ask?: (proposal: EvolutionProposal) => Promise<boolean>;
  policy?: EvolutionPolicy;
  thresholds?: Partial<EvolutionThresholds>;
  /** No new trial for a persona this long after its last one ended or was declined. Default 10 min. */
  cooldownMs?: number;
  clock?: Clock;
  logger?: Logger;
}

const categories: readonly SignalCategory[] = ['technical', 'collaborative', 'innovative', 'reliable'];
const academyAuthor: LocalParticipant = { participantId: 'academy', displayName: 'Academy', kind: 'system' };

export class Evolution implements Component {
  readonly name = 'evolution';
  private store!: EvolutionStore;
  private policyValue: EvolutionPolicy;
  private readonly thresholds: EvolutionThresholds;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Personas with a search, proposal or adoption in flight. */
  private readonly considering = new Set<string>();
  private readonly cooldownUntil = new Map<string, number>();
  private readonly listeners = new Set<(event: PersonaEvolutionEvent) => void>();
  private unsubscribe: (() => void) | undefined;
  private running = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly options: EvolutionOptions) {
    this.policyValue = options.policy ?? 'ask';
    this.thresholds = { ...defaultThresholds, ...options.thresholds };
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  start(): Promise<void> {
    this.store = new EvolutionStore(this.options.store.db);
    this.options.academy.on('signal', this.onSignal);
    this.options.rooms.on('message', this.onMessage);
    this.unsubscribe = this.options.transport.subscribe(evolutionTopic, this.onRemote);
    this.running = true;
    const measuring = this.store.measuring();
    if (measuring.length > 0) this.logger.info(`evolution: ${measuring.length} trial(s) still being measured`);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.options.academy.off('signal', this.onSignal);
    this.options.rooms.off('message', this.onMessage);
    this.unsubscribe?.();
    await this.pending.catch(() => undefined);
  }

  get policy(): EvolutionPolicy {
    return this.policyValue;
  }

  set policy(policy: EvolutionPolicy) {
    if (!evolutionPolicies.includes(policy)) throw new Error(`the evolution policy must be one of ${evolutionPolicies.join(', ')}`);
    this.policyValue = policy;
  }

  /** The lineage: evolution events of every persona this node has heard of, newest first. */
  history(limit?: number): PersonaEvolutionEvent[] {
    return this.store.events(limit);
  }

  /** Trials of a local persona, oldest first. */
  trialsOf(personaId: string): Trial[] {
    return this.store.trialsOf(personaId);
  }

  onEvent(listener: (event: PersonaEvolutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when no search, adoption or judgement is running (tests; stop). */
  idle(): Promise<void> {
    return this.pending;
  }

  private readonly onSignal = (signal: Signal): void => {
    if (!this.running || signal.persona.nodeId !== this.options.nodeId) return;
    const persona = this.options.personas().find((p) => p.id === signal.persona.personaId);
    if (!persona) return;
    const measuring = this.store.measuring().find((trial) => trial.personaId === persona.id);
    if (measuring) {
      if (signal.category === measuring.category) this.queue(() => this.judge(measuring, persona));
      return;
    }
    const falling = fallingCategory(this.signalsOf(persona.id), categories, this.thresholds);
    if (falling) this.consider(persona, { kind: 'falling-score', category: falling.category, mean: falling.mean, count: falling.count });
  };

  private readonly onMessage = (message: ChatMessage): void => {
    if (!this.running || message.author.kind !== 'human' || message.deleted) return;
    for (const persona of this.options.personas()) {
      if (!this.options.addressedTo(message, persona.id)) continue;
      const capability = capabilityGap(message.text, persona.capabilities, this.options.knownCapabilities());
      if (capability) this.consider(persona, { kind: 'capability-gap', capability, messageId: message.id, roomId: message.roomId });
    }
  };

  private readonly onRemote = (message: PortMessage): void => {
    const event = message.body as PersonaEvolutionEvent;
    if (!isEvolutionEvent(event) || event.persona.nodeId !== message.from) {
      this.logger.debug(`evolution: dropped a malformed event from ${message.from.slice(0, 7)}`);
      return;
    }
    this.remember(event);
  };

  private consider(persona: EvolvingPersona, trigger: EvolutionTrigger): void {
    if (this.policyValue === 'off' || this.considering.has(persona.id)) return;
    if ((this.cooldownUntil.get(persona.id) ?? -Infinity) > this.clock.monotonic()) return;
    const market = this.options.market();
    if (!market) {
      this.logger.debug(`evolution: ${persona.id} would evolve (${describeTrigger(trigger)}) but this node has no genomes component`);
      return;
    }
    this.considering.add(persona.id);
    this.queue(async () => {
      try {
        await this.tryGenome(persona, trigger, market);
      } finally {
        this.considering.delete(persona.id);
      }
    });
  }

  private async tryGenome(persona: EvolvingPersona, trigger: EvolutionTrigger, market: GenomeMarket): Promise<void> {
    const tried = this.store.trialsOf(persona.id).map((trial) => trial.genome.id);
    const exclude = [...new Set([...persona.genomes, ...tried])];
    const required = trigger.kind === 'capability-gap' ? [trigger.capability] : [];
    let offers: GenomeOffer[];
    try {
      offers = await market.search({ required, preferred: persona.capabilities, exclude, maxResults: 5, timeoutMs: 3000 });
    } catch (error) {
      this.logger.warn(`evolution: the genome search for ${persona.id} failed: ${(error as Error).message}`);
      return this.coolDown(persona.id);
    }
    const genome = offers.find((offer) => !exclude.includes(offer.id));
    if (!genome) {
      this.logger.info(`evolution: ${persona.id} would evolve (${describeTrigger(trigger)}) but no genome on the mesh fits`);
      return this.coolDown(persona.id);
    }
    const category: SignalCategory = trigger.kind === 'falling-score' ? trigger.category : 'technical';
    const before = windowBefore(this.signalsOf(persona.id), category, this.thresholds.window);
    const trial: Trial = {
      id: createHash('sha256').update(`${this.options.nodeId}/${persona.id}/${genome.id}/${this.clock.now()}`).digest('hex').slice(0, 16),
      personaId: persona.id,
      genome: { id: genome.id, name: genome.name, capabilities: [...genome.capabilities] },
      trigger,
      category,
      before,
      capabilitiesBefore: [...persona.capabilities],
      state: 'measuring',
      startedTs: this.clock.now(),
    };
    if (this.policyValue === 'ask') {
      const proposal: EvolutionProposal = { personaId: persona.id, personaName: persona.name, genome: trial.genome, reason: describeTrigger(trigger) };
      const adopt = this.options.ask ? await this.options.ask(proposal).catch(() => false) : false;
      if (!adopt) {
        this.logger.info(`evolution: adopting ${genome.name} for ${persona.id} was declined${this.options.ask ? '' : ' (policy ask, and nobody to ask on a headless node)'}`);
        this.publish(trial, 'declined', persona);
        return this.coolDown(persona.id);
      }
    }
    if (!this.running) return;
    this.options.setEvolving(persona.id, `evolving: trying genome ${genome.name}`);
    try {
      await market.adopt(persona.id, genome.id);
    } catch (error) {
      const reason = (error as Error).message;
      this.logger.warn(`evolution: ${persona.id} could not adopt ${genome.name}: ${reason}`);
      this.options.setEvolving(persona.id, undefined);
      this.publish({ ...trial, state: 'failed' }, 'failed', persona, reason);
      return this.coolDown(persona.id);
    }
    this.store.saveTrial(trial);
    this.say(persona, `🧬 ${persona.name} is trying the genome **${genome.name}** (${describeTrigger(trigger)}); it will be measured over the next ${this.thresholds.window} ${category} signals against ${formatMean(before.mean)} before.`);
    this.publish(trial, 'adopted', persona);
  }

  private async judge(trial: Trial, persona: EvolvingPersona): Promise<void> {
    const current = this.store.measuring().find((t) => t.id === trial.id);
    if (!current) return;
    const after = windowAfter(this.signalsOf(persona.id), current.category, this.thresholds.window, current.startedTs);
    if (after.count < this.thresholds.window) return;
    const keep = keepGenome(current.before, after);
    let reason: string | undefined;
    if (!keep) {
      const market = this.options.market();
      try {
        if (!market) throw new Error('this node has no genomes component any more');
        await market.remove(persona.id, current.genome.id);
      } catch (error) {
        reason = `the rollback failed: ${(error as Error).message}`;
        this.logger.warn(`evolution: ${persona.id}: ${reason}`);
      }
    }
    const judged: Trial = { ...current, state: keep ? 'kept' : reason ? 'failed' : 'rolled-back' };
    this.store.saveTrial(judged);
    this.options.setEvolving(persona.id, undefined);
    const change = `${formatMean(current.before.mean)} → ${formatMean(after.mean)}`;
    this.say(persona, keep ? `🧬 ${persona.name} keeps the genome **${current.genome.name}**: ${current.category} ${change}.` : `🧬 ${persona.name} dropped the genome **${current.genome.name}**: ${current.category} ${change}${reason ? ` (${reason})` : ''}.`);
    this.publish(judged, keep ? 'kept' : reason ? 'failed' : 'rolled-back', persona, reason, after);
    this.coolDown(persona.id);
  }

  private publish(trial: Trial, outcome: EvolutionOutcome, persona: EvolvingPersona, reason?: string, after?: { mean: number; count: number }): void {
    const adopted = outcome === 'adopted' || outcome === 'kept';
    const event: PersonaEvolutionEvent = {
      id: `${this.options.nodeId}/${persona.id}/${trial.id}/${outcome}`,
      persona: { nodeId: this.options.nodeId, personaId: persona.id, name: persona.name },
      trialId: trial.id,
      trigger: trial.trigger,
      genome: trial.genome,
      capabilitiesBefore: trial.capabilitiesBefore,
      capabilitiesAfter: adopted ? [...new Set([...trial.capabilitiesBefore, ...trial.genome.capabilities])] : trial.capabilitiesBefore,
      outcome,
      measured: { category: trial.category, before: trial.before.mean, beforeCount: trial.before.count, ...(after ? { after: after.mean, afterCount: after.count } : {}) },
      ...(reason ? { reason } : {}),
      ts: this.clock.now(),
    };
    this.remember(event);
    try {
      this.options.transport.publish(evolutionTopic, event);
    } catch (error) {
      this.logger.debug(`evolution event not sent: ${(error as Error).message}`);
    }
  }

  private remember(event: PersonaEvolutionEvent): void {
    if (!this.store.addEvent(event)) return;
    for (const listener of this.listeners) listener(event);
  }

  private say(persona: EvolvingPersona, text: string): void {
    const joined = new Set(this.options.rooms.joinedRooms());
    for (const roomId of persona.rooms.filter((room) => joined.has(room))) {
      try {
        this.options.rooms.send({ roomId, text, metadata: { evolution: { personaId: persona.id } } }, academyAuthor);
      } catch (error) {
        this.logger.debug(`evolution notice not posted in ${roomId}: ${(error as Error).message}`);
      }
    }
  }

  private signalsOf(personaId: string): Signal[] {
    return this.options.academy.signalsOf(personaKey({ nodeId: this.options.nodeId, personaId }));
  }

  private coolDown(personaId: string): void {
    this.cooldownUntil.set(personaId, this.clock.monotonic() + (this.options.cooldownMs ?? 10 * 60_000));
  }

  private queue(work: () => Promise<void>): void {
    this.pending = this.pending.then(work).catch((error: unknown) => this.logger.warn(`evolution: ${(error as Error).message}`));
  }
}

function describeTrigger(trigger: EvolutionTrigger): string {
  return trigger.kind === 'falling-score'
    ? `its ${trigger.category} score over the last ${trigger.count} signals is ${formatMean(trigger.mean)}`
    : `it was asked about ${trigger.capability}, which it lacks`;
}

const formatMean = (value: number): string => (value >= 0 ? `+${value.toFixed(2)}` : value.toFixed(2));

function isEvolutionEvent(value: unknown): value is PersonaEvolutionEvent {
  const event = value as PersonaEvolutionEvent | undefined;
  return (
    typeof event === 'object' &&
    event !== null &&
    typeof event.id === 'string' &&
    event.id.length <= 300 &&
    typeof event.persona?.nodeId === 'string' &&
    typeof event.persona.personaId === 'string' &&
    typeof event.genome?.id === 'string' &&
    typeof event.ts === 'number' &&
    ['adopted', 'kept', 'rolled-back', 'declined', 'failed'].includes(event.outcome) &&
    JSON.stringify(event).length <= 16 * 1024
  );
}
