import assert from 'node:assert/strict';
import { isBeacon } from '../../../../server/src/net/beacon';
import { clusterKey, clusterLabel, clusterOfRef, electBridges } from '../../../../server/src/net/overlay/clusters';
import { meshProtocolVersion } from '../../../../protocol/mesh';

describe('overlay clusters: keys and bridge election', () => {
  it("keys a node by its explicit label, else its IPv4 address's /24, else its host", () => {
    assert.equal(clusterKey('10.1.2.3:7000'), '10.1.2.0/24');
    assert.equal(clusterKey('10.1.2.250:7001'), '10.1.2.0/24');
    assert.notEqual(clusterKey('10.1.3.3:7000'), clusterKey('10.1.2.3:7000'));
    assert.equal(clusterKey('127.0.0.1:41234'), '127.0.0.0/24');
    assert.equal(clusterKey('10.1.2.3:7000', 'floor-2'), 'floor-2');
    assert.equal(clusterKey('[fe80::1]:7000'), 'fe80::1');
    assert.equal(clusterKey('300.1.2.3:7000'), '300.1.2.3');
    assert.equal(clusterOfRef({ id: 'a', addr: '10.1.2.3:7000' }), '10.1.2.0/24');
    assert.equal(clusterOfRef({ id: 'a', addr: '10.1.2.3:7000', cluster: 'lab' }), 'lab');
  });

  it('takes a configured label trimmed, ignores an empty one and rejects an overlong one', () => {
    assert.equal(clusterLabel('  lab '), 'lab');
    assert.equal(clusterLabel('  '), undefined);
    assert.equal(clusterLabel(undefined), undefined);
    assert.throws(() => clusterLabel('x'.repeat(65)), RangeError);
  });

  it('elects the same bridges whatever the order the members are known in', () => {
    const members = Array.from({ length: 50 }, (_, i) => `node-${i}`);
    const bridges = electBridges('10.1.2.0/24', members);
    assert.equal(bridges.length, 2);
    assert.deepEqual(electBridges('10.1.2.0/24', [...members].reverse()), bridges);
    assert.deepEqual(electBridges('10.1.2.0/24', [...members, ...members]), bridges);
    assert.equal(electBridges('10.1.2.0/24', members, 3).length, 3);
    assert.deepEqual(electBridges('10.1.2.0/24', members, 3).slice(0, 2), bridges);
    // Another cluster key ranks the same ids differently (no node is every cluster's bridge).
    assert.notDeepEqual(electBridges('10.9.9.0/24', members), bridges);
  });

  it('fails over: when a bridge leaves, only its place changes', () => {
    const members = Array.from({ length: 20 }, (_, i) => `node-${i}`);
    const [first, second] = electBridges('lab', members);
    const third = electBridges('lab', members, 3)[2];
    const without = members.filter((id) => id !== first);
    assert.deepEqual(electBridges('lab', without), [second, third]);
    // A member that is not a bridge leaving changes nothing.
    const bystander = members.find((id) => id !== first && id !== second)!;
    assert.deepEqual(electBridges('lab', members.filter((id) => id !== bystander)), [first, second]);
    // A lone node is its cluster's bridge; nobody known, no bridge.
    assert.deepEqual(electBridges('lab', ['solo']), ['solo']);
    assert.deepEqual(electBridges('lab', []), []);
    assert.throws(() => electBridges('lab', members, 0), RangeError);
  });
});

describe('overlay clusters: the label in beacons', () => {
  it('accepts a beacon with a cluster label up to 64 characters, and rejects another type or a longer one', () => {
    const beacon = { v: meshProtocolVersion, nodeId: 'A'.repeat(52), instance: '0011223344556677', counter: 1, ts: 0, tcp: '127.0.0.1:4000', name: 'n' };
    assert.equal(isBeacon(beacon), true);
    assert.equal(isBeacon({ ...beacon, cl: 'floor-2' }), true);
    assert.equal(isBeacon({ ...beacon, cl: 'x'.repeat(64) }), true);
    assert.equal(isBeacon({ ...beacon, cl: 'x'.repeat(65) }), false);
    assert.equal(isBeacon({ ...beacon, cl: 2 }), false);
    assert.equal(isBeacon({ ...beacon, cl: '' }), false);
  });
});
