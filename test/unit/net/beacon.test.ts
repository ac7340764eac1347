import assert from 'node:assert/strict';
import { BeaconVerifier, encodeBeacon, parseBeacon } from '../../../server/src/net/beacon';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { meshProtocolVersion, type Beacon } from '../../../protocol/mesh';

const key = Buffer.alloc(32, 1);
const nodeId = generateIdentity().identity.nodeId;
const now = 1_800_000_000_000;

function beacon(overrides: Partial<Beacon> = {}): Beacon {
  return { v: meshProtocolVersion, nodeId, instance: '0011223344556677', counter: 1, ts: now, tcp: '127.0.0.1:4000', name: 'n', ...overrides };
}

describe('net/beacon', () => {
  const self = { nodeId: generateIdentity().identity.nodeId, instance: 'ffffffffffffffff' };

  it('accepts an authentic beacon once; rejects replays and lower counters', () => {
    const verifier = new BeaconVerifier(key, self, () => now);
    const first = encodeBeacon(beacon({ counter: 5 }), key);
    assert.deepEqual(verifier.verify(first), { ok: true, beacon: beacon({ counter: 5 }) });
    assert.deepEqual(verifier.verify(first), { ok: false, reason: 'replay' });
    assert.deepEqual(verifier.verify(encodeBeacon(beacon({ counter: 4 }), key)), { ok: false, reason: 'replay' });
    assert.equal(verifier.verify(encodeBeacon(beacon({ counter: 6 }), key)).ok, true);
    // A new instance (restart) starts its own counter.
    assert.equal(verifier.verify(encodeBeacon(beacon({ counter: 1, instance: 'aaaaaaaaaaaaaaaa' }), key)).ok, true);
  });

  it('rejects a wrong key, a flipped bit, clock skew over 30 s, our own beacon, and junk', () => {
    const verifier = new BeaconVerifier(key, self, () => now);
    assert.deepEqual(verifier.verify(encodeBeacon(beacon(), Buffer.alloc(32, 2))), { ok: false, reason: 'bad-hmac' });
    const flipped = encodeBeacon(beacon({ counter: 9 }), key);
    flipped[10]! ^= 4;
    assert.deepEqual(verifier.verify(flipped), { ok: false, reason: 'bad-hmac' });
    assert.deepEqual(verifier.verify(encodeBeacon(beacon({ ts: now - 30_001 }), key)), { ok: false, reason: 'clock-skew' });
    assert.deepEqual(verifier.verify(encodeBeacon(beacon({ ts: now + 30_001 }), key)), { ok: false, reason: 'clock-skew' });
    assert.equal(verifier.verify(encodeBeacon(beacon({ ts: now + 29_000, counter: 20 }), key)).ok, true);
    assert.deepEqual(verifier.verify(encodeBeacon(beacon({ ...self }), key)), { ok: false, reason: 'self' });
    assert.deepEqual(verifier.verify(Buffer.alloc(10)), { ok: false, reason: 'malformed' });
    assert.deepEqual(verifier.verify(Buffer.alloc(2000)), { ok: false, reason: 'too-large' });
  });

  it('rejects authentic but ill-formed beacons as malformed', () => {
    for (const bad of [{ nodeId: 'short' }, { counter: -1 }, { tcp: 'nowhere' }, { v: 99 }, { name: 'x'.repeat(100) }] as Partial<Beacon>[]) {
      assert.deepEqual(parseBeacon(encodeBeacon(beacon(bad), key), key), { ok: false, reason: 'malformed' }, JSON.stringify(bad));
    }
  });
});
