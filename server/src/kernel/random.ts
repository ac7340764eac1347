import { randomBytes } from 'node:crypto';
import type { Random } from './clock';

export const cryptoRandom: Random = {
  // 48 random bits: uniform in [0, 1) with more resolution than jitter and sampling need.
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  bytes: (length) => randomBytes(length),
};
