/**
 * Named counters for diagnostics (`mesh.stats()`): rejections by reason, closes by reason,
 * frames, bytes. Plain numbers in a Map: cheap enough to bump on every frame.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  add(name: string, amount = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + amount);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** All counters whose name starts with `prefix`, sorted by name. */
  snapshot(prefix = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...this.values.keys()].sort()) {
      if (name.startsWith(prefix)) out[name] = this.values.get(name)!;
    }
    return out;
  }
}
