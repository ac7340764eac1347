/**
 * Evolution on two real nodes (loopback sessions, libsql, files): node A publishes a genome; a
 * persona hosted by node B whose scripted technical score falls adopts it from A (downloaded and
 * recorded in its persona file), is measured over the next window, does worse, and rolls it back.
 * Both nodes keep the same lineage.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MeshNode } from '../../../server/src/node/meshNode';
import type { PersonaEvolutionEvent } from '../../../protocol/evolution';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { loopbackNetwork, useMeshNodes } from '../support/meshNodes';

const meshKey = 'evolution test key';

describe('evolution across two nodes with a real genome', function () {
  this.timeout(120_000);
  const dir = useTempDir('evolution-');
  const nodes = useMeshNodes();

  it('a falling score adopts a genome from another node and rolls it back when the next window is worse', async () => {
    const knowledge = join(dir.path, 'runbooks');
    mkdirSync(knowledge);
    writeFileSync(join(knowledge, 'failover.md'), '# Failover\n\nPromote the replica with `dbctl promote`.\n');
    const personas = join(dir.path, 'personas');
    mkdirSync(personas);
    const personaFile = join(personas, 'helper.persona.md');
    writeFileSync(personaFile, '---\nid: helper\nname: Helper\nbrain:\n  provider: librarian\ncapabilities: [docs]\nrooms: {general: expert}\n---\nYou help.\n');

    const publisher = await nodes.start({ dataDir: join(dir.path, 'a'), meshKey, name: 'a', network: loopbackNetwork() });
    const host = await nodes.start({
      dataDir: join(dir.path, 'b'),
      meshKey,
      name: 'b',
      network: loopbackNetwork([publisher.network!.listenAddress]),
      personaFolders: { workspaceFolders: [], extraFolders: [personas] },
      evolution: { policy: 'automatic' },
    });
    await until('the session', () => (publisher.network!.upPeers().length === 1 ? true : undefined), 15_000);
    const genome = await publisher.genomes!.publish({ name: 'Runbooks', description: 'database failover runbooks', capabilities: ['docs', 'runbooks'], knowledge });

    const seenOn = (node: MeshNode, outcome: PersonaEvolutionEvent['outcome']) => node.evolution!.history().find((e) => e.outcome === outcome);
    const helper = { nodeId: host.identity.nodeId, personaId: 'helper', name: 'Helper' };
    // Wall time on purpose: a signal is dated to the millisecond of the node's clock, and two equal
    // signals in the same millisecond are one signal. Each rating gets a millisecond of its own.
    const waitForNextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 3));
    const rate = async (values: number[]) => {
      for (const value of values) {
        await waitForNextMillisecond();
        host.academy!.record({ persona: helper, room: 'general', category: 'technical', value, source: 'review', context: { input: 'a diff' } });
      }
    };

    // Ten signals with a mean of -0.2: below the threshold over a full window.
    await rate([1, 1, 1, 1, -1, -1, -1, -1, -1, -1]);
    const adopted = await until('the adoption', () => seenOn(host, 'adopted'));
    assert.equal(adopted.genome.id, genome.id);
    assert.deepEqual(adopted.trigger, { kind: 'falling-score', category: 'technical', mean: -0.2, count: 10 });
    assert.deepEqual(adopted.capabilitiesAfter, ['docs', 'runbooks']);
    assert.match(readFileSync(personaFile, 'utf8'), new RegExp(`genomes:\\n  - ${genome.id}\\n`), 'the persona file records the genome');
    assert.ok(host.genomes!.isLocal(genome.id), 'downloaded from node A');
    const participant = () => host.rooms!.participants('general').find((p) => p.participantId === 'helper');
    await until('the evolving presence', () => (participant()?.presence === 'evolving' ? true : undefined));
    await until('the lineage on node A', () => seenOn(publisher, 'adopted'));

    // The next window is worse (-1 < -0.2): rolled back.
    await rate(Array<number>(10).fill(-1));
    const rolledBack = await until('the rollback', () => seenOn(host, 'rolled-back'));
    assert.deepEqual(rolledBack.measured, { category: 'technical', before: -0.2, beforeCount: 10, after: -1, afterCount: 10 });
    assert.doesNotMatch(readFileSync(personaFile, 'utf8'), new RegExp(genome.id), 'the persona file no longer lists it');
    await until('presence back to online', () => (participant()?.presence === 'online' ? true : undefined));
    await until('the rollback on node A', () => seenOn(publisher, 'rolled-back'));
    const notices = host.rooms!.history({ roomId: 'general', limit: 20 }).messages.filter((m) => m.author.kind === 'system').map((m) => m.text);
    assert.ok(notices.some((text) => /Helper is trying the genome \*\*Runbooks\*\*/.test(text)));
    assert.ok(notices.some((text) => /Helper dropped the genome \*\*Runbooks\*\*: technical -0\.20 → -1\.00/.test(text)));
    assert.deepEqual(
      host.evolution!.history().map((e) => e.id),
      publisher.evolution!.history().map((e) => e.id),
      'both nodes keep the same lineage',
    );
  });
});
