/**
 * The academy on two real MeshNetwork nodes on loopback (libsql files, Noise sessions): a rating
 * travels live on /academy/signals, and a node that was disconnected catches up by pulling on
 * /academy/sync/{nodeId} when the session comes back.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Academy } from '../../../server/src/academy/academy';
import { useTempDir } from '../../support/tempDir';
import { RoomsNode, waitFor } from '../rooms/support';

describe('academy on real MeshNetwork nodes (loopback)', function () {
  this.timeout(60_000);
  const temp = useTempDir('persona-mesh-academy-');
  const running: { node: RoomsNode; academy: Academy }[] = [];

  async function start(name: string): Promise<{ node: RoomsNode; academy: Academy }> {
    const dir = join(temp.path, name);
    mkdirSync(dir, { recursive: true });
    const node = await RoomsNode.start(name, dir);
    const academy = new Academy({ store: node.store, transport: node.transport, identity: node.identity, rooms: node.rooms, logger: node.log.logger, sync: { intervalMs: 0 } });
    await academy.start();
    const entry = { node, academy };
    running.push(entry);
    return entry;
  }

  afterEach(async () => {
    for (const { node, academy } of running.splice(0)) {
      await academy.stop();
      await node.stop();
    }
  });

  it('a rating reaches the other node live, and by anti-entropy after a reconnect; both boards agree', async () => {
    const a = await start('alice');
    await a.node.connect();
    const b = await start('bob');
    await b.node.connect([a.node.address]);
    await waitFor('a session', () => a.node.transport.upPeers().length === 1 && b.node.transport.upPeers().length === 1, 10_000);

    const as = { participantId: 'helper', displayName: 'Helper', kind: 'persona' as const };
    a.node.rooms.join('general', as);
    const prompt = b.node.rooms.send({ roomId: 'general', text: 'What is WAL?' });
    await waitFor('the prompt on alice', () => a.node.rooms.message('general', prompt.id) !== undefined, 10_000);
    const reply = a.node.rooms.send({ roomId: 'general', text: 'Write-ahead logging.', replyTo: prompt.id }, as);
    await waitFor('the reply on bob', () => b.node.rooms.message('general', reply.id) !== undefined, 10_000);

    const up = b.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.node.nodeId}/helper`, rating: 'up' });
    assert.ok(up);
    await waitFor('the rating on alice', () => a.academy.store.has(up.id), 10_000);

    await b.node.disconnect();
    const more = a.academy.record({ persona: { nodeId: a.node.nodeId, personaId: 'helper', name: 'Helper' }, room: 'general', category: 'reliable', value: 1, source: 'test_outcome', context: { input: 'npm test' } });
    await b.node.connect([a.node.address]);
    await waitFor('the missed signal on bob', () => b.academy.store.has(more.id), 15_000);
    assert.deepEqual(b.academy.leaderboard(), a.academy.leaderboard());
  });
});
