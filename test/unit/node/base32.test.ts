import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { base32Decode, base32Encode } from '../../../server/src/kernel/base32';

describe('base32', () => {
  it('matches the RFC 4648 test vectors (without padding)', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
    for (const [plain, encoded] of vectors) {
      assert.equal(base32Encode(Buffer.from(plain)), encoded);
      assert.equal(base32Decode(encoded).toString(), plain);
    }
  });

  it('round-trips any bytes and ignores grouping dashes and case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const encoded = base32Encode(bytes);
        assert.deepEqual(base32Decode(encoded), Buffer.from(bytes));
        const grouped = (encoded.match(/.{1,7}/g) ?? []).join('-').toLowerCase();
        assert.deepEqual(base32Decode(grouped), Buffer.from(bytes));
      }),
    );
  });

  it('rejects characters outside the alphabet', () => {
    assert.throws(() => base32Decode('MZ1W'), /not base32: '1'/);
  });
});
