/**
 * Evolution's decisions on real Academy and Rooms components (in-memory mesh, manual clock). The
 * genome market is a recording stand-in here; the exchange of real genomes between nodes is
 * tested with the genomes (test/integration/genomes).
 */
import { strict as assert } from 'node:assert';
import { Evolution, type GenomeMarket, type GenomeOffer, type EvolvingPersona } from '../../../server/src/academy/evolution';
import { capabilityGap, fallingCategory, keepGenome, windowAfter, windowBefore } from '../../../server/src/academy/evolutionRules';
import { personaKey, type SignalCategory } from '../../../protocol/academy';
import type { EvolutionPolicy, EvolutionProposal, PersonaEvolutionEvent } from '../../../protocol/evolution';
import { mentions } from '../../../server/src/personas/mentions';
import { AcademyMesh, exchange, memoryDb, persona, signed, type AcademyNode } from './support';
import { generateIdentity } from '../../../server/src/kernel/identity';

class RecordingMarket implements GenomeMarket {
  readonly searches: Parameters<GenomeMarket['search']>[0][] = [];
  readonly adopted: string[] = [];
  readonly removed: string[] = [];
  failAdopt: string | undefined;
  constructor(private readonly offers: GenomeOffer[]) {}
  search(query: Parameters<GenomeMarket['search']>[0]): Promise<GenomeOffer[]> {
    this.searches.push(query);
    return Promise.resolve(this.offers.filter((o) => query.required.every((c) => o.capabilities.includes(c))));
  }
  adopt(personaId: string, genomeId: string): Promise<void> {
    if (this.failAdopt) return Promise.reject(new Error(this.failAdopt));
    this.adopted.push(`${personaId}:${genomeId}`);
    return Promise.resolve();
  }
  remove(personaId: string, genomeId: string): Promise<void> {
    this.removed.push(`${personaId}:${genomeId}`);
    return Promise.resolve();
  }
}

const helper: EvolvingPersona = { id: 'helper', name: 'Helper', capabilities: ['typescript'], genomes: [], rooms: ['general'] };

describe('evolution', () => {
  let mesh: AcademyMesh;
  const evolutions: Evolution[] = [];
  beforeEach(() => {
    mesh = new AcademyMesh();
  });
  afterEach(async () => {
    for (const evolution of evolutions.splice(0)) await evolution.stop();
    await mesh.close();
  });

  function evolve(node: AcademyNode, market: GenomeMarket | undefined, options: { policy?: EvolutionPolicy; ask?: (p: EvolutionProposal) => Promise<boolean>; known?: string[] } = {}) {
    const evolving: string[] = [];
    const evolution = new Evolution({
      store: { db: node.db },
      nodeId: node.id,
      transport: node.transport,
      academy: { on: (e, l) => node.academy.on(e, l), off: (e, l) => node.academy.off(e, l), signalsOf: (key) => node.academy.store.query({ personaKey: key }) },
      rooms: { on: (e, l) => node.rooms.on(e, l), off: (e, l) => node.rooms.off(e, l), joinedRooms: () => node.rooms.list().filter((r) => r.joined).map((r) => r.id), send: (p, as) => node.rooms.send(p, as) },
      personas: () => [helper],
      addressedTo: (message, personaId) => mentions(message, node.id, personaId),
      knownCapabilities: () => options.known ?? ['typescript', 'kubernetes'],
      setEvolving: (personaId, text) => evolving.push(`${personaId}:${text ?? 'normal'}`),
      market: () => market,
      policy: options.policy ?? 'automatic',
      ...(options.ask ? { ask: options.ask } : {}),
      thresholds: { window: 3, threshold: 0 },
      cooldownMs: 0,
      clock: mesh.clock,
      logger: node.log.logger,
    });
    evolutions.push(evolution);
    return { evolution, evolving };
  }

  function rate(node: AcademyNode, values: number[], category: SignalCategory = 'technical'): void {
    for (const value of values) {
      mesh.clock.advance(10);
      node.academy.record({ persona: persona(node.id, 'helper', 'Helper'), room: 'general', category, value, source: 'review', context: { input: 'diff' } });
    }
  }

  const offers: GenomeOffer[] = [
    { id: 'g-strict', name: 'strict-reviewer', capabilities: ['typescript', 'code-review'] },
    { id: 'g-k8s', name: 'k8s-operator', capabilities: ['kubernetes'] },
  ];

  it('window rules: falling category, keep or roll back, capability gaps', () => {
    const id = generateIdentity().identity;
    const p = persona(id.nodeId, 'helper');
    const signals = [-1, 1, -1, -1].map((value, i) => signed(id, { persona: p, value, ts: 100 + i, category: 'technical' }));
    assert.deepEqual(windowBefore(signals, 'technical', 3), { mean: -0.333333, count: 3 });
    assert.deepEqual(windowAfter(signals, 'technical', 2, 101), { mean: -1, count: 2 });
    assert.deepEqual(fallingCategory(signals, ['technical', 'reliable'], { window: 3, threshold: 0 }), { category: 'technical', mean: -0.333333, count: 3 });
    assert.equal(fallingCategory(signals, ['technical'], { window: 5, threshold: 0 }), undefined, 'not a full window yet');
    assert.ok(keepGenome({ mean: -0.5, count: 3 }, { mean: -0.5, count: 3 }));
    assert.ok(!keepGenome({ mean: -0.3, count: 3 }, { mean: -0.4, count: 3 }));
    assert.equal(capabilityGap('@helper can you write a Kubernetes operator?', ['typescript'], ['typescript', 'kubernetes', 'go']), 'kubernetes');
    assert.equal(capabilityGap('review this code review please', ['typescript'], ['code-review']), 'code-review', 'a hyphenated capability written with a space');
    assert.equal(capabilityGap('typescript generics?', ['TypeScript'], ['typescript']), undefined, 'it has it');
    assert.equal(capabilityGap('let us go', [], ['go']), undefined, 'too short to tell from a word');
  });

  it('a falling score adopts the best genome, and a worse next window rolls it back; the lineage reaches other nodes', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    exchange(a, 'first question', 'first answer');
    const market = new RecordingMarket(offers);
    const { evolution, evolving } = evolve(a, market);
    await evolution.start();
    const onB = evolve(b, undefined).evolution;
    await onB.start();
    mesh.settle();

    rate(a, [1, -1, -1]);
    await evolution.idle();
    assert.deepEqual(market.adopted, ['helper:g-strict']);
    assert.deepEqual(market.searches[0], { required: [], preferred: ['typescript'], exclude: [], maxResults: 5, timeoutMs: 3000 });
    assert.deepEqual(evolving, ['helper:evolving: trying genome strict-reviewer']);
    const notice = a.rooms.history({ roomId: 'general', limit: 10 }).messages.at(-1)!;
    assert.equal(notice.author.kind, 'system');
    assert.match(notice.text, /Helper is trying the genome \*\*strict-reviewer\*\* \(its technical score over the last 3 signals is -0\.33\)/);

    rate(a, [-1, -1]);
    await evolution.idle();
    assert.deepEqual(market.removed, [], 'not judged before a full window');
    rate(a, [1], 'reliable');
    rate(a, [-1]);
    await evolution.idle();
    assert.deepEqual(market.removed, ['helper:g-strict']);
    assert.deepEqual(evolving.at(-1), 'helper:normal');
    assert.match(a.rooms.history({ roomId: 'general', limit: 10 }).messages.at(-1)!.text, /dropped the genome \*\*strict-reviewer\*\*: technical -0\.33 → -1\.00/);

    mesh.settle();
    const lineage = (events: PersonaEvolutionEvent[]) => events.map((e) => [e.outcome, e.genome.id, e.measured.before, e.measured.after ?? null]);
    assert.deepEqual(lineage(evolution.history()), [['rolled-back', 'g-strict', -0.333333, -1], ['adopted', 'g-strict', -0.333333, null]]);
    assert.deepEqual(onB.history(), evolution.history(), 'node B keeps the same lineage');
    assert.deepEqual(evolution.history()[1]!.capabilitiesAfter, ['typescript', 'code-review']);
    assert.deepEqual(evolution.history()[0]!.capabilitiesAfter, ['typescript']);

    // The rolled-back genome is not tried again.
    rate(a, [-1, -1, -1]);
    await evolution.idle();
    assert.deepEqual(market.searches.at(-1)!.exclude, ['g-strict']);
    assert.deepEqual(market.adopted, ['helper:g-strict', 'helper:g-k8s'], 'the next best one is');
  });

  it('keeps a genome when the next window is at least as good, and resumes measuring after a restart', async () => {
    const db = memoryDb();
    const identity = generateIdentity().identity;
    let a = await mesh.add(db, identity);
    exchange(a, 'q', 'a');
    const market = new RecordingMarket(offers);
    let run = evolve(a, market);
    await run.evolution.start();
    rate(a, [-1, -1, 1]);
    await run.evolution.idle();
    assert.equal(run.evolution.trialsOf('helper')[0]?.state, 'measuring');
    await run.evolution.stop();
    await mesh.remove(a);

    a = await mesh.add(db, identity);
    run = evolve(a, market);
    await run.evolution.start();
    rate(a, [1, -1, 1]);
    await run.evolution.idle();
    assert.deepEqual(market.removed, []);
    assert.equal(run.evolution.trialsOf('helper')[0]?.state, 'kept');
    assert.match(a.rooms.history({ roomId: 'general', limit: 10 }).messages.at(-1)!.text, /keeps the genome \*\*strict-reviewer\*\*: technical -0\.33 → \+0\.33/);
  });

  it('a question about a capability the persona lacks searches for it', async () => {
    const a = await mesh.add();
    exchange(a, 'q', 'a');
    const market = new RecordingMarket(offers);
    const { evolution } = evolve(a, market);
    await evolution.start();
    a.rooms.send({ roomId: 'general', text: '@helper can you write a Kubernetes operator?', mentions: [personaKey({ nodeId: a.id, personaId: 'helper' })] });
    a.rooms.send({ roomId: 'general', text: 'kubernetes is great', mentions: [] });
    await evolution.idle();
    assert.equal(market.searches.length, 1, 'only the message addressed to the persona');
    assert.deepEqual(market.searches[0]!.required, ['kubernetes']);
    assert.deepEqual(market.adopted, ['helper:g-k8s']);
    assert.equal(evolution.history()[0]!.trigger.kind, 'capability-gap');
  });

  it('policy: ask asks (and a no declines), off does nothing, a failed adoption is reported and leaves no trial', async () => {
    const a = await mesh.add();
    exchange(a, 'q', 'a');
    const market = new RecordingMarket(offers);
    const proposals: EvolutionProposal[] = [];
    const { evolution } = evolve(a, market, { policy: 'ask', ask: (p) => (proposals.push(p), Promise.resolve(false)) });
    await evolution.start();
    rate(a, [-1, -1, -1]);
    await evolution.idle();
    assert.equal(proposals.length, 1);
    assert.equal(proposals[0]!.genome.name, 'strict-reviewer');
    assert.match(proposals[0]!.reason, /technical score over the last 3 signals is -1\.00/);
    assert.deepEqual(market.adopted, []);
    assert.equal(evolution.history()[0]!.outcome, 'declined');

    evolution.policy = 'off';
    rate(a, [-1]);
    await evolution.idle();
    assert.equal(proposals.length, 1);
    assert.throws(() => (evolution.policy = 'sometimes' as EvolutionPolicy), /ask, automatic, off/);

    evolution.policy = 'automatic';
    market.failAdopt = 'the LoRA adapter is for a different base model';
    rate(a, [-1]);
    await evolution.idle();
    assert.equal(evolution.history()[0]!.outcome, 'failed');
    assert.equal(evolution.history()[0]!.reason, 'the LoRA adapter is for a different base model');
    assert.deepEqual(evolution.trialsOf('helper'), []);
    assert.ok(a.log.messages('warn').some((m) => m.includes('could not adopt strict-reviewer')));
  });

  it('drops malformed or forged lineage events', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    const { evolution } = evolve(b, undefined);
    await evolution.start();
    mesh.settle();
    a.transport.publish('/academy/evolution', { nonsense: true });
    a.transport.publish('/academy/evolution', { id: 'x', persona: { nodeId: 'SOMEONE-ELSE', personaId: 'p', name: 'p' }, genome: { id: 'g' }, ts: 1, outcome: 'kept' });
    mesh.settle();
    assert.deepEqual(evolution.history(), []);
  });
});
