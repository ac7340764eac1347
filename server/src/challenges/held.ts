/**
 * The challenges this node holds, shared by its two roles (coordinator.ts, participant.ts): in
 * memory for the API and in libsql so a restart finds them. Each entry is the view every node
 * taking part holds and, on the coordinator, its secret part.
 */
import type { Clock } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { ChallengeView } from '../../../protocol/challenges';
import type { Db } from '../store/database';
import { ChallengeStore, type StoredChallenge } from './challengeStore';
import type { ChallengeTransport } from './transport';

const activeStates = new Set(['announced', 'answering', 'judging']);

/** Not yet revealed or cancelled: deadlines and the coordinator's silence still matter. */
export function isActive(view: ChallengeView): boolean {
  return activeStates.has(view.state);
}

/** What both roles get from the service that composes them. */
export interface RoleContext {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: ChallengeTransport;
  readonly held: HeldChallenges;
  /** The coordinator's sign of life comes every third of it; a node taking part gives up after it. */
  readonly coordinatorTimeoutMs: number;
  /** False from the first moment of stop, so work still settling then sends and posts nothing. */
  readonly running: () => boolean;
}

export class HeldChallenges {
  private store: ChallengeStore | undefined;
  private readonly entries = new Map<string, StoredChallenge>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Every view that changed here, in the order it changed. */
    private readonly changed: (view: ChallengeView) => void,
  ) {}

  /** Loads what the database holds, newest first (the order the roles resume them in). */
  open(db: Db): void {
    const store = new ChallengeStore(db);
    this.store = store;
    for (const entry of store.all()) this.entries.set(entry.view.id, entry);
  }

  close(): void {
    this.entries.clear();
    this.store = undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  entry(id: string): StoredChallenge | undefined {
    return this.entries.get(id);
  }

  all(): StoredChallenge[] {
    return [...this.entries.values()];
  }

  /** Views, newest first. */
  list(): ChallengeView[] {
    return [...this.entries.values()].map((e) => e.view).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  }

  set(entry: StoredChallenge): void {
    this.entries.set(entry.view.id, entry);
  }

  /** A database that fails loses the copy, not the challenge: the one in memory goes on. */
  save(entry: StoredChallenge): void {
    try {
      this.store?.save(entry);
    } catch (error) {
      this.logger.error(`challenge ${entry.view.id.slice(0, 8)} could not be stored: ${(error as Error).message}`);
    }
  }

  emit(view: ChallengeView): void {
    this.changed(view);
  }

  /** Closes a challenge here with the reason: a new version, stored and told to the API. */
  cancel(entry: StoredChallenge, reason: string): ChallengeView {
    const view = { ...entry.view, state: 'cancelled' as const, cancelReason: reason, version: entry.view.version + 1, updatedAt: this.clock.now() };
    entry.view = view;
    this.save(entry);
    this.emit(view);
    this.logger.warn(`challenge ${view.id.slice(0, 8)} "${view.spec.title}" cancelled: ${reason}`);
    return view;
  }
}
