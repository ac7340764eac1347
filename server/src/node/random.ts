import { randomBytes, randomInt } from 'node:crypto';
import type { Random } from './clock';

export const cryptoRandom: Random = {
  next: () => randomInt(0, 2 ** 48) / 2 ** 48,
  bytes: (length) => randomBytes(length),
};
