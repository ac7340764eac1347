/**
 * Sliding replay window over rising counters (as in IPsec/DTLS): accepts each counter once,
 * tolerates reordering within `size`, and counts the counters never seen (loss) as the window
 * moves past them.
 */
export type ReplayVerdict = 'ok' | 'replay' | 'too-old';

export class ReplayWindow {
  private highest = -1;
  private first = 0;
  /** Bit i set = counter (highest - i) seen. */
  private bits: Uint32Array;
  private lostCount = 0;
  private received = 0;

  constructor(readonly size = 1024) {
    if (size < 32 || size % 32 !== 0) throw new RangeError('size must be a positive multiple of 32');
    this.bits = new Uint32Array(size / 32);
  }

  /** Counters never accepted since the first one seen: those the window left behind plus gaps in it. */
  get lost(): number {
    let missingInWindow = 0;
    const span = this.span();
    for (let i = 0; i < span; i++) if (!this.test(i)) missingInWindow++;
    return this.lostCount + missingInWindow;
  }

  get highestSeen(): number {
    return this.highest;
  }

  get accepted(): number {
    return this.received;
  }

  /** Checks without recording. */
  check(counter: number): ReplayVerdict {
    if (!Number.isSafeInteger(counter) || counter < 0) return 'too-old';
    if (counter > this.highest) return 'ok';
    const offset = this.highest - counter;
    if (offset >= this.size) return 'too-old';
    return this.test(offset) ? 'replay' : 'ok';
  }

  /** Checks and records; only an 'ok' counter is recorded. */
  accept(counter: number): ReplayVerdict {
    const verdict = this.check(counter);
    if (verdict !== 'ok') return verdict;
    this.received++;
    if (counter > this.highest) this.advance(counter);
    else if (counter < this.first) this.first = counter;
    this.set(this.highest - counter);
    return 'ok';
  }

  /** Valid offsets: the window, but nothing before the first counter seen. */
  private span(): number {
    return this.highest < 0 ? 0 : Math.min(this.size, this.highest - this.first + 1);
  }

  private advance(newHighest: number): void {
    if (this.highest < 0) {
      this.first = newHighest;
      this.highest = newHighest;
      return;
    }
    const by = newHighest - this.highest;
    const span = this.span();
    // Old offsets that leave the window: count the never-seen ones as lost.
    for (let i = Math.max(0, this.size - by); i < span; i++) if (!this.test(i)) this.lostCount++;
    // Skipped counters that are outside the new window at once.
    if (by > this.size) this.lostCount += by - this.size;
    if (by >= this.size) {
      this.bits.fill(0);
    } else {
      const words = this.bits.length;
      const wordShift = Math.floor(by / 32);
      const bitShift = by % 32;
      for (let w = words - 1; w >= 0; w--) {
        const source = w - wordShift;
        let value = 0;
        if (source >= 0) {
          value = (this.bits[source]! << bitShift) >>> 0;
          if (bitShift > 0 && source - 1 >= 0) value = (value | (this.bits[source - 1]! >>> (32 - bitShift))) >>> 0;
        }
        this.bits[w] = value;
      }
    }
    this.highest = newHighest;
  }

  private test(offset: number): boolean {
    return (this.bits[offset >>> 5]! & (1 << (offset & 31))) !== 0;
  }

  private set(offset: number): void {
    this.bits[offset >>> 5] = (this.bits[offset >>> 5]! | (1 << (offset & 31))) >>> 0;
  }
}
