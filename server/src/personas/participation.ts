/**
 * Personas hosted by this node taking part in rooms: they join the rooms their files name, show
 * their presence (online, busy while answering, away with the reason when degraded), and answer
 * when @mentioned, speaking through Rooms.send as the persona participant.
 *
 * Loops and floods: each persona has a per-minute reply budget and a per-room cooldown. A human's
 * mention always gets an answer: when a limit is hit it waits (a short queue per persona) until the
 * limit allows. A persona's mention is answered only if the limits allow it now and the chain of
 * persona-to-persona replies is shorter than both the persona's `maxChainDepth` and the node's cap.
 * Replies carry `metadata.persona = {id, chain}` so every node can tell the chain depth.
 *
 * Who answers a message nobody was mentioned in, or a persona several nodes host, is settled by a
 * round of bids among the nodes (bidding.ts). Persona messages are never bid on (only mentions
 * continue a persona-to-persona chain). The reply itself streams into the room (replyStream.ts).
 */
import { systemClock, type Clock, type TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import type { PersonaDefinition, PersonaSummary } from '../../../protocol/personas';
import type { ChatMessage } from '../../../protocol/rooms';
import type { Rooms } from '../rooms/rooms';
import type { LocalParticipant } from '../../../protocol/rooms';
import type { MeshPort } from '../kernel/meshPort';
import { BrainError, type Brain, type BrainMessage } from './brains/brain';
import type { PersonaRegistry } from './registry';
import { buildContext } from './contextWindow';
import { profileScores } from './profileMatch';
import { relevance } from './relevance';
import { BidRounds, messageKey, type Bid } from './bidding';
import { chainDepth, mentions, stripMentions, fitMessage } from './mentions';
import { ReplyStream } from './replyStream';

/** What participation needs of the registry (PersonaRegistry fits). */
export type PersonaSource = Pick<PersonaRegistry, 'list' | 'get' | 'setBusy' | 'setBrainProblem' | 'on' | 'off'>;

export interface ParticipationOptions {
  rooms: Rooms;
  personas: PersonaSource;
  /** Makes the brain of a persona; called again when the persona's file changes. */
  createBrain: (persona: PersonaDefinition) => Brain;
  clock?: Clock;
  logger?: Logger;
  /** Node-wide cap on persona-to-persona reply chains (each persona's own cap also applies). Default 3. */
  maxChainDepth?: number;
  /** Messages older than this (by their timestamp) are history, never answered. Default 2 minutes. */
  maxMessageAgeMs?: number;
  /** Post a partial reply once the brain has taken this long. Default 800 ms. */
  firstFlushMs?: number;
  /** Then edit it at most this often. Default 500 ms. */
  streamIntervalMs?: number;
  /** Recent room messages given to the brain. Default 20. */
  contextMessages?: number;
  /** How often a degraded persona's brain is probed (if it can be). Default 30 s. */
  probeIntervalMs?: number;
  /** Human mentions waiting for a rate limit, per persona. Default 5. */
  maxQueuedMentions?: number;
  /** Every persona on the mesh (the directory): the corpus a message's profile match is scored in. */
  profiles?: () => readonly PersonaSummary[];
  /** Where bids travel; without it only this node's personas compete. */
  transport?: Pick<MeshPort, 'publish' | 'subscribe'>;
  /** How long bids are collected before the best one answers. Default 1500 ms. */
  bidWindowMs?: number;
}

interface Job {
  message: ChatMessage;
  persona: string;
  chain: number;
  fromHuman: boolean;
}

interface PersonaRuntime {
  /** Monotonic times of replies in the last minute. */
  replies: number[];
  /** room → monotonic time of the last reply. */
  lastReplyIn: Map<string, number>;
  queue: Job[];
  running: boolean;
  wake?: TimerHandle;
  /** Probes a failing brain until it works again. */
  probe?: TimerHandle;
  brain?: Brain;
  /** The definition the brain was made from (to notice file changes). */
  brainOf?: PersonaDefinition;
  /** The brain problem already announced in a room (once per problem). */
  noticed?: string;
  controller?: AbortController;
  /** Rooms joined as this persona. */
  joined: Set<string>;
  /** Rooms its file lists. */
  fileRooms: Set<string>;
  /** The presence last set (`state|text`), so repeated updates are not re-announced. */
  presence?: string;
}

const handledLimit = 5000;

export class Participation implements Component {
  readonly name = 'participation';
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly runtime = new Map<string, PersonaRuntime>();
  /**
   * Status text of each persona trying a genome (evolution); it rests as evolving, not online.
   * Kept apart from the runtime, which a reload that briefly misses the persona file discards.
   */
  private readonly evolving = new Map<string, string>();
  private readonly handled = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly bids: BidRounds;
  private running = false;
  private readonly onMessage = (message: ChatMessage) => this.consider(message);
  private readonly onPersonas = () => this.syncPersonas();

  constructor(private readonly options: ParticipationOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('participation');
    this.bids = new BidRounds({
      nodeId: () => options.rooms.nodeId,
      clock: this.clock,
      logger: this.logger,
      transport: options.transport,
      bidWindowMs: options.bidWindowMs ?? 1500,
      won: (best, message) => this.won(best, message),
    });
  }

  start(): Promise<void> {
    this.running = true;
    this.options.rooms.on('message', this.onMessage);
    this.options.personas.on('changed', this.onPersonas);
    this.bids.start();
    this.syncPersonas();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.options.rooms.off('message', this.onMessage);
    this.options.personas.off('changed', this.onPersonas);
    this.bids.stop();
    for (const runtime of this.runtime.values()) {
      runtime.wake?.cancel();
      runtime.probe?.cancel();
      runtime.queue.length = 0;
      runtime.controller?.abort();
    }
    await this.idle();
    for (const runtime of this.runtime.values()) await runtime.brain?.dispose().catch(() => undefined);
    this.runtime.clear();
  }

  /** Resolves when no reply is being written (tests; stop). Queued mentions waiting for a limit do not count. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Mentions waiting for a rate limit, per persona (tests, status). */
  queued(personaId: string): number {
    return this.runtime.get(personaId)?.queue.length ?? 0;
  }

  // ---------------------------------------------------------------- personas

  private participant(persona: PersonaDefinition): LocalParticipant {
    return { participantId: persona.id, displayName: persona.name, kind: 'persona' };
  }

  /** Joins each persona's rooms and sets its presence; retires personas that are gone. */
  private syncPersonas(): void {
    if (!this.running) return;
    const rooms = this.options.rooms;
    const present = new Set<string>();
    for (const entry of this.options.personas.list()) {
      const { persona } = entry;
      present.add(persona.id);
      const runtime = this.runtimeOf(persona.id);
      const as = this.participant(persona);
      if (runtime.brainOf && runtime.brainOf !== persona) {
        const old = runtime.brain;
        runtime.brain = undefined;
        runtime.brainOf = undefined;
        void old?.dispose().catch(() => undefined);
      }
      try {
        if (entry.state === 'disabled') {
          for (const room of runtime.joined) rooms.leave(room, as);
          runtime.joined.clear();
          this.presence(runtime, as, 'offline');
          continue;
        }
        const wanted = new Set(Object.keys(persona.rooms));
        for (const room of runtime.fileRooms) {
          // A room taken out of the file is left (rooms joined for a mention stay).
          if (wanted.has(room)) continue;
          runtime.fileRooms.delete(room);
          if (runtime.joined.delete(room)) rooms.leave(room, as);
        }
        for (const room of wanted) {
          runtime.fileRooms.add(room);
          if (runtime.joined.has(room)) continue;
          rooms.join(room, as);
          runtime.joined.add(room);
        }
        if (entry.state === 'degraded') this.presence(runtime, as, 'away', `degraded: ${entry.reason ?? 'unknown reason'}`);
        else this.presence(runtime, as, entry.state === 'busy' ? 'busy' : 'online');
      } catch (error) {
        this.logger.warn(`persona ${persona.id}: ${(error as Error).message}`);
      }
    }
    for (const [id, runtime] of this.runtime) {
      if (present.has(id)) continue;
      runtime.wake?.cancel();
      runtime.probe?.cancel();
      runtime.controller?.abort();
      const as: LocalParticipant = { participantId: id, displayName: id, kind: 'persona' };
      try {
        for (const room of runtime.joined) rooms.leave(room, as);
        rooms.setPresence('offline', undefined, as);
      } catch (error) {
        this.logger.debug(`retiring persona ${id}: ${(error as Error).message}`);
      }
      void runtime.brain?.dispose().catch(() => undefined);
      this.runtime.delete(id);
    }
  }

  /** Sets a persona's presence when it differs from the last one set. */
  private presence(runtime: PersonaRuntime, as: LocalParticipant, requested: 'online' | 'busy' | 'away' | 'offline', text?: string): void {
    const evolvingText = requested === 'online' ? this.evolving.get(as.participantId) : undefined;
    const state = evolvingText !== undefined ? 'evolving' : requested;
    const statusText = (evolvingText ?? text)?.slice(0, 200);
    const key = `${state}|${statusText ?? ''}`;
    if (runtime.presence === key) return;
    this.options.rooms.setPresence(state, statusText, as);
    runtime.presence = key;
  }

  /** Shows a local persona as evolving (with `text`) in its rooms while it tries a genome, or back to normal. */
  setEvolving(personaId: string, text: string | undefined): void {
    if (text === undefined) this.evolving.delete(personaId);
    else this.evolving.set(personaId, text);
    const runtime = this.runtimeOf(personaId);
    const entry = this.options.personas.list().find((e) => e.persona.id === personaId);
    if (!entry || !this.running) return;
    try {
      const as = this.participant(entry.persona);
      if (entry.state === 'degraded') this.presence(runtime, as, 'away', `degraded: ${entry.reason ?? 'unknown reason'}`);
      else if (entry.state !== 'disabled') this.presence(runtime, as, entry.state === 'busy' ? 'busy' : 'online');
    } catch (error) {
      this.logger.debug(`presence of ${personaId}: ${(error as Error).message}`);
    }
  }

  private runtimeOf(id: string): PersonaRuntime {
    let runtime = this.runtime.get(id);
    if (!runtime) {
      runtime = { replies: [], lastReplyIn: new Map(), queue: [], running: false, joined: new Set(), fileRooms: new Set() };
      this.runtime.set(id, runtime);
    }
    return runtime;
  }

  // ---------------------------------------------------------------- messages

  private consider(message: ChatMessage): void {
    // A persona's reply settles the question it answers: a late bid round for it stays silent.
    if (message.author.kind === 'persona' && message.replyTo && message.metadata?.['persona']) this.bids.noteAnswered(message.roomId, message.replyTo);
    if (!this.running || message.deleted || this.handled.has(messageKey(message.roomId, message.id))) return;
    this.handled.add(messageKey(message.roomId, message.id));
    if (this.handled.size > handledLimit) this.handled.delete(this.handled.values().next().value!);
    if (this.clock.now() - message.hlc.wall > (this.options.maxMessageAgeMs ?? 120_000)) return;

    const nodeId = this.options.rooms.nodeId;
    const chain = chainDepth(message);
    for (const entry of this.options.personas.list()) {
      const { persona } = entry;
      if (message.author.nodeId === nodeId && message.author.participantId === persona.id) continue;
      if (!mentions(message, nodeId, persona.id)) continue;
      if (entry.state === 'disabled' || entry.problems.some((p) => p.severity === 'error')) {
        this.logger.debug(`${persona.id} was mentioned in ${message.roomId} but is ${entry.state}`);
        continue;
      }
      const fromHuman = message.author.kind === 'human';
      const cap = Math.min(persona.participation.maxChainDepth, this.options.maxChainDepth ?? 3);
      if (!fromHuman && chain >= cap) {
        this.logger.info(`${persona.id} does not answer ${message.id}: the persona-to-persona chain is already ${chain} long (cap ${cap})`);
        continue;
      }
      // Mentioned by this node's key alone: it is ours to answer. Mentioned by text only, or by the
      // keys of several nodes hosting the same persona id: the hosts settle who answers by a round.
      const keyed = message.mentions.filter((key) => key.endsWith(`/${persona.id}`));
      if (keyed.length === 1 && keyed[0] === `${nodeId}/${persona.id}`) this.enqueue({ message, persona: persona.id, chain, fromHuman });
      else this.bids.openMention(message, persona.id);
    }
    if (message.author.kind === 'human' && message.mentions.length === 0 && !/(^|\s)@[\w-]+/.test(message.text)) this.bid(message);
  }

  // ---------------------------------------------------------------- bidding

  private bid(message: ChatMessage): void {
    const nodeId = this.options.rooms.nodeId;
    const bids: Bid[] = [];
    const profiles = profileScores(this.options.profiles?.() ?? [], message.text);
    for (const entry of this.options.personas.list()) {
      const { persona } = entry;
      if (entry.state === 'disabled' || entry.problems.some((p) => p.severity === 'error')) continue;
      const score = relevance(persona, message.roomId, message.text, profiles.get(`${nodeId}/${persona.id}`) ?? 0);
      if (score <= 0) continue;
      if (this.waitFor({ message, persona: persona.id, chain: 0, fromHuman: false }) > 0) continue;
      bids.push({ messageId: message.id, roomId: message.roomId, nodeId, personaId: persona.id, score });
    }
    this.bids.open(message, bids);
  }

  /** This node's bid won: a mention keeps its rights (a human's waits for the limits); an open bid was within the limits when made. */
  private won(best: Bid, message: ChatMessage): void {
    if (!this.running) return;
    if (best.mention) this.enqueue({ message, persona: best.personaId, chain: chainDepth(message), fromHuman: message.author.kind === 'human' });
    else this.enqueue({ message, persona: best.personaId, chain: 0, fromHuman: false });
  }

  private enqueue(job: Job): void {
    const runtime = this.runtimeOf(job.persona);
    if (!job.fromHuman && this.waitFor(job) > 0) {
      this.logger.info(`${job.persona} does not answer ${job.message.id}: rate limit or cooldown`);
      return;
    }
    if (runtime.queue.length >= (this.options.maxQueuedMentions ?? 5)) {
      this.logger.warn(`${job.persona} is behind: dropped the mention in ${job.message.id}`);
      return;
    }
    runtime.queue.push(job);
    this.pump(job.persona);
  }

  /** Milliseconds until the persona may answer in the job's room (0 = now). */
  private waitFor(job: Job): number {
    const entry = this.options.personas.get(job.persona);
    const runtime = this.runtimeOf(job.persona);
    if (!entry) return 0;
    const { maxRepliesPerMinute, cooldownSeconds } = entry.persona.participation;
    const now = this.clock.monotonic();
    runtime.replies = runtime.replies.filter((t) => now - t < 60_000);
    let wait = 0;
    if (runtime.replies.length >= maxRepliesPerMinute) wait = runtime.replies[runtime.replies.length - maxRepliesPerMinute]! + 60_000 - now;
    const last = runtime.lastReplyIn.get(job.message.roomId);
    if (last !== undefined) wait = Math.max(wait, last + cooldownSeconds * 1000 - now);
    return Math.max(0, wait);
  }

  /** Runs the persona's queue, one reply at a time, sleeping on the clock while a limit holds. */
  private pump(personaId: string): void {
    const runtime = this.runtimeOf(personaId);
    if (runtime.running || runtime.wake || !this.running) return;
    const job = runtime.queue[0];
    if (!job) return;
    const wait = this.waitFor(job);
    if (wait > 0) {
      runtime.wake = this.clock.setTimeout(() => {
        runtime.wake = undefined;
        this.pump(personaId);
      }, wait);
      return;
    }
    runtime.queue.shift();
    runtime.running = true;
    const task = this.answer(job)
      .catch((error: unknown) => this.logger.error(`${personaId} failed to answer ${job.message.id}: ${(error as Error).message}`))
      .finally(() => {
        runtime.running = false;
        this.inflight.delete(task);
        this.pump(personaId);
      });
    this.inflight.add(task);
  }

  private async answer(job: Job): Promise<void> {
    const entry = this.options.personas.get(job.persona);
    if (!entry) return;
    const { persona } = entry;
    const runtime = this.runtimeOf(persona.id);
    const rooms = this.options.rooms;
    const as = this.participant(persona);
    const roomId = job.message.roomId;
    const now = this.clock.monotonic();
    runtime.replies.push(now);
    runtime.lastReplyIn.set(roomId, now);

    if (!runtime.joined.has(roomId)) {
      rooms.join(roomId, as);
      runtime.joined.add(roomId);
    }
    this.options.personas.setBusy(persona.id, true);
    this.presence(runtime, as, 'busy');
    rooms.typing(roomId, as);
    const controller = new AbortController();
    runtime.controller = controller;
    const metadata = { persona: { id: persona.id, chain: job.chain + 1 } };
    const stream = new ReplyStream({
      rooms,
      clock: this.clock,
      logger: this.logger,
      question: job.message,
      as,
      metadata,
      firstFlushMs: this.options.firstFlushMs ?? 800,
      streamIntervalMs: this.options.streamIntervalMs ?? 500,
      running: () => this.running,
    });
    try {
      const brain = this.brainOf(runtime, persona);
      const reply = brain.reply({ persona, messages: this.context(persona, job.message), question: stripMentions(job.message.text), signal: controller.signal });
      for await (const chunk of reply) stream.push(chunk);
      if (!stream.finish()) throw new BrainError('failed', 'the brain returned an empty reply');
      if (runtime.noticed !== undefined) this.recovered(persona.id, runtime);
    } catch (error) {
      stream.cancel();
      const reason = error instanceof BrainError ? error.message : `unexpected error: ${(error as Error).message}`;
      if (error instanceof BrainError && error.code === 'cancelled') {
        const posted = stream.message;
        if (posted) this.safeEdit(roomId, posted.id, `${fitMessage(stream.written, 20)}\n\n*(cancelled)*`, as);
        return;
      }
      this.logger.warn(`${persona.id} could not answer in ${roomId}: ${reason}`);
      this.options.personas.setBrainProblem(persona.id, reason);
      this.startProbe(persona, runtime);
      if (runtime.noticed !== reason) {
        runtime.noticed = reason;
        try {
          rooms.send({ roomId, text: `⚠️ ${persona.name} cannot answer right now: ${reason}`, replyTo: job.message.id, metadata: { ...metadata, notice: true } }, as);
        } catch (sendError) {
          this.logger.debug(`notice not posted: ${(sendError as Error).message}`);
        }
      }
    } finally {
      runtime.controller = undefined;
      this.options.personas.setBusy(persona.id, false);
      const after = this.options.personas.get(persona.id);
      try {
        if (after?.state === 'degraded') this.presence(runtime, as, 'away', `degraded: ${after.reason ?? ''}`);
        else if (after && after.state !== 'disabled') this.presence(runtime, as, 'online');
      } catch (error) {
        this.logger.debug(`presence of ${persona.id}: ${(error as Error).message}`);
      }
    }
  }

  private recovered(personaId: string, runtime: PersonaRuntime): void {
    runtime.noticed = undefined;
    runtime.probe?.cancel();
    runtime.probe = undefined;
    this.options.personas.setBrainProblem(personaId, undefined);
    this.logger.info(`${personaId}: the brain works again`);
    const entry = this.options.personas.get(personaId);
    if (entry && entry.state === 'online') {
      try {
        this.presence(runtime, this.participant(entry.persona), 'online');
      } catch (error) {
        this.logger.debug(`presence of ${personaId}: ${(error as Error).message}`);
      }
    }
  }

  /** While the brain fails, probe it (if it can be probed) and recover the persona when it works. */
  private startProbe(persona: PersonaDefinition, runtime: PersonaRuntime): void {
    if (runtime.probe || !this.running) return;
    let probing = false;
    runtime.probe = this.clock.setInterval(() => {
      const brain = runtime.brain;
      if (probing || !brain?.check || runtime.noticed === undefined) return;
      probing = true;
      const task = brain
        .check()
        .then(
          () => {
            if (this.running && runtime.noticed !== undefined) this.recovered(persona.id, runtime);
          },
          (error: unknown) => this.logger.debug(`${persona.id} is still degraded: ${(error as Error).message}`),
        )
        .finally(() => {
          probing = false;
          this.inflight.delete(task);
        });
      this.inflight.add(task);
    }, this.options.probeIntervalMs ?? 30_000);
  }

  private safeEdit(roomId: string, messageId: string, text: string, as: LocalParticipant): void {
    try {
      this.options.rooms.edit(roomId, messageId, text, as);
    } catch (error) {
      this.logger.debug(`edit not posted: ${(error as Error).message}`);
    }
  }

  /** The brain of a local persona that is not disabled, for work outside rooms (code review). */
  brainFor(personaId: string): { persona: PersonaDefinition; brain: Brain } | undefined {
    const entry = this.options.personas.get(personaId);
    if (!this.running || !entry || entry.state === 'disabled') return undefined;
    return { persona: entry.persona, brain: this.brainOf(this.runtimeOf(personaId), entry.persona) };
  }

  private brainOf(runtime: PersonaRuntime, persona: PersonaDefinition): Brain {
    if (!runtime.brain || runtime.brainOf !== persona) {
      runtime.brain = this.options.createBrain(persona);
      runtime.brainOf = persona;
    }
    return runtime.brain;
  }

  /**
   * One question to a persona hosted here, outside any room (a challenge task, a judging card):
   * its system prompt and the question, through its brain, as one text. Throws a BrainError when
   * the persona is not here or its brain fails.
   */
  async prompt(personaId: string, question: string, options: { signal?: AbortSignal; jsonSchema?: Record<string, unknown> } = {}): Promise<string> {
    const entry = this.options.personas.get(personaId);
    if (!entry || entry.state === 'disabled') throw new BrainError('unavailable', `persona ${personaId} is not hosted on this node`);
    const { persona } = entry;
    const brain = this.brainOf(this.runtimeOf(persona.id), persona);
    this.options.personas.setBusy(persona.id, true);
    const task = (async () => {
      let text = '';
      const messages: BrainMessage[] = [
        { role: 'system', content: persona.systemPrompt },
        { role: 'user', content: question },
      ];
      for await (const chunk of brain.reply({ persona, messages, question, ...(options.signal ? { signal: options.signal } : {}), ...(options.jsonSchema ? { jsonSchema: options.jsonSchema } : {}) })) text += chunk;
      return text;
    })();
    const tracked = task.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(tracked);
    try {
      return await task;
    } finally {
      this.inflight.delete(tracked);
      this.options.personas.setBusy(persona.id, false);
    }
  }

  /** The context window of one room (contextWindow.ts). */
  private context(persona: PersonaDefinition, message: ChatMessage): BrainMessage[] {
    return buildContext(persona, this.options.rooms.nodeId, message, this.options.rooms, { recent: this.options.contextMessages ?? 20 });
  }
}
