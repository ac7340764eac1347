import { strict as assert } from 'node:assert';
import { formatCount, overLimit } from '../../../protocol/sizeLimit';

describe('node/sizeLimit: sizes over a limit, in its unit', () => {
  it('gives both numbers exactly, with thousands separators', () => {
    assert.equal(overLimit(16_385, 16_384), '16,385 bytes; the limit is 16,384 bytes');
    assert.equal(overLimit(24_001, 24_000, 'characters'), '24,001 characters; the limit is 24,000 characters');
    assert.equal(overLimit(4_294_967_295, 1024), '4,294,967,295 bytes; the limit is 1,024 bytes');
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(2 * 1024 * 1024 * 1024), '2,147,483,648');
  });
});
