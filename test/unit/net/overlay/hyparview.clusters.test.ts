/**
 * HyParView with a cluster policy, one node at a time: what it answers to inter-cluster requests,
 * which candidates it dials, and what it drops when its role changes. The overlay-wide behaviour
 * (few inter-cluster links, failover) is in clusters.sim.test.ts.
 */
import assert from 'node:assert/strict';
import { HyParView } from '../../../../server/src/net/overlay/hyparview';
import type { ClusterPolicy, MembershipMessage, PeerRef } from '../../../../server/src/net/overlay/types';
import { FakeClock, fixedRandom } from '../support/fakeClock';

const me: PeerRef = { id: 'me', addr: 'h:1', cluster: 'A' };
const bridgeA: PeerRef = { id: 'bridge-a', addr: 'h:2', cluster: 'A' };
const localPeer: PeerRef = { id: 'a1', addr: 'h:3', cluster: 'A' };
const otherLocal: PeerRef = { id: 'a2', addr: 'h:4', cluster: 'A' };
const remote: PeerRef = { id: 'b1', addr: 'h:5', cluster: 'B' };
const remote2: PeerRef = { id: 'c1', addr: 'h:6', cluster: 'C' };

function setup(bridge: boolean, tuning: { activeTarget?: number } = {}) {
  const role = { bridge };
  const policy: ClusterPolicy = {
    clusterOf: (peer) => peer.cluster ?? '',
    isBridge: () => role.bridge,
    bridges: () => (role.bridge ? [] : [bridgeA]),
  };
  const sent: Array<{ to: string; message: MembershipMessage }> = [];
  const connects: string[] = [];
  const sessions = new Set<string>();
  const clock = new FakeClock();
  const hv = new HyParView({
    self: me,
    clock,
    random: fixedRandom([0.1, 0.6, 0.3]),
    cluster: policy,
    shuffleIntervalMs: 0,
    ...tuning,
    links: {
      connect: (peer) => connects.push(peer.id),
      disconnect: (peerId) => sessions.delete(peerId),
      send: (peerId, message) => {
        if (!sessions.has(peerId)) return false;
        sent.push({ to: peerId, message });
        return true;
      },
      sendTo: () => false,
    },
  });
  hv.start();
  /** `peer` opens a session to us and asks to be a neighbour. */
  const inbound = (peer: PeerRef, high = false) => {
    sessions.add(peer.id);
    hv.sessionUp(peer.id, false);
    hv.receive(peer.id, { t: 'hv.nbr', peer, high });
  };
  const lastTo = (id: string) => sent.filter((entry) => entry.to === id).at(-1)?.message;
  return { hv, role, sent, connects, sessions, inbound, lastTo };
}

describe('HyParView with clusters', () => {
  it("a non-bridge with a peer in its cluster answers another cluster's request 'full, try' its bridges", () => {
    const { hv, inbound, lastTo } = setup(false);
    inbound(localPeer);
    assert.deepEqual(hv.activePeers(), ['a1']);
    inbound(remote);
    assert.deepEqual(lastTo('b1'), { t: 'hv.nbr.re', ok: false, try: [bridgeA] });
    // Even a node with no peer at all is sent to the bridges (they take high-priority requests).
    inbound(remote2, true);
    assert.deepEqual(lastTo('c1'), { t: 'hv.nbr.re', ok: false, try: [bridgeA] });
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.ok(hv.passivePeers().some((peer) => peer.id === 'b1' && peer.cluster === 'B'), 'the requester stays an inter-cluster candidate');
    assert.equal(hv.stats().redirected, 2);
  });

  it("a bridge takes another cluster's requests up to its inter-cluster links, more only for a cluster it has no link to", () => {
    const { hv, inbound, lastTo } = setup(true);
    inbound(localPeer);
    inbound(remote);
    inbound({ id: 'b2', addr: 'h:7', cluster: 'B' });
    assert.deepEqual(hv.activePeers().sort(), ['a1', 'b1', 'b2']);
    inbound({ id: 'b3', addr: 'h:8', cluster: 'B' });
    assert.equal((lastTo('b3') as { ok: boolean }).ok, false, 'a third link to cluster B');
    inbound(remote2);
    assert.deepEqual(hv.activePeers().sort(), ['a1', 'b1', 'b2', 'c1']);
  });

  it('a non-bridge cut off from its cluster links to another one, and drops that link once it has a peer in its own', () => {
    const { hv, inbound, lastTo } = setup(false);
    inbound(remote);
    assert.deepEqual(hv.activePeers(), ['b1']);
    inbound(localPeer);
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.deepEqual(lastTo('b1'), { t: 'hv.disc', alive: true });
    assert.equal(hv.stats().shed, 1);
  });

  it('dials another cluster only as a bridge, even at target; a node elected bridge starts at once', () => {
    const { hv, role, connects, inbound } = setup(false, { activeTarget: 1 });
    inbound(localPeer);
    hv.addCandidate(remote);
    hv.addCandidate(otherLocal);
    assert.deepEqual(connects, [], 'at target, a non-bridge dials nobody');
    role.bridge = true;
    hv.clusterChanged();
    assert.deepEqual(connects, ['b1']);
  });

  it('a node no longer a bridge leaves its inter-cluster links to the new bridges', () => {
    const { hv, role, inbound, lastTo } = setup(true);
    inbound(localPeer);
    inbound(remote);
    assert.deepEqual(hv.activePeers().sort(), ['a1', 'b1']);
    role.bridge = false;
    hv.clusterChanged();
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.deepEqual(lastTo('b1'), { t: 'hv.disc', alive: true });
  });

  it('a node demoted while its inter-cluster request is in flight withdraws when the acceptance comes', () => {
    const { hv, role, connects, sessions, inbound, lastTo } = setup(true, { activeTarget: 1 });
    inbound(localPeer);
    hv.addCandidate(remote);
    assert.deepEqual(connects, ['b1'], 'a bridge asks for an inter-cluster link');
    sessions.add('b1');
    hv.sessionUp('b1', true);
    assert.deepEqual(lastTo('b1'), { t: 'hv.nbr', peer: me, high: false });
    role.bridge = false;
    hv.clusterChanged();
    hv.receive('b1', { t: 'hv.nbr.re', ok: true, try: [] });
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.deepEqual(lastTo('b1'), { t: 'hv.disc', alive: true });
    assert.ok(!sessions.has('b1'), 'the session is closed');
    assert.ok(hv.passivePeers().some((peer) => peer.id === 'b1'), 'and the peer stays a candidate');
  });

  it('a node cut off when it asked another cluster withdraws if a peer of its own came up before the answer', () => {
    const { hv, connects, sessions, inbound, lastTo } = setup(false, { activeTarget: 1 });
    hv.addCandidate(remote);
    assert.deepEqual(connects, ['b1']);
    sessions.add('b1');
    hv.sessionUp('b1', true);
    inbound(localPeer);
    hv.receive('b1', { t: 'hv.nbr.re', ok: true, try: [] });
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.deepEqual(lastTo('b1'), { t: 'hv.disc', alive: true });
  });

  it('keeps its inter-cluster links while the peer of its own cluster is only being asked, and sheds them once it is up', () => {
    const { hv, role, connects, sessions, inbound, lastTo } = setup(true, { activeTarget: 2 });
    inbound(remote);
    hv.addCandidate(localPeer);
    assert.deepEqual(connects, ['a1']);
    role.bridge = false;
    hv.clusterChanged();
    assert.deepEqual(hv.activePeers(), ['b1'], 'the request to a1 may still fail');
    sessions.add('a1');
    hv.sessionUp('a1', true);
    hv.receive('a1', { t: 'hv.nbr.re', ok: true, try: [] });
    assert.deepEqual(hv.activePeers(), ['a1']);
    assert.deepEqual(lastTo('b1'), { t: 'hv.disc', alive: true });
  });

  it('a bridge whose active view is all inter-cluster links asks a node of its own cluster too, and keeps those links', () => {
    const { hv, connects, sessions, inbound } = setup(true, { activeTarget: 2 });
    inbound(remote);
    inbound({ id: 'b2', addr: 'h:7', cluster: 'B' });
    assert.deepEqual(hv.activePeers().sort(), ['b1', 'b2']);
    hv.addCandidate(localPeer);
    assert.deepEqual(connects, ['a1'], "at target, yet its cluster's events reach it only over a link in the cluster");
    sessions.add('a1');
    hv.sessionUp('a1', true);
    hv.receive('a1', { t: 'hv.nbr.re', ok: true, try: [] });
    assert.deepEqual(hv.activePeers().sort(), ['a1', 'b1', 'b2']);
  });

  it('keeps a cluster label a peer sends, and rejects a malformed one', () => {
    const { hv } = setup(false);
    assert.equal(hv.receive('x', { t: 'hv.shuf.re', peers: [{ id: 'q', addr: 'h:9', cluster: 7 }] }), false);
    assert.equal(hv.receive('x', { t: 'hv.shuf.re', peers: [{ id: 'q', addr: 'h:9', cluster: 'B' }] }), true);
  });
});
