import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder } from '../../../server/src/net/framing';

describe('net/framing', () => {
  it('decodes frames split at every byte boundary and joined in one chunk', () => {
    const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from([1, 2, 3])];
    const stream = Buffer.concat(payloads.map(encodeFrame));
    const whole = new FrameDecoder(1024).push(stream);
    assert.deepEqual(whole.frames, payloads);
    for (let step = 1; step <= 7; step++) {
      const decoder = new FrameDecoder(1024);
      const frames: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += step) frames.push(...decoder.push(stream.subarray(offset, offset + step)).frames);
      assert.deepEqual(frames.map((f) => Buffer.from(f)), payloads, `chunks of ${step}`);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('refuses an oversized frame from its header alone, before allocating', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    const outcome = decoder.push(header);
    assert.deepEqual(outcome.frames, []);
    assert.match(outcome.error!, /^oversized frame: 4,294,967,295 bytes; the limit is 1,024 bytes$/);
    assert.equal(decoder.bufferedBytes, 0);
    // Later input is ignored, the error stays.
    assert.match(decoder.push(encodeFrame(Buffer.from('x'))).error!, /oversized/);
  });

  it('accepts a frame of exactly the maximum and returns frames before a bad one', () => {
    const decoder = new FrameDecoder(16);
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(17, 0);
    const outcome = decoder.push(Buffer.concat([encodeFrame(Buffer.alloc(16, 1)), bad]));
    assert.equal(outcome.frames.length, 1);
    assert.ok(outcome.error);
  });

  it('measures each frame against the limit in force when it is taken', () => {
    // As a session does: the handshake's last frame and a larger data frame in one chunk, the
    // limit raised between the two.
    const decoder = new FrameDecoder(16);
    decoder.append(Buffer.concat([encodeFrame(Buffer.alloc(16, 1)), encodeFrame(Buffer.alloc(100, 2))]));
    assert.deepEqual(decoder.next(), Buffer.alloc(16, 1));
    decoder.setMaxFrameBytes(100);
    assert.deepEqual(decoder.next(), Buffer.alloc(100, 2));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.error, undefined);
    assert.equal(decoder.bufferedBytes, 0);
  });
});
