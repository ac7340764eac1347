/**
 * Test support for challenges: nodes with Rooms, an Academy and a ChallengeService on the in-memory
 * mesh with a manual clock. Brains are scripted here (a function per persona, standing in for a
 * brain): the real brains run in test/integration/challenges.
 */
import { ChallengeService, type ChallengeServiceOptions } from '../../../server/src/challenges/service';
import type { PromptPersona } from '../../../server/src/challenges/aiJudge';
import { BrainError } from '../../../server/src/personas/brains/brain';
import type { ChallengeSpec, JudgeRef } from '../../../protocol/challenges';
import { AcademyMesh, persona, memoryDb, type AcademyNode } from '../academy/support';
import { generateIdentity, type Identity } from '../../../server/src/kernel/identity';
import type { Db } from '../../../server/src/store/database';

export { persona };

export type ScriptedBrain = (prompt: string, options: { signal: AbortSignal; jsonSchema?: Record<string, unknown> }) => Promise<string> | string;

export interface ChallengeNode extends AcademyNode {
  challenges: ChallengeService;
  brains: Map<string, ScriptedBrain>;
}

export class ChallengeMesh {
  readonly academy = new AcademyMesh();
  readonly nodes: ChallengeNode[] = [];

  get clock() {
    return this.academy.clock;
  }

  async add(options: { db?: Db; identity?: Identity; brains?: Record<string, ScriptedBrain>; extra?: Partial<ChallengeServiceOptions> } = {}): Promise<ChallengeNode> {
    const base = await this.academy.add(options.db ?? memoryDb(), options.identity ?? generateIdentity().identity, { sync: { intervalMs: 0 } });
    const brains = new Map(Object.entries(options.brains ?? {}));
    const prompt: PromptPersona = async (personaId, text, promptOptions) => {
      const brain = brains.get(personaId);
      if (!brain) throw new BrainError('unavailable', `persona ${personaId} is not hosted on this node`);
      return brain(text, promptOptions);
    };
    const challenges = new ChallengeService({
      store: { db: base.db },
      transport: base.transport,
      prompt,
      localPersonas: () => [...brains.keys()],
      rooms: base.rooms,
      academy: () => base.academy,
      clock: this.clock,
      logger: base.log.logger,
      coordinatorTimeoutMs: 10_000,
      ...options.extra,
    });
    await challenges.start();
    const node: ChallengeNode = Object.assign(base, { challenges, brains });
    this.nodes.push(node);
    return node;
  }

  /** Delivers every message and lets scripted brains answer, until nothing moves (bounded; a brain waiting for its deadline does not count). */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let round = 0; round < 200; round++) {
      const delivered = this.academy.hub.flush();
      await new Promise((resolve) => setImmediate(resolve));
      quiet = delivered === 0 && this.academy.hub.pending === 0 ? quiet + 1 : 0;
      if (quiet >= 2) return;
    }
    throw new Error('the challenge mesh did not settle');
  }

  /** Lets time pass a second at a time, delivering what each second sends (the coordinator's signs of life among it). */
  async pass(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 1000) {
      this.clock.advance(Math.min(1000, ms - elapsed));
      await this.settle();
    }
  }

  /** Stops a node's challenges and takes it off the mesh, as if it crashed. */
  async crash(node: ChallengeNode): Promise<void> {
    await node.challenges.stop();
    this.nodes.splice(this.nodes.indexOf(node), 1);
    await this.academy.remove(node);
  }

  async close(): Promise<void> {
    for (const node of this.nodes) await node.challenges.stop();
    this.nodes.length = 0;
    await this.academy.close();
  }
}

export const human = (nodeId: string, name = 'Ada'): JudgeRef => ({ kind: 'human', nodeId, participantId: 'user', name });
export const aiJudge = (nodeId: string, personaId: string): JudgeRef => ({ kind: 'persona', nodeId, participantId: personaId, name: personaId });

export function spec(fields: Partial<ChallengeSpec> & Pick<ChallengeSpec, 'participants' | 'judges'>): ChallengeSpec {
  return {
    title: 'Debounce',
    description: 'Write a debounce function.',
    type: 'technical',
    difficulty: 'medium',
    roomId: 'arena',
    timeLimitMs: 60_000,
    judgingMs: 120_000,
    weights: { technical: 0.4, collaborative: 0.1, innovative: 0.2, reliable: 0.3 },
    ...fields,
  };
}

/** A card giving every label the same score per criterion, or per-label scores. */
export function card(labels: readonly string[], score: (label: string) => number) {
  return Object.fromEntries(labels.map((l) => [l, { technical: score(l), collaborative: score(l), innovative: score(l), reliable: score(l) }]));
}
