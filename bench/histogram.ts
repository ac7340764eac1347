/**
 * An HDR-style histogram: exact below 1024, then 512 log-linear sub-buckets per power of two
 * (< 0.2 % error) up to 2^42 ns (73 min), fixed memory, O(1) record. Values in ns; percentiles
 * are the upper bounds of their buckets.
 */
const exact = 1024;
const half = 512;
const maxExponent = 33;

export class Histogram {
  private readonly counts = new Float64Array(exact + maxExponent * half);
  private total = 0;
  private maxValue = 0;

  record(valueNs: number): void {
    const value = Math.max(0, Math.round(valueNs));
    let index: number;
    if (value < exact) {
      index = value;
    } else {
      const exponent = Math.min(maxExponent, Math.floor(Math.log2(value)) - 9);
      const sub = Math.min(exact - 1, Math.floor(value / 2 ** exponent));
      index = exact + (exponent - 1) * half + (sub - half);
    }
    this.counts[index]! += 1;
    this.total++;
    if (value > this.maxValue) this.maxValue = value;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxValue;
  }

  /** Value at percentile p (0..100). */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const target = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= target) return Math.min(this.maxValue, upperBound(index));
    }
    return this.maxValue;
  }
}

function upperBound(index: number): number {
  if (index < exact) return index;
  const exponent = Math.floor((index - exact) / half) + 1;
  const sub = ((index - exact) % half) + half;
  return (sub + 1) * 2 ** exponent - 1;
}
