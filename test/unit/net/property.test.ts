/**
 * Property tests: no byte sequence fed to the frame decoder, the beacon parser, the fast lane or a
 * live session ever throws out of the component; a session fed garbage closes with a reason.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BeaconVerifier, encodeBeacon, parseBeacon } from '../../../server/src/net/beacon';
import { decode, decodeBatch, decodeSessionMessage, encode, isRecord, toSessionMessage } from '../../../server/src/net/codec';
import { Counters } from '../../../server/src/net/counters';
import { FrameDecoder } from '../../../server/src/net/framing';
import { isEnvelope } from '../../../server/src/net/router';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { DatagramKind, meshProtocolVersion, type Beacon } from '../../../protocol/mesh';
import { openSessionPair } from './support/sessionPair';

const key = Buffer.alloc(32, 3);

describe('net property tests (fast-check)', () => {
  it('the frame decoder never throws and never yields a frame above the limit, for any chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), fc.integer({ min: 0, max: 64 }), (chunks, max) => {
        const decoder = new FrameDecoder(max);
        for (const chunk of chunks) {
          const outcome = decoder.push(chunk);
          for (const frame of outcome.frames) assert.ok(frame.length <= max);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the beacon parser and verifier never throw, for any bytes (and any bytes after a valid kind byte)', () => {
    const verifier = new BeaconVerifier(key, { nodeId: 'X', instance: 'y' }, () => 0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (bytes, kind) => {
        const datagram = Buffer.from(bytes);
        if (kind && datagram.length > 0) datagram[0] = DatagramKind.beacon;
        const parsed = parseBeacon(datagram, key);
        assert.equal(parsed.ok, false);
        assert.equal(verifier.verify(datagram).ok, false);
      }),
      { numRuns: 3000 },
    );
  });

  it('an authenticated beacon with any body is either well-formed or rejected as malformed', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const datagram = encodeBeacon(value as never, key);
        if (datagram.length > 1200) return;
        const parsed = parseBeacon(datagram, key);
        if (!parsed.ok) assert.ok(parsed.reason === 'malformed');
      }),
      { numRuns: 1000 },
    );
    // A valid one for contrast.
    const beacon: Beacon = { v: meshProtocolVersion, nodeId: generateIdentity().identity.nodeId, instance: 'a', counter: 1, ts: 0, tcp: '10.0.0.1:1', name: '' };
    assert.equal(parseBeacon(encodeBeacon(beacon, key), key).ok, true);
  });

  it('the codec and the envelope check never throw, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const decoded = decode(bytes);
        if (decoded.ok) isEnvelope(decoded.value);
        const message = decodeSessionMessage(bytes);
        if (message.ok && isRecord(message.value) && message.value.t === 'env') isEnvelope(message.value.e);
        for (const value of decodeBatch(bytes).values) toSessionMessage(value);
      }),
      { numRuns: 3000 },
    );
  });

  it('envelope tuples with any field values decode without throwing, and valid ones round-trip', () => {
    fc.assert(
      fc.property(fc.array(fc.anything(), { maxLength: 12 }), (fields) => {
        const message = decodeSessionMessage(encode(['env', ...fields]));
        if (message.ok && isRecord(message.value) && message.value.t === 'env') isEnvelope(message.value.e);
      }),
      { numRuns: 1000 },
    );
  });

  it('a session fed any bytes after the handshake closes with a reason, and the other keeps working', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        const counters = new Counters();
        const pair = await openSessionPair({ counters });
        try {
          const closed = new Promise<string>((resolve) => pair.b.once('close', resolve));
          pair.rawA.write(bytes);
          // Either the garbage is an incomplete frame (nothing happens yet) or it closes the session.
          const header = bytes.length >= 4 ? Buffer.from(bytes).readUInt32BE(0) : Infinity;
          if (bytes.length >= 4 && 4 + header <= bytes.length) {
            const reason = await closed;
            assert.match(reason, /auth-failed|oversized-frame|bad-frame/);
          } else if (bytes.length >= 4 && header > 16 * 1024 * 1024) {
            assert.equal(await closed, 'oversized-frame');
          }
        } finally {
          await pair.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
