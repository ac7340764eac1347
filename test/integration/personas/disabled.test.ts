/**
 * A persona the user disabled stays disabled when the node restarts (the real MeshNode, its
 * libsql database on disk and its persona folder), out of its rooms.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeshNode } from '../../../server/src/node/meshNode';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { loopbackNetwork, useMeshNodes } from '../support/meshNodes';

describe('disabled personas across a node restart', function () {
  this.timeout(60_000);
  const dir = useTempDir('disabled-persona-');
  const nodes = useMeshNodes();

  it('keeps a disabled persona disabled after the restart, out of its rooms until enabled', async () => {
    const personas = join(dir.path, 'personas');
    mkdirSync(personas);
    writeFileSync(join(personas, 'helper.persona.md'), '---\nid: helper\nname: Helper\nbrain: librarian\nrooms: {general: expert}\n---\nYou help.\n');
    const start = () =>
      nodes.start({ dataDir: join(dir.path, 'node'), meshKey: 'disabled persona key', name: 'host', network: loopbackNetwork(), personaFolders: { workspaceFolders: [], extraFolders: [personas] } });
    // A disabled persona leaves its rooms: absent from the participants, or offline.
    const presence = (node: MeshNode) => node.rooms!.participants('general').find((p) => p.participantId === 'helper')?.presence ?? 'offline';

    let node = await start();
    assert.equal(node.personas!.registry.get('helper')?.state, 'online');
    await until('the persona online in its room', () => (presence(node) === 'online' ? true : undefined));
    node.personas!.registry.setEnabled('helper', false);
    await until('the persona offline', () => (presence(node) === 'offline' ? true : undefined));
    await node.stop();

    node = await start();
    assert.equal(node.personas!.registry.get('helper')?.state, 'disabled', 'still disabled after the restart');
    assert.equal(presence(node), 'offline');
    node.personas!.registry.setEnabled('helper', true);
    await until('the persona back online', () => (presence(node) === 'online' ? true : undefined));
  });
});
