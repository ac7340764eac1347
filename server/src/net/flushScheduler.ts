/**
 * Batches writes per event-loop turn: sessions that queued messages register here, and one
 * `setImmediate` flushes them all after the current turn's I/O callbacks, so everything written in
 * one turn is sealed into one frame per session (one encrypt, one write).
 */
export interface Flushable {
  flush(): void;
}

export class FlushScheduler {
  private readonly dirty = new Set<Flushable>();
  private pending: NodeJS.Immediate | undefined;

  schedule(target: Flushable): void {
    this.dirty.add(target);
    this.pending ??= setImmediate(() => this.run());
  }

  cancel(target: Flushable): void {
    this.dirty.delete(target);
    if (this.dirty.size === 0 && this.pending) {
      clearImmediate(this.pending);
      this.pending = undefined;
    }
  }

  /** Flushes now (used before a graceful close). */
  run(): void {
    this.pending = undefined;
    // Targets added during a flush wait for the next turn: the loop is bounded by this snapshot.
    const targets = [...this.dirty];
    this.dirty.clear();
    for (const target of targets) target.flush();
  }
}

export const sharedFlushScheduler = new FlushScheduler();
