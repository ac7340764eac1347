import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { FrameDecoder } from '../../../server/src/net/framing';
import { Opener, Sealer, sodiumMaxBytes } from '../../../server/src/net/transportCipher';
import { FakeClock } from './support/fakeClock';

const key = Buffer.alloc(32, 9);

function frames(sealer: Sealer, texts: string[]): Buffer[] {
  const decoder = new FrameDecoder();
  return texts.flatMap((text) => decoder.push(sealer.sealFrame(Buffer.from(text))).frames);
}

describe('net/transportCipher (ChaCha20-Poly1305, counter nonces, rekey)', () => {
  it('opens what it seals, in order', () => {
    const clock = new FakeClock();
    const sealer = new Sealer(key, clock);
    const opener = new Opener(key);
    for (const frame of frames(sealer, ['one', 'two', ''])) assert.ok(opener.open(frame));
    const decoder = new FrameDecoder();
    const [batch] = decoder.push(sealer.sealFrame(Buffer.from('abcd'))).frames;
    assert.equal(opener.open(batch!)!.toString(), 'abcd');
  });

  it('fails on a flipped bit, a replayed frame, a reordered frame and a wrong key', () => {
    const clock = new FakeClock();
    const sealed = frames(new Sealer(key, clock), ['a', 'b', 'c']);
    for (let byte = 0; byte < sealed[0]!.length; byte++) {
      const copy = Buffer.from(sealed[0]!);
      copy[byte]! ^= 0x10;
      assert.equal(new Opener(key).open(copy), undefined, `byte ${byte}`);
    }
    const opener = new Opener(key);
    assert.ok(opener.open(sealed[0]!));
    assert.equal(opener.open(sealed[0]!), undefined, 'replay');
    const reorder = new Opener(key);
    assert.equal(reorder.open(sealed[1]!), undefined, 'reordered');
    assert.equal(new Opener(Buffer.alloc(32, 1)).open(sealed[0]!), undefined, 'wrong key');
  });

  it('rekeys after the frame limit and after the time limit; the receiver follows', () => {
    const clock = new FakeClock();
    const sealer = new Sealer(key, clock, { afterFrames: 3, afterMs: 1000 });
    const opener = new Opener(key);
    for (const frame of frames(sealer, ['1', '2', '3', '4', '5', '6', '7'])) assert.ok(opener.open(frame));
    assert.equal(sealer.rekeyCount, 2);
    clock.advance(1000);
    for (const frame of frames(sealer, ['8'])) assert.ok(opener.open(frame));
    assert.equal(sealer.rekeyCount, 3);
    // A fresh receiver follows a rekey from the key-phase bit.
    const stale = new Opener(key);
    const next = frames(new Sealer(key, clock, { afterFrames: 1, afterMs: 1e9 }), ['x', 'y']);
    assert.ok(stale.open(next[0]!));
    assert.ok(stale.open(next[1]!));
  });

  it('libsodium (small frames) and node:crypto (large frames) write the same AEAD bytes and open each other', () => {
    const clock = new FakeClock();
    for (const size of [0, 1, 1000, sodiumMaxBytes, sodiumMaxBytes + 1, 200_000]) {
      const plaintext = Buffer.alloc(size, 7);
      const [frame] = new FrameDecoder().push(new Sealer(key, clock).sealFrame(plaintext)).frames;
      // Reference: node:crypto with counter 0, phase 0 as associated data.
      const cipher = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
      cipher.setAAD(Buffer.of(0), { plaintextLength: size });
      const expected = Buffer.concat([Buffer.of(0), cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      assert.ok(frame!.equals(expected), `size ${size}`);
      assert.ok(new Opener(key).open(frame!)!.equals(plaintext), `size ${size}`);
    }
  });
});
