import { strict as assert } from 'node:assert';
import { cryptoRandom } from '../../../server/src/kernel/random';

describe('cryptoRandom', () => {
  it('gives floats in [0, 1) that spread over the whole range', () => {
    const samples = Array.from({ length: 2000 }, () => cryptoRandom.next());
    assert.ok(samples.every((x) => x >= 0 && x < 1));
    assert.ok(Math.min(...samples) < 0.05 && Math.max(...samples) > 0.95);
    assert.equal(cryptoRandom.bytes(16).length, 16);
  });
});
