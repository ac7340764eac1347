import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PersonaDirectory } from '../../../server/src/personas/directory';
import type { PersonaSummary } from '../../../protocol/personas';
import { ManualClock } from '../../support/manualClock';

const self = 'A'.repeat(52);

function setup() {
  const clock = new ManualClock();
  const published: unknown[] = [];
  const registry = Object.assign(new EventEmitter(), { hosted: [] as PersonaSummary[], summaries: () => registry.hosted });
  const transport = {
    localNodeId: self,
    publish: (_topic: string, body: unknown) => void published.push(body),
    sendTo: () => undefined,
    subscribe: () => () => undefined,
    onPeerUp: () => () => undefined,
    onPeerDown: () => () => undefined,
  };
  const directory = new PersonaDirectory({ transport, registry: registry as never, clock, intervalMs: 10_000 });
  return { clock, published, registry, directory };
}

const persona: PersonaSummary = { id: 'librarian', name: 'Librarian', nodeId: self, local: true, provider: 'librarian', capabilities: [], rooms: ['general'], state: 'online' };

describe('personas/directory: announcements', () => {
  it('a node that hosts no persona says so once, then stays quiet until it hosts one; a host refreshes', async () => {
    const { clock, published, registry, directory } = setup();
    await directory.start();
    assert.equal(published.length, 1, 'the first announcement: no personas');
    clock.advance(120_000);
    assert.equal(published.length, 1, 'nothing to refresh: no periodic empty announcements');
    registry.hosted = [persona];
    registry.emit('changed');
    const afterChange = published.length;
    assert.ok(afterChange >= 2, 'a new persona is announced at once');
    clock.advance(60_000);
    assert.ok(published.length >= afterChange + 4, `a host refreshes its personas (${published.length - afterChange} in 60 s)`);
    registry.hosted = [];
    registry.emit('changed');
    const gone = published.length;
    assert.deepEqual((published.at(-1) as { personas: unknown[] }).personas, [], 'the last persona leaving is announced');
    clock.advance(120_000);
    assert.equal(published.length, gone, 'then quiet again');
    await directory.stop();
  });
});
