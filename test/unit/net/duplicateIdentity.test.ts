import assert from 'node:assert/strict';
import fc from 'fast-check';
import { arbitrate, RefusedInstances, startedLater, type Contender } from '../../../server/src/net/duplicateIdentity';
import { MemoryLog } from '../../../server/src/kernel/log';

const nodeId = 'ABCDEFG'.padEnd(52, 'A');
const original: Contender = { instance: '1111111111111111', started: 1_800_000_000_000, addr: '10.0.0.5:47778' };
const copy: Contender = { instance: '0000000000000000', started: 1_800_000_060_000, addr: '10.0.0.9:47778' };

describe('net/duplicateIdentity: which of two instances of one node id is refused', () => {
  it('the later start is the later instance, whatever the instance ids', () => {
    assert.equal(startedLater(copy, original), true);
    assert.equal(startedLater(original, copy), false);
  });

  it('a start in the same millisecond goes by the instance id, so exactly one is later', () => {
    const a = { instance: 'aaaaaaaaaaaaaaaa', started: 5 };
    const b = { instance: 'bbbbbbbbbbbbbbbb', started: 5 };
    assert.equal(startedLater(b, a), true);
    assert.equal(startedLater(a, b), false);
  });

  it('every node judges the same pair alike: of two distinct instances exactly one is later', () => {
    const instance = fc.record({ instance: fc.string({ minLength: 1, maxLength: 16 }), started: fc.integer({ min: 0, max: 2 ** 45 }) });
    fc.assert(
      fc.property(instance, instance, (a, b) => {
        fc.pre(a.instance !== b.instance);
        assert.notEqual(startedLater(a, b), startedLater(b, a));
      }),
      { numRuns: 2000 },
    );
  });

  it('a peer refuses the later one when the instance it holds answers, and takes a restart when it does not', () => {
    assert.equal(arbitrate(original, copy, true), 'refuse-candidate', 'the copy connects while the original runs');
    assert.equal(arbitrate(copy, original, true), 'refuse-existing', 'the copy got there first: the original still wins');
    assert.equal(arbitrate(original, copy, false), 'restart', 'the original is gone: the newcomer is its restart');
    assert.equal(arbitrate(copy, original, false), 'restart');
  });
});

describe('net/duplicateIdentity: a peer remembers whom it refused', () => {
  it('warns once per refused instance, naming the node id and both addresses', () => {
    const log = new MemoryLog();
    const refused = new RefusedInstances(log.logger);
    refused.refuse(nodeId, original, copy);
    refused.refuse(nodeId, original, copy);
    const warnings = log.messages('warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^node ABCDEFG has two live instances/);
    assert.match(warnings[0]!, /kept the one at 10\.0\.0\.5:47778 .*refused the one at 10\.0\.0\.9:47778/);
    refused.refuse(nodeId, original, { ...copy, instance: '2222222222222222' });
    assert.equal(log.messages('warn').length, 2, 'a third instance is news');
  });

  it('turns a refused instance away again while the kept one stays, and judges afresh once that one is gone', () => {
    const refused = new RefusedInstances(new MemoryLog().logger);
    assert.equal(refused.keptOver(nodeId, copy.instance), undefined);
    refused.refuse(nodeId, original, copy);
    assert.deepEqual(refused.keptOver(nodeId, copy.instance), original);
    assert.equal(refused.keptOver(nodeId, original.instance), undefined);
    refused.forget(nodeId);
    assert.equal(refused.keptOver(nodeId, copy.instance), undefined);
  });

  it('holds a bounded number of nodes', () => {
    const refused = new RefusedInstances(new MemoryLog().logger, 2);
    for (const id of ['A', 'B', 'C']) refused.refuse(id.repeat(52), original, copy);
    assert.equal(refused.keptOver('A'.repeat(52), copy.instance), undefined, 'the oldest entry made room');
    assert.deepEqual(refused.keptOver('C'.repeat(52), copy.instance), original);
  });
});
