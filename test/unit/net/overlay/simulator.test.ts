/**
 * The overlay at scale, in the deterministic simulator: the real HyParView and Plumtree on 1,000
 * simulated nodes with 1 % message loss and 10 % churn per minute. Every run is seeded and
 * bounded (virtual time and events), so a failure here replays exactly with its seed.
 */
import assert from 'node:assert/strict';
import { EventQueue, SeededRandom, SimulationLimitError } from '../../../../server/src/net/overlay/simClock';
import { runScenario, type SimulationMetrics } from '../../../../server/src/net/overlay/simulator';

describe('overlay simulator: virtual time and seeded randomness', () => {
  it('runs events in time order, ties in the order they were scheduled, and stops cancelled intervals', () => {
    const queue = new EventQueue(1000, 10_000);
    const order: string[] = [];
    queue.schedule(5, () => order.push('b'));
    queue.schedule(1, () => order.push('a'));
    queue.schedule(5, () => order.push('c'));
    let ticks = 0;
    const interval = queue.schedule(2, () => ++ticks === 3 && interval.cancel(), 2);
    queue.runUntil(100);
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(ticks, 3);
    assert.equal(queue.now, 100);
  });

  it('keeps (time, insertion) order over thousands of events, as the heap grows and shrinks', () => {
    const queue = new EventQueue(100_000, 10_000);
    const random = new SeededRandom(3, 0);
    const ran: Array<[number, number]> = [];
    let scheduled = 0;
    // Whole milliseconds, so many events share a time and the insertion order must break the tie.
    const add = () => {
      const seq = scheduled++;
      const delay = random.below(50);
      queue.schedule(delay, () => ran.push([queue.now, seq]));
    };
    for (let i = 0; i < 5000; i++) add();
    queue.runUntil(20);
    for (let i = 0; i < 3000; i++) add();
    queue.runUntil(1000);
    assert.equal(ran.length, scheduled);
    for (let i = 1; i < ran.length; i++) {
      const [at, seq] = ran[i]!;
      const [prevAt, prevSeq] = ran[i - 1]!;
      assert.ok(at > prevAt || (at === prevAt && seq > prevSeq), `event ${seq} at ${at} ran after event ${prevSeq} at ${prevAt}`);
    }
    assert.equal(queue.size, 0);
  });

  it('throws past its event or time bound instead of running away', () => {
    const storm = new EventQueue(100, 10_000);
    const again = (): void => void storm.schedule(0, again);
    again();
    assert.throws(() => storm.runUntil(1), SimulationLimitError);
    assert.throws(() => new EventQueue(100, 10_000).runUntil(10_001), SimulationLimitError);
  });

  it('gives one stream per (seed, stream), the same every time', () => {
    const a = new SeededRandom(1, 7);
    const b = new SeededRandom(1, 7);
    const c = new SeededRandom(1, 8);
    const first = [a.next(), a.next(), a.next()];
    assert.deepEqual([b.next(), b.next(), b.next()], first);
    assert.notDeepEqual([c.next(), c.next(), c.next()], first);
    assert.ok(first.every((x) => x >= 0 && x < 1));
    assert.equal(new SeededRandom(1, 7).bytes(7).length, 7);
  });
});

describe('overlay simulator: 1,000 nodes, 1 % loss, 10 % churn per minute', function () {
  // One run serves every assertion below: about 8 s of CPU on an idle core.
  this.timeout(120_000);
  let run: SimulationMetrics;

  before(() => {
    run = runScenario({
      seed: 1,
      nodes: 1000,
      network: { loss: 0.01 },
      joinWindowMs: 10_000,
      settleMs: 5_000,
      churnPerMinute: 0.1,
      churnMs: 120_000,
      // One broadcast a second from 20 members (a team's talkers; replaced when they crash).
      broadcastsPerSecond: 1,
      speakers: 20,
      windowMs: 5_000,
      partition: { durationMs: 20_000, broadcastMs: 10_000 },
      repairLimitMs: 60_000,
      idleMs: 60_000,
      maxVirtualMs: 600_000,
      maxEvents: 20_000_000,
    });
  });

  it('delivers ≥ 99.9 % of the broadcasts owed to live members', () => {
    const { churn } = run.delivery;
    assert.ok(churn.broadcasts >= 100, `broadcasts: ${churn.broadcasts}`);
    assert.ok(run.crashed >= 150, `crashed: ${run.crashed}`);
    assert.ok(churn.ratio >= 0.999, `delivery ${churn.ratio} (${churn.delivered}/${churn.expected}, worst ${churn.minRatio}); overlay after churn: ${JSON.stringify(run.repair.afterChurn.shape)}`);
  });

  it('keeps hops p99 ≤ 8 under churn, and within the hop budget (12) just after a heal', () => {
    assert.ok(run.hopsByPhase.churn.p99 <= 8, `hops: ${JSON.stringify(run.hopsByPhase)}`);
    // Just after a heal few links join the two halves: paths are longer until shuffles and
    // failures mix the views again. No event may need more hops than an envelope carries.
    assert.ok(run.hopsByPhase.afterHeal !== null && run.hopsByPhase.afterHeal.max <= 12, `hops: ${JSON.stringify(run.hopsByPhase)}`);
  });

  it("keeps duplicates per delivery ≤ 1.5 (the issue's target); a root's first broadcast follows a template tree instead of flooding", () => {
    // Plumtree keeps one tree per root (the origin). A root new to a node starts from the tree of
    // the known root with the smallest id, so a first broadcast costs about a tree, not a flood of
    // the active views (9 copies per delivery before). Measured with this seed: 1.43 overall, 1.65
    // for first broadcasts (the run's very first one still floods: no node has a tree to copy),
    // 1.38 for the others.
    const { firstOfRoot, repeatedRoot } = run.duplicates;
    assert.ok(firstOfRoot.broadcasts >= 15 && repeatedRoot.broadcasts >= 50, JSON.stringify(run.duplicates));
    assert.ok(run.duplicatesPerDelivery <= 1.5, `duplicates per delivery ${run.duplicatesPerDelivery}: ${JSON.stringify(run.duplicates)}`);
    assert.ok(repeatedRoot.perDelivery <= 1.5, `duplicates per delivery: ${JSON.stringify(run.duplicates)}`);
    assert.ok(firstOfRoot.perDelivery <= 2, `a first broadcast costs about a tree: ${JSON.stringify(run.duplicates)}`);
  });

  it('is whole again (every node has an active peer, one component, symmetric) after the churn stops', () => {
    assert.notEqual(run.repair.afterChurn.ms, null, `after churn: ${JSON.stringify(run.repair.afterChurn.shape)}`);
  });

  it('heals a partition into two halves to one overlay, and broadcasts after the heal reach everyone', () => {
    const heal = run.repair.afterHeal!;
    assert.notEqual(heal.ms, null, `not whole 60 s after the heal: ${JSON.stringify(heal.shape)}`);
    // Whole implies one component; said explicitly, as two halves both at target used to stay apart.
    assert.equal(heal.shape.components, 1, `after the heal: ${JSON.stringify(heal.shape)}`);
    const after = run.delivery.afterHeal!;
    assert.ok(after.broadcasts >= 10);
    assert.equal(after.ratio, 1, `after the heal: ${after.delivered}/${after.expected}`);
  });

  it('sends few messages per node per second at idle', () => {
    // Measured 0.13 (a HyParView shuffle walk every 60 s ± 50 %, ~8 messages). Any per-peer
    // periodic message (6+ active peers, once a second) would add ≥ 6.
    assert.ok(run.idle.msgsPerNodePerSec <= 0.5, `idle: ${JSON.stringify(run.idle)}`);
  });
});

describe('overlay simulator: determinism', function () {
  this.timeout(60_000);

  it('gives identical metrics for the same seed', () => {
    const scenario = {
      seed: 42,
      nodes: 200,
      network: { loss: 0.01 },
      joinWindowMs: 5_000,
      settleMs: 2_000,
      churnMs: 30_000,
      partition: { durationMs: 10_000, broadcastMs: 5_000 },
      idleMs: 10_000,
    };
    const strip = ({ cpuMs: _cpuMs, ...rest }: SimulationMetrics) => rest;
    const first = strip(runScenario(scenario));
    const second = strip(runScenario(scenario));
    assert.deepEqual(second, first);
    assert.notDeepEqual(strip(runScenario({ ...scenario, seed: 43 })), first);
  });
});
