/**
 * Two VS Code windows on one machine start their nodes on the same global storage. Before the
 * data dir lock they loaded one identity, and every peer saw a node "restart" each time the
 * other's session came up: sessions flapped for as long as both windows were open. Now the
 * second window takes a folder of its own inside the data dir, with its own identity.
 */
import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MeshNode } from '../../../server/src/node/meshNode';
import { silentLogger } from '../../../server/src/kernel/log';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { loopbackNetwork, useMeshNodes } from '../support/meshNodes';

describe('VS Code windows sharing the global storage', function () {
  this.timeout(60_000);
  const dir = useTempDir('windows-');
  const nodes = useMeshNodes();

  it('each window runs its own node, and both stay connected to a peer without flapping', async () => {
    const meshKey = 'windows test key';
    const start = (options: { dataDir: string; dataDirSlots?: number; staticPeers?: string[]; name?: string }) =>
      nodes.start({
        dataDir: options.dataDir,
        meshKey,
        network: loopbackNetwork(options.staticPeers),
        ...(options.name ? { name: options.name } : {}),
        ...(options.dataDirSlots ? { dataDirSlots: options.dataDirSlots } : {}),
      });
    const peer = await start({ dataDir: join(dir.path, 'peer'), name: 'peer' });
    let downs = 0;
    peer.on('peer.down', () => downs++);
    const storage = join(dir.path, 'globalStorage');
    const first = await start({ dataDir: storage, dataDirSlots: 8, staticPeers: [peer.network!.listenAddress] });
    const second = await start({ dataDir: storage, dataDirSlots: 8, staticPeers: [peer.network!.listenAddress] });

    assert.notEqual(first.identity.nodeId, second.identity.nodeId);
    assert.equal(first.status().dataDir, storage);
    assert.equal(second.status().dataDir, join(storage, 'window-2'));
    assert.equal(first.name, hostname());
    assert.equal(second.name, `${hostname()}-2`, 'told apart in peer lists and rooms');

    await until('both windows connected to the peer', () => (peer.network!.upPeers().length === 2 ? true : undefined));
    // Flapping came each time a session came up (the other window's took the peer's one identity
    // away). The last session of this mesh to come up is the one the windows open to each other
    // once the peer's exchange tells each of the other; with it up, every session is up.
    const linked = (a: MeshNode, b: MeshNode) => a.network!.upPeers().includes(b.identity.nodeId);
    await until('the windows connected to each other', () => (linked(first, second) && linked(second, first)) || undefined);
    assert.equal(peer.network!.upPeers().length, 2);
    assert.equal(downs, 0, 'no session went down');

    // Without slots (the CLI), a data dir in use is refused with the reason.
    const refused = new MeshNode({ dataDir: storage, meshKey, logger: silentLogger, headless: true });
    await assert.rejects(refused.start(), /in use by another node \(process \d+\)/);
    assert.equal(refused.status().problems[0]?.code, 'data-dir-locked');
    await refused.stop();
    // Every window folder taken: the reason says what to do in VS Code terms.
    const crowded = new MeshNode({ dataDir: storage, dataDirSlots: 2, meshKey, logger: silentLogger, headless: true });
    await assert.rejects(crowded.start(), /every one of the 2 node folders in .* is in use \(a node per VS Code window\): close a window/);
    await crowded.stop();

    // The first window closes; the next window to open takes its node back.
    await first.stop();
    const third = await start({ dataDir: storage, dataDirSlots: 8 });
    assert.equal(third.identity.nodeId, first.identity.nodeId);
  });

  it("after a window reload the new node waits for the old one to stop and keeps the window's identity", async () => {
    const storage = join(dir.path, 'globalStorage');
    const meshKey = 'windows test key';
    const window = (owner: string, dataDirWaitMs?: number) => ({ dataDir: storage, meshKey, dataDirSlots: 8, dataDirOwner: owner, ...(dataDirWaitMs ? { dataDirWaitMs } : {}) });
    const before = await nodes.start(window('file:///work/project-a'));
    // The reloaded window's node starts while the old one is still stopping.
    const stopping = new Promise<void>((resolve) => setTimeout(() => void before.stop().then(resolve), 500));
    const after = await nodes.start(window('file:///work/project-a'));
    await stopping;
    assert.equal(after.status().dataDir, storage, 'not a window folder');
    assert.equal(after.identity.nodeId, before.identity.nodeId);

    // Another window's node does not wait; a predecessor that never stops is waited for only so long.
    const other = await nodes.start(window('file:///work/project-b'));
    assert.equal(other.status().dataDir, join(storage, 'window-2'));
    const impatient = await nodes.start(window('file:///work/project-a', 300));
    assert.equal(impatient.status().dataDir, join(storage, 'window-3'));
  });
});
