import { strict as assert } from 'node:assert';
import { MemoryHub } from '../../support/memoryMeshPort';
import { SwitchableMeshPort } from '../../../server/src/kernel/switchablePort';

describe('rooms/SwitchableMeshPort', () => {
  it('keeps subscriptions and handlers across networks and reports peers down and up', () => {
    const received: string[] = [];
    const events: string[] = [];
    const switchable = new SwitchableMeshPort('A');
    switchable.subscribe('/chat/room/general/', (m) => received.push(`${m.from}:${String(m.body)}`));
    switchable.subscribe('/chat/sync/A', (m) => received.push(`direct ${m.from}:${String(m.body)}`));
    switchable.onPeerUp((id) => events.push(`up ${id}`));
    switchable.onPeerDown((id) => events.push(`down ${id}`));
    switchable.publish('/chat/room/general/events/message', 'nowhere'); // detached: no-op

    const first = new MemoryHub();
    const b1 = first.attach('B');
    switchable.attach(first.attach('A'));
    assert.deepEqual(switchable.upPeers(), ['B']);
    b1.publish('/chat/room/general/events/message', 'one');
    b1.sendTo('A', '/chat/sync/A', 'sync');
    first.flush();

    switchable.detach();
    assert.deepEqual(switchable.upPeers(), []);
    b1.publish('/chat/room/general/events/message', 'lost');
    first.flush();

    const second = new MemoryHub();
    const b2 = second.attach('B');
    switchable.attach(second.attach('A'));
    b2.publish('/chat/room/general/events/message', 'two');
    second.flush();
    assert.deepEqual(received, ['B:one', 'direct B:sync', 'B:two']);
    assert.deepEqual(events, ['up B', 'down B', 'up B']);
    assert.throws(() => switchable.attach(new MemoryHub().attach('Z')), /node id Z is not this node's A/);
  });
});
