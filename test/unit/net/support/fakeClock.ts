/** Test support for the net layer: the manual clock and a fixed Random. */
import type { Random } from '../../../../server/src/kernel/clock';

/** The shared manual clock, under the name the net tests use. */
export { ManualClock as FakeClock } from '../../../support/manualClock';

/** Deterministic Random: a fixed sequence of floats, repeated. */
export function fixedRandom(values: number[] = [0.5]): Random {
  let index = 0;
  return {
    next: () => values[index++ % values.length]!,
    bytes: (length) => Buffer.alloc(length, index++ & 0xff),
  };
}
