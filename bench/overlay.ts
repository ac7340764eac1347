/**
 * Overlay benchmark (`npm run bench -- --suite overlay [--quick]`): the real HyParView and
 * Plumtree code in the deterministic simulator (server/src/net/overlay/simulator.ts), 1,000 and
 * 10,000 nodes on a simulated LAN with 1 % message loss. Prints one JSON object on stdout;
 * progress goes to stderr.
 *
 * Each size plays one timeline: nodes join over time through a random live member, 10 % of the
 * nodes crash per minute (each replaced by a new node) while random live members among 10
 * speakers broadcast (2/s at 1,000 nodes, 0.5/s at 10,000), the overlay repairs, the live nodes
 * are split into two halves for a while and healed, broadcasts follow the heal, then a quiet
 * minute. Reported per size: delivery ratio (each broadcast over the
 * members live for its whole window; the worst one too), duplicates per delivery, hops and
 * latency p50/p99 (virtual ms), repair time after the joins, the churn and the heal, the share of
 * nodes at activeTarget, protocol messages per node per second at idle, active-view degrees,
 * events simulated and the CPU the run took (process.cpuUsage; 10,000 nodes must stay under 60 s).
 * `--quick`: 1,000 nodes only, a shorter timeline.
 */
import { loadavg } from 'node:os';
import { runScenario, type ScenarioOptions, type SimulationMetrics } from '../server/src/net/overlay/simulator';

const quick = process.argv.includes('--quick');
const log = (line: string) => process.stderr.write(`[bench overlay] ${line}\n`);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

/** The timeline for `nodes`; the 10,000-node run is shorter so it fits its CPU budget. */
function scenario(nodes: number): Parameters<typeof runScenario>[0] {
  const base: Partial<ScenarioOptions> & Pick<ScenarioOptions, 'seed' | 'nodes'> = {
    seed: 20_261_207,
    nodes,
    network: { loss: 0.01 },
    churnPerMinute: 0.1,
    // Chat-like traffic: broadcasts from random live members among 10 speakers (replaced when
    // they crash), so most go down an established tree; the unit test covers a new root each time.
    speakers: 10,
    progress: (line) => log(`${nodes}: ${line}`),
  };
  if (quick) return { ...base, joinWindowMs: 10_000, churnMs: 60_000, broadcastsPerSecond: 2, partition: { durationMs: 20_000, broadcastMs: 10_000 }, idleMs: 30_000 };
  if (nodes <= 1000) return { ...base, joinWindowMs: 20_000, churnMs: 120_000, broadcastsPerSecond: 2, partition: { durationMs: 30_000, broadcastMs: 20_000 }, idleMs: 60_000 };
  return { ...base, joinWindowMs: 60_000, churnMs: 60_000, broadcastsPerSecond: 0.5, partition: { durationMs: 30_000, broadcastMs: 20_000 }, idleMs: 60_000 };
}

function summary(metrics: SimulationMetrics) {
  return {
    nodes: metrics.nodes,
    delivery: {
      churn: { ratio: metrics.delivery.churn.ratio, min: metrics.delivery.churn.minRatio, broadcasts: metrics.delivery.churn.broadcasts },
      afterHeal: metrics.delivery.afterHeal && { ratio: metrics.delivery.afterHeal.ratio, min: metrics.delivery.afterHeal.minRatio, broadcasts: metrics.delivery.afterHeal.broadcasts },
    },
    duplicatesPerDelivery: metrics.duplicatesPerDelivery,
    duplicates: metrics.duplicates,
    hops: metrics.hops,
    latencyMs: metrics.latencyMs,
    /** At the end of each repair wait: whole or not, the lonely nodes, the components. */
    shapes: { afterJoin: metrics.repair.afterJoin.shape, afterChurn: metrics.repair.afterChurn.shape, afterHeal: metrics.repair.afterHeal?.shape ?? null },
    repairMs: { afterJoin: metrics.repair.afterJoin.ms, afterChurn: metrics.repair.afterChurn.ms, afterHeal: metrics.repair.afterHeal?.ms ?? null },
    atTargetPct: { afterChurn: metrics.repair.afterChurn.shape.atTargetPct, afterHeal: metrics.repair.afterHeal?.shape.atTargetPct ?? null, end: metrics.end.atTargetPct },
    idle: metrics.idle,
    degree: metrics.end.degree,
    messages: metrics.messages,
    plumtree: metrics.plumtree,
    joined: metrics.joined,
    crashed: metrics.crashed,
    virtualMs: metrics.virtualMs,
    events: metrics.events,
    cpuMs: metrics.cpuMs,
  };
}

const loadBefore = load();
const sizes = quick ? [1000] : [1000, 10_000];
const runs: Record<string, ReturnType<typeof summary>> = {};
for (const nodes of sizes) {
  log(`${nodes} nodes`);
  runs[`n${nodes}`] = summary(runScenario(scenario(nodes)));
  log(`${nodes} nodes: ${runs[`n${nodes}`]!.cpuMs} ms CPU`);
}
const result = { ...runs, loss: 0.01, churnPerMinute: 0.1, quick, loadavg: { before: loadBefore, after: load() } };
process.stdout.write(`${JSON.stringify(result, null, process.argv.includes('--json') ? 0 : 2)}\n`);
