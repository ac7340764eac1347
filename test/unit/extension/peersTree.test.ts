import assert from 'node:assert/strict';
import { ago, childrenOf, rootItems, sessionsText, viewOf, type PeerItem } from '../../../extension/src/views/peersTree';
import type { NodeStatus, PeerSummary } from '../../../protocol/status';

const now = 1_700_000_000_000;

const status = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  state: 'running',
  nodeId: 'SELF',
  nodeIdDisplay: 'SELF',
  name: 'alice-laptop',
  version: '0.0.0',
  dataDir: '/data',
  meshKeySet: true,
  peers: 7,
  overlay: { sessions: 7, candidates: 20, activeTarget: 6, activeMax: 12, role: 'node' },
  listen: '192.168.1.20:47778',
  startedAt: now,
  pid: 1,
  problems: [],
  ...over,
});

let next = 0;
const peer = (over: Partial<PeerSummary>): PeerSummary => {
  const nodeId = `NODE${next++}`.padEnd(52, 'A');
  return { nodeId, nodeIdDisplay: `${nodeId.slice(0, 7)}-${nodeId.slice(7, 14)}`, name: '', state: 'discovered', route: 'unreachable', lastSeen: now, ...over };
};

const labels = (items: PeerItem[]) => items.map((item) => viewOf(item, now).label);

describe('extension: the Peers view model', () => {
  const bob = peer({ name: 'bob', state: 'up', route: 'direct', rttMs: 1.234, addr: '192.168.1.30:47778' });
  const carol = peer({ name: 'carol', route: 'via', hops: 3, cluster: 'lab', bridge: true });
  const dave = peer({ name: 'dave', route: 'via', hops: 2 });
  const nameless = peer({ route: 'via' });
  const erin = peer({ name: 'erin', state: 'down', route: 'unreachable', lastSeen: now - 5 * 60_000, downReason: 'heartbeat-timeout' });

  it('shows this node, then Direct, Through the mesh and Unreachable (collapsed), each with its count; empty groups are left out', () => {
    const roots = rootItems(status(), [erin, carol, nameless, bob, dave]);
    assert.deepEqual(labels(roots), ['alice-laptop', 'Direct (1)', 'Through the mesh (3)', 'Unreachable (1)']);
    assert.deepEqual(roots.map((item) => viewOf(item, now).state), ['collapsed', 'expanded', 'expanded', 'collapsed']);
    assert.deepEqual(labels(rootItems(status(), [dave])), ['alice-laptop', 'Through the mesh (1)']);
    // Through the mesh: the nearest first, nameless last.
    assert.deepEqual(labels(childrenOf(roots[2]!, now)), ['dave', 'carol', 'Unnamed node']);
  });

  it('describes each peer by how it is reached: RTT when direct, "via, N hops" otherwise, with cluster and bridge badges', () => {
    const row = (p: PeerSummary) => viewOf({ kind: 'peer', peer: p }, now);
    assert.equal(row(bob).description, '1.2 ms');
    assert.equal(row(bob).contextValue, 'personaMesh.peer.up', 'the ping button stays on peers with a session');
    assert.equal(row(carol).description, 'via, 3 hops · lab · bridge');
    assert.equal(row(carol).contextValue, 'personaMesh.peer.via');
    assert.equal(row(carol).icon, 'vm-connect');
    assert.equal(row(erin).description, 'last seen 5 min ago');
    assert.equal(row(erin).contextValue, 'personaMesh.peer');
    assert.equal(row(carol).accessibilityLabel, 'Peer carol, via, 3 hops, lab, bridge');
    // Never an id prefix as a name: a peer heard only through relays is "Unnamed node", told apart by its id after the route.
    assert.equal(row(nameless).label, 'Unnamed node');
    assert.equal(row(nameless).description, `via · ${nameless.nodeIdDisplay.slice(0, 7)}`);
    for (const p of [bob, carol, erin, nameless]) assert.match(row(p).contextValue!, /^personaMesh\.peer/, 'Copy Node ID stays on every peer');
  });

  it('tooltips list the details as text, and the view says the sessions against the watermarks', () => {
    const tooltip = viewOf({ kind: 'peer', peer: carol }, now).tooltip;
    assert.ok(typeof tooltip !== 'string');
    assert.equal(tooltip.title, 'carol');
    assert.deepEqual(tooltip.lines.slice(1, 4), [
      { label: 'Reached', value: 'through the mesh, 3 hops' },
      { label: 'Cluster', value: 'lab' },
      { label: 'Bridge', value: "holds its cluster's links to other clusters" },
    ]);
    assert.equal(sessionsText(status()), '7 of 6-12 sessions');
    assert.equal(sessionsText(status({ overlay: { sessions: 40, candidates: 3, activeTarget: 6, activeMax: 500, role: 'hub' } })), '40 of 6-500 sessions · hub');
    assert.equal(sessionsText(status({ overlay: { sessions: 8, candidates: 3, activeTarget: 6, activeMax: 12, role: 'node', cluster: '10.1.2.0/24', bridge: true } })), '8 of 6-12 sessions · cluster 10.1.2.0/24 · bridge');
    assert.equal(sessionsText(status({ overlay: undefined })), undefined, 'not on a mesh: nothing to say');
    const sessions = childrenOf({ kind: 'node', status: status() }, now).find((item) => item.kind === 'detail' && item.label === 'Sessions');
    assert.deepEqual(sessions && viewOf(sessions, now).description, '7, keeps 6 to 12; 20 candidates to replace a lost one');
  });

  it('says how long ago in words', () => {
    assert.deepEqual([ago(10_000), ago(4 * 60_000), ago(3 * 3_600_000), ago(3 * 86_400_000)], ['just now', '4 min ago', '3 h ago', '3 days ago']);
  });
});
