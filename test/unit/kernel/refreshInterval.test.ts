import assert from 'node:assert/strict';
import { refreshIntervalMs } from '../../../server/src/kernel/refreshInterval';
import { PresenceTable } from '../../../server/src/rooms/presence';

describe('rooms/refreshInterval: announcements scale with the mesh (RFC 3550 §6.2)', () => {
  it('keeps the base interval in a small mesh and the whole mesh near one announcement a second in a large one', () => {
    assert.equal(refreshIntervalMs(10_000, 1), 10_000);
    assert.equal(refreshIntervalMs(10_000, 10), 10_000);
    assert.equal(refreshIntervalMs(10_000, 100), 100_000);
    for (const n of [40, 100, 120]) assert.ok(n / (refreshIntervalMs(10_000, n) / 1000) <= 1.0001, `${n} nodes`);
    assert.equal(refreshIntervalMs(10_000, 10_000), 120_000, 'capped: a crashed node still goes offline within minutes');
  });

  it('counts the nodes a presence table has heard from, itself included', () => {
    const table = new PresenceTable(() => 0);
    assert.equal(table.nodeCount(), 1);
    const participant = (nodeId: string, id: string) => ({ kind: 'human', participantId: id, displayName: id, nodeId, presence: 'online' });
    table.receive('A'.repeat(52), { nodeId: 'A'.repeat(52), ttlMs: 30_000, participants: [participant('A'.repeat(52), 'a1'), participant('A'.repeat(52), 'a2')] });
    table.receive('B'.repeat(52), { nodeId: 'B'.repeat(52), ttlMs: 30_000, participants: [participant('B'.repeat(52), 'b1')] });
    assert.equal(table.nodeCount(), 3);
  });
});
