/**
 * Default randomness of the net layer when none is injected. (`node/random.ts`'s cryptoRandom
 * calls randomInt(0, 2**48), which Node rejects: its range must stay below 2**48.)
 */
import { randomBytes } from 'node:crypto';
import type { Random } from '../node/clock';

export const netRandom: Random = {
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  bytes: (length) => randomBytes(length),
};
