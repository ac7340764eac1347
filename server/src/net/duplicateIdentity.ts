/**
 * Two live instances of one node id: a data folder copied to another machine (a restored backup,
 * a cloned VM, a synced folder) and started while the original runs. They share the identity and
 * the sequence numbers, so what one writes shadows what the other wrote under the same id, and
 * peers take each instance's sessions for a restart of the other, dropping them in turn.
 *
 * The instance that started later is refused. Every node decides from the same two
 * (started, instance) pairs, carried in the authenticated handshake, so both instances and all
 * their peers agree without asking each other; skew between the machines' clocks can only make
 * the wrong one the later, never both or neither. An instance that no longer answers is not a
 * duplicate but a restart: only a live one is defended.
 */
import type { Logger } from '../kernel/log';
import { BoundedMap } from './boundedMap';

export interface InstanceStart {
  instance: string;
  /** Wall-clock ms of the instance's start, by its own clock. */
  started: number;
}

/** Whether `a` started after `b`; a tie goes to the greater instance, so exactly one is later. */
export function startedLater(a: InstanceStart, b: InstanceStart): boolean {
  return a.started !== b.started ? a.started > b.started : a.instance > b.instance;
}

/**
 * What a peer holding a session with `existing` does with `candidate`, a new session of the same
 * node id from another instance, once it knows whether `existing` still answers.
 */
export type Arbitration = 'restart' | 'refuse-candidate' | 'refuse-existing';

export function arbitrate(existing: InstanceStart, candidate: InstanceStart, existingAnswers: boolean): Arbitration {
  if (!existingAnswers) return 'restart';
  return startedLater(candidate, existing) ? 'refuse-candidate' : 'refuse-existing';
}

export interface Contender extends InstanceStart {
  /** Where it is: its listen address, or the address its connection came from. */
  addr: string;
}

/**
 * A peer's memory of the instances it refused: a refused instance that connects again is turned
 * away at once (no second probe, no second warning) while the instance it lost to is up here.
 */
export class RefusedInstances {
  private readonly refused: BoundedMap<string, { kept: Contender; instances: Set<string> }>;

  constructor(private readonly logger: Logger, maxNodes = 1024) {
    this.refused = new BoundedMap(maxNodes);
  }

  /** Records the refusal; the first refusal of an instance is one warning naming both. */
  refuse(nodeId: string, kept: Contender, refused: Contender): void {
    let entry = this.refused.get(nodeId);
    if (!entry || entry.kept.instance !== kept.instance) {
      entry = { kept, instances: new Set() };
      this.refused.set(nodeId, entry);
    }
    if (entry.instances.has(refused.instance)) return;
    entry.instances.add(refused.instance);
    this.logger.warn(
      `node ${nodeId.slice(0, 7)} has two live instances (one runs on a copy of the other's data folder): ` +
        `kept the one ${describe(kept)}, refused the one ${describe(refused)}, which started later and was told to leave the mesh`,
    );
  }

  /** The instance kept in favour of `instance`, if that one was refused. */
  keptOver(nodeId: string, instance: string): Contender | undefined {
    const entry = this.refused.get(nodeId);
    return entry?.instances.has(instance) ? entry.kept : undefined;
  }

  /** The kept instance is gone from here: whoever comes next is judged afresh. */
  forget(nodeId: string): void {
    this.refused.delete(nodeId);
  }
}

function describe(contender: Contender): string {
  return `at ${contender.addr} (started ${new Date(contender.started).toISOString()})`;
}
