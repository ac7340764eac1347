/**
 * The Peers view's data from a real node (MeshNode.peers() and status()): in a line A-B-C, A
 * reaches C only through B, knows it by no beacon nor session, and still names it from the rooms
 * C joined; A's status says where it stands in the overlay.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { prepareDataDir } from '../../../server/src/node/dataDir';
import { loadOrCreateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import type { MeshNode } from '../../../server/src/node/meshNode';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { useMeshNodes } from '../support/meshNodes';

describe('MeshNode: peers with their routes and names, and the overlay in the status', function () {
  this.timeout(60_000);
  const dir = useTempDir('peers-');
  const nodes = useMeshNodes();

  it('in a line A-B-C, A lists B direct and C via 2 hops named from the rooms; its status gives sessions, watermarks and role', async () => {
    const idOf = (name: string) => loadOrCreateIdentity(prepareDataDir(join(dir.path, name), silentLogger), silentLogger).identity.nodeId;
    const ids = { alice: idOf('alice'), bob: idOf('bob'), carol: idOf('carol') };
    const start = (name: keyof typeof ids, trusted: string[], staticPeers: string[], role: 'node' | 'hub' = 'node') =>
      nodes.start({
        dataDir: join(dir.path, name),
        name,
        meshKey: 'peers view test key',
        network: { listen: '127.0.0.1:0', discovery: false, staticPeers, trustedNodes: trusted },
        overlay: { activeTarget: 1, activeMax: 2, role },
      });
    const bob = await start('bob', [ids.alice, ids.carol], [], 'hub');
    const carol = await start('carol', [ids.bob], [bob.network!.listenAddress]);
    const alice = await start('alice', [ids.bob], [bob.network!.listenAddress]);
    await until('the line is up', () => (bob.network!.upPeers().length === 2 && alice.network!.upPeers().length === 1 && carol.network!.upPeers().length === 1 ? true : undefined));

    const peer = (node: MeshNode, nodeId: string) => node.peers().find((p) => p.nodeId === nodeId);
    assert.deepEqual(pick(peer(alice, ids.bob)), { name: 'bob', route: 'direct' });
    // Carol's room message reaches Alice through Bob; her joining "general" reaches Alice by sync.
    let polls = 0;
    const via = await until('alice hears carol through bob, and knows her name', () => {
      // Again every half second, in case the first went out before the broadcast tree was ready.
      if (polls++ % 20 === 0) carol.rooms!.send({ roomId: 'general', text: 'hello from carol' });
      const found = pick(peer(alice, ids.carol));
      return found?.route === 'via' && found.name ? found : undefined;
    });
    assert.deepEqual(via, { name: 'carol', route: 'via', hops: 2 });
    assert.equal(alice.network!.upPeers().includes(ids.carol), false, 'no session between alice and carol');

    const { sessions, activeTarget, activeMax, role } = alice.status().overlay!;
    assert.deepEqual({ sessions, activeTarget, activeMax, role }, { sessions: 1, activeTarget: 1, activeMax: 2, role: 'node' });
    assert.equal(bob.status().overlay?.role, 'hub');
    // One subnet: one cluster, named by its /24, for this node and for its peer.
    assert.equal(alice.status().overlay?.cluster, '127.0.0.0/24');
    assert.equal(peer(alice, ids.bob)?.cluster, '127.0.0.0/24');
    assert.equal(bob.status().overlay?.sessions, 2);
  });
});

function pick(peer: { name: string; route: string; hops?: number } | undefined): { name: string; route: string; hops?: number } | undefined {
  return peer && { name: peer.name, route: peer.route, ...(peer.hops !== undefined ? { hops: peer.hops } : {}) };
}
