/**
 * Two live instances of one node id (a copied data folder), MeshNetworks in process on loopback:
 * who notices, who is refused, and that the instance that stays keeps its sessions. Then the
 * cases that must stay a plain restart.
 */
import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { generateIdentity, type Identity } from '../../../server/src/kernel/identity';
import type { MeshNetwork } from '../../../server/src/net/meshNetwork';
import { freshPort, makeNode, stopAll, waitFor, type TestNode } from './support/meshHarness';

type Refusal = { running: string; reportedBy: string };

function refusals(mesh: MeshNetwork): Refusal[] {
  const seen: Refusal[] = [];
  mesh.on('identity.duplicate', (report) => seen.push(report));
  return seen;
}

function downs(mesh: MeshNetwork): { nodeId: string; reason: string }[] {
  const seen: { nodeId: string; reason: string }[] = [];
  mesh.on('peer.down', (down) => seen.push(down));
  return seen;
}

/** `a` and `b` call each other over their session: it is up and both read what the other sends. */
async function answers(a: MeshNetwork, b: MeshNetwork): Promise<void> {
  assert.equal(((await a.call(b.nodeId, 'ping')) as { pong?: boolean }).pong, true);
  assert.equal(((await b.call(a.nodeId, 'ping')) as { pong?: boolean }).pong, true);
}

describe('two live instances of one node id (in process)', function () {
  this.timeout(30_000);
  let nodes: TestNode[] = [];
  let proxies: Server[] = [];
  const proxied: Socket[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
    for (const socket of proxied.splice(0)) socket.destroy();
    await Promise.all(proxies.map((proxy) => new Promise((resolve) => proxy.close(resolve))));
    proxies = [];
  });

  function node(identity: Identity, options: { port?: number; peers?: string[]; startedLater?: number; name?: string; deadAfterMs?: number; duplicateProbeMs?: number } = {}): TestNode {
    const made = makeNode(options.port, {
      identity,
      staticPeers: options.peers ?? [],
      ...(options.name ? { name: options.name } : {}),
      // A copy started that much later than now (its wall clock is not skewed: beacons would be dropped).
      ...(options.startedLater ? { started: Date.now() + options.startedLater } : {}),
      tuning: { ...(options.deadAfterMs ? { deadAfterMs: options.deadAfterMs } : {}), ...(options.duplicateProbeMs ? { duplicateProbeMs: options.duplicateProbeMs } : {}) },
    });
    nodes.push(made);
    return made;
  }

  it('static peers: the hub refuses the later copy while the original answers, tells it where the original runs, and warns once', async () => {
    const hub = node(generateIdentity().identity, { name: 'hub' });
    await hub.mesh.start();
    const shared = generateIdentity().identity;
    const original = node(shared, { peers: [hub.mesh.listenAddress], name: 'original' });
    await original.mesh.start();
    await waitFor('original up at the hub', () => hub.mesh.upPeers().includes(shared.nodeId));
    const hubDowns = downs(hub.mesh);
    const originalDowns = downs(original.mesh);

    const copy = node(shared, { peers: [hub.mesh.listenAddress], startedLater: 60_000, name: 'copy' });
    const refused = refusals(copy.mesh);
    await copy.mesh.start();
    await waitFor('the copy is refused', () => refused.length > 0);
    assert.deepEqual(refused, [{ running: original.mesh.listenAddress, reportedBy: hub.mesh.nodeId }]);
    await waitFor('the copy stopped its network', () => copy.mesh.stats().sessions === 0);
    await copy.mesh.stop(); // the stop the refusal began, to its end
    // Everything the copy did is over at the hub (its session closed there) and the session the hub
    // keeps works both ways: any peer.down the copy caused has been emitted by now.
    await waitFor("the copy's session gone at the hub", () => hub.mesh.stats().sessions === 1);
    await answers(hub.mesh, original.mesh);
    assert.deepEqual(hubDowns, []);
    assert.deepEqual(originalDowns, []);
    assert.deepEqual(hub.mesh.upPeers(), [shared.nodeId]);
    assert.equal(hub.mesh.peers().find((peer) => peer.nodeId === shared.nodeId)?.name, 'original');
    const warnings = hub.log.messages('warn').filter((line) => line.includes('two live instances'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.ok(warnings[0]!.includes(shared.nodeId.slice(0, 7)) && warnings[0]!.includes(original.mesh.listenAddress), warnings[0]);
    assert.equal(hub.mesh.stats().counters['session.refused.duplicate-identity'], 1);
  });

  it('static peers: when the later copy got to the hub first, the original still wins and the copy is told to leave', async () => {
    const hub = node(generateIdentity().identity, { name: 'hub' });
    await hub.mesh.start();
    const shared = generateIdentity().identity;
    const copy = node(shared, { peers: [hub.mesh.listenAddress], startedLater: 60_000, name: 'copy' });
    const refused = refusals(copy.mesh);
    await copy.mesh.start();
    await waitFor('the copy up at the hub', () => hub.mesh.upPeers().includes(shared.nodeId));
    const original = node(shared, { peers: [hub.mesh.listenAddress], name: 'original' });
    const originalRefused = refusals(original.mesh);
    await original.mesh.start();
    await waitFor('the copy is refused', () => refused.length > 0);
    assert.equal(refused[0]!.reportedBy, hub.mesh.nodeId);
    await waitFor('the original up at the hub', () => original.mesh.upPeers().includes(hub.mesh.nodeId));
    // The copy has left (its network stopped, its session gone at the hub) and the hub and the
    // original answer each other: a refusal of the original would have come before.
    await copy.mesh.stop();
    await waitFor("the copy's session gone at the hub", () => hub.mesh.stats().sessions === 1);
    await answers(hub.mesh, original.mesh);
    assert.deepEqual(originalRefused, []);
    assert.equal(hub.mesh.peers().find((peer) => peer.nodeId === shared.nodeId)?.name, 'original');
  });

  it('multicast, nobody else on the mesh: the original hears the copy and tells it itself', async () => {
    const port = freshPort();
    const shared = generateIdentity().identity;
    const original = node(shared, { port, name: 'original' });
    await original.mesh.start();
    const copy = node(shared, { port, startedLater: 60_000, name: 'copy' });
    const refused = refusals(copy.mesh);
    const originalRefused = refusals(original.mesh);
    await copy.mesh.start();
    await waitFor('the copy is refused', () => refused.length > 0);
    assert.deepEqual(refused, [{ running: original.mesh.listenAddress, reportedBy: shared.nodeId }]);
    // The copy has left (its network stopped, its goodbye beacon sent) and the original holds no
    // session with it any more: a refusal of the original, or a second warning, would have come before.
    await copy.mesh.stop();
    await waitFor('no session left at the original', () => original.mesh.stats().sessions === 0);
    assert.deepEqual(originalRefused, []);
    assert.equal(original.mesh.peers().length, 0, 'the copy is not in its own peer table');
    const warnings = original.log.messages('warn').filter((line) => line.includes('another instance of this node'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });

  it('a restart whose old session still looks open (a machine switched off) is taken once the old instance fails to answer', async () => {
    const hub = node(generateIdentity().identity, { name: 'hub', deadAfterMs: 20_000, duplicateProbeMs: 500 });
    await hub.mesh.start();
    // The old instance reaches the hub through a proxy that can go silent without closing anything.
    let silent = false;
    const proxy = createServer((inbound) => {
      const outbound = new Socket();
      proxied.push(inbound, outbound);
      outbound.connect(Number(hub.mesh.listenAddress.split(':')[1]), '127.0.0.1');
      for (const [from, to] of [[inbound, outbound], [outbound, inbound]] as const) {
        from.on('data', (chunk: Buffer) => silent || to.write(chunk));
        from.on('error', () => undefined);
        from.on('close', () => silent || to.destroy());
      }
    });
    proxies.push(proxy);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyAddress = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const shared = generateIdentity().identity;
    const old = node(shared, { peers: [proxyAddress], name: 'old', deadAfterMs: 20_000 });
    await old.mesh.start();
    await waitFor('old up at the hub', () => hub.mesh.upPeers().includes(shared.nodeId));
    const hubDowns = downs(hub.mesh);
    silent = true;
    // The machine is gone; its data folder starts again elsewhere (here: a node of the same identity, started later).
    await old.mesh.stop();
    const restarted = node(shared, { peers: [hub.mesh.listenAddress], startedLater: 60_000, name: 'restarted' });
    const refused = refusals(restarted.mesh);
    await restarted.mesh.start();
    await waitFor('the restarted node up at the hub', () => restarted.mesh.upPeers().includes(hub.mesh.nodeId) && hub.mesh.peers().find((p) => p.nodeId === shared.nodeId)?.name === 'restarted', 5000);
    assert.deepEqual(refused, []);
    assert.deepEqual(hubDowns.map((down) => down.reason), ['restarted']);
  });

  it('a clean restart (the old instance stopped) comes up at once, without a probe', async () => {
    const hub = node(generateIdentity().identity, { name: 'hub' });
    await hub.mesh.start();
    const shared = generateIdentity().identity;
    const old = node(shared, { peers: [hub.mesh.listenAddress] });
    await old.mesh.start();
    await waitFor('old up', () => hub.mesh.upPeers().includes(shared.nodeId));
    await old.mesh.stop();
    await waitFor('old down', () => !hub.mesh.upPeers().includes(shared.nodeId));
    const restarted = node(shared, { peers: [hub.mesh.listenAddress], startedLater: 60_000 });
    const refused = refusals(restarted.mesh);
    await restarted.mesh.start();
    await waitFor('restarted up', () => hub.mesh.upPeers().includes(shared.nodeId));
    assert.deepEqual(refused, []);
    assert.equal(hub.mesh.stats().counters['session.instance-probe'] ?? 0, 0);
  });
});
