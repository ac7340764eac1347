import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../../../protocol/errors';
import { registerRoomRemoteMethods } from '../../../server/src/rooms/remoteMethods';
import { useTempDir } from '../../support/tempDir';
import { RoomsNode, waitFor } from './support';

/** Lets the other nodes' sends run in between (interleaving on purpose, not a wait for anything). */
const interleave = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('rooms on real MeshNetwork nodes (loopback)', function () {
  this.timeout(60_000);
  const temp = useTempDir('persona-mesh-rooms-');
  let nodes: RoomsNode[] = [];

  async function startNode(name: string): Promise<RoomsNode> {
    const dir = join(temp.path, name);
    mkdirSync(dir, { recursive: true });
    return RoomsNode.start(name, dir);
  }

  /** A, B, C: B dials A, C dials A and B; all three see each other. */
  async function threeNodes(): Promise<RoomsNode[]> {
    const a = await startNode('alice');
    await a.connect();
    const b = await startNode('bob');
    await b.connect([a.address]);
    const c = await startNode('carol');
    await c.connect([a.address, b.address]);
    nodes = [a, b, c];
    await waitFor('a full mesh', () => nodes.every((n) => n.transport.upPeers().length === 2), 10_000);
    return nodes;
  }

  async function converged(expected: number, roomId = 'general'): Promise<void> {
    await waitFor(`${expected} messages on every node`, () => nodes.every((n) => n.history(roomId).length === expected), 20_000);
    const [first, ...rest] = nodes.map((n) => n.history(roomId));
    for (const history of rest) assert.deepEqual(history, first);
    for (const node of nodes) assert.deepEqual(node.rooms.gaps(roomId), []);
  }

  afterEach(async () => {
    for (const node of nodes) await node.stop();
    nodes = [];
  });

  it('messages from three nodes interleave and every node ends with the same history', async () => {
    await threeNodes();
    await Promise.all(
      nodes.map(async (node, index) => {
        for (let i = 0; i < 30; i++) {
          node.rooms.send({ roomId: 'general', text: `${node.name} #${i}` });
          if ((i + index) % 3 === 0) await interleave();
        }
      }),
    );
    await converged(90);
    const ids = nodes[0]!.history().map((m) => m.id);
    assert.equal(new Set(ids).size, 90, 'nothing doubled');
  });

  it('a node stopped and restarted with the same data dir catches up with what it missed', async () => {
    const [a, b, c] = await threeNodes();
    a!.rooms.send({ roomId: 'general', text: 'before' });
    await converged(1);
    await c!.stop();
    nodes = [a!, b!];
    for (let i = 0; i < 40; i++) (i % 2 ? a! : b!).rooms.send({ roomId: 'general', text: `while carol was away ${i}` });
    const again = await RoomsNode.start('carol', c!.dir);
    assert.equal(again.nodeId, c!.nodeId);
    assert.equal(again.history().length, 1, 'history survived the restart');
    await again.connect([a!.address, b!.address]);
    nodes = [a!, b!, again];
    await converged(41);
    again.rooms.send({ roomId: 'general', text: 'back' });
    await converged(42);
    // Carol's own sequence continued where it stopped (1 joined + 1 message).
    assert.equal(again.history().at(-1)!.roomSeq, 2);
  });

  it('a partition (one node cut off) heals and every side converges', async () => {
    const [a, b, c] = await threeNodes();
    await c!.disconnect();
    await waitFor('a and b see carol gone', () => !a!.transport.upPeers().includes(c!.nodeId) && !b!.transport.upPeers().includes(c!.nodeId));
    for (let i = 0; i < 15; i++) {
      a!.rooms.send({ roomId: 'general', text: `a ${i}` });
      b!.rooms.send({ roomId: 'general', text: `b ${i}` });
      c!.rooms.send({ roomId: 'general', text: `c alone ${i}` });
    }
    const first = a!.history().find((m) => m.author.nodeId === a!.nodeId)!;
    a!.rooms.edit('general', first.id, 'edited during the partition');
    await c!.connect([a!.address, b!.address]);
    await converged(45);
    assert.ok(c!.history().some((m) => m.text === 'edited during the partition'));
  });

  it('typing and presence travel on the fast lane (session fallback without multicast)', async () => {
    const [a, b, c] = await threeNodes();
    const typing: string[] = [];
    b!.rooms.on('typing', (event) => typing.push(event.author.displayName));
    a!.rooms.typing('general');
    a!.rooms.setPresence('evolving', 'adopting a genome');
    await waitFor('typing at b', () => typing.includes('alice'));
    await waitFor('presence at c', () => c!.rooms.participants('general').some((p) => p.nodeId === a!.nodeId && p.presence === 'evolving' && p.statusText === 'adopting a genome'));
    await a!.disconnect();
    await waitFor('alice offline at c', () => c!.rooms.participants('general').find((p) => p.nodeId === a!.nodeId)?.presence === 'offline');
  });

  it('answers `rooms.list` to peers', async () => {
    const [a, b] = await threeNodes();
    registerRoomRemoteMethods(a!.mesh!, a!.rooms);
    a!.rooms.join('design');
    const list = (await b!.mesh!.call(a!.nodeId, 'rooms.list', {}, { timeoutMs: 5000 })) as { id: string; joined: boolean }[];
    assert.deepEqual(list.map((r) => [r.id, r.joined]), [['design', true], ['general', true]]);
  });

  it('edits and deletes by non-authors are refused; the author’s own propagate', async () => {
    const [a, b] = await threeNodes();
    const sent = a!.rooms.send({ roomId: 'general', text: 'mine' });
    await converged(1);
    assert.throws(() => b!.rooms.edit('general', sent.id, 'hijack'), (e: unknown) => e instanceof ServiceError && e.code === 'not-author');
    assert.throws(() => b!.rooms.delete('general', sent.id), (e: unknown) => e instanceof ServiceError && e.code === 'not-author');
    a!.rooms.delete('general', sent.id);
    await waitFor('the deletion everywhere', () => nodes.every((n) => n.rooms.message('general', sent.id)?.deleted === true));
  });
});
