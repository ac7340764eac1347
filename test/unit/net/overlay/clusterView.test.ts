import assert from 'node:assert/strict';
import { electBridges } from '../../../../server/src/net/overlay/clusters';
import { ClusterView } from '../../../../server/src/net/overlay/clusterView';
import { FakeClock } from '../support/fakeClock';

describe("overlay clusters: a node's view of its own cluster", () => {
  const self = { id: 'self', addr: '10.0.1.5:7000' };
  const member = (i: number) => ({ id: `m${i}`, addr: `10.0.1.${10 + i}:7000` });

  it('counts the members it hears in its subnet and elects the same bridges as anyone with that membership', () => {
    const clock = new FakeClock();
    const view = new ClusterView({ self, clock });
    assert.equal(view.cluster, '10.0.1.0/24');
    assert.equal(view.isBridge(), true, 'alone, a node is its cluster bridge');
    for (let i = 0; i < 10; i++) view.heard(member(i));
    view.heard({ id: 'far', addr: '10.0.2.7:7000' });
    view.heard({ id: 'labelled', addr: '10.0.1.99:7000', cluster: 'lab' });
    assert.equal(view.size(), 11);
    const expected = electBridges('10.0.1.0/24', ['self', ...Array.from({ length: 10 }, (_, i) => `m${i}`)]);
    assert.equal(view.isBridge(), expected.includes('self'));
    assert.deepEqual(view.otherBridges().map((peer) => peer.id), expected.filter((id) => id !== 'self'));
    for (const id of expected) if (id !== 'self') assert.equal(view.isBridge(id), true);
    assert.equal(view.clusterOf('far'), '10.0.2.0/24');
    assert.equal(view.clusterOf('labelled'), 'lab');
    assert.equal(view.isBridge('far'), undefined, "another cluster's bridges are its own business");
    assert.equal(view.clusterOf('never-heard'), undefined);
  });

  it('fails over when a bridge says goodbye or is not heard for its timeout', () => {
    const clock = new FakeClock();
    const view = new ClusterView({ self, clock, memberTimeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) view.heard(member(i));
    const before = electBridges('10.0.1.0/24', ['self', ...Array.from({ length: 10 }, (_, i) => `m${i}`)]);
    const bridge = before.find((id) => id !== 'self')!;
    assert.equal(view.gone(bridge), true, 'a bridge leaving changes the bridges');
    assert.equal(view.isBridge(bridge), false);
    const bystander = Array.from({ length: 10 }, (_, i) => `m${i}`).find((id) => !electBridges('10.0.1.0/24', ['self', ...Array.from({ length: 10 }, (_, i) => `m${i}`)], 3).includes(id))!;
    assert.equal(view.gone(bystander), false, 'a member that is no bridge leaving changes nothing');

    // Everyone but one member keeps beaconing; that one falls silent past the timeout.
    const silent = view.otherBridges()[0]!.id;
    clock.advance(40_000);
    for (let i = 0; i < 10; i++) if (`m${i}` !== silent && `m${i}` !== bridge && `m${i}` !== bystander) view.heard(member(i));
    assert.equal(view.expire(), false);
    assert.ok(view.otherBridges().some((peer) => peer.id === silent));
    clock.advance(30_000);
    assert.equal(view.expire(), true);
    assert.ok(!view.otherBridges().some((peer) => peer.id === silent));
  });
});
