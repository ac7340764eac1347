import assert from 'node:assert/strict';
import { Dedup } from '../../../server/src/net/dedup';
import { ReplayWindow } from '../../../server/src/net/replayWindow';

describe('net/replayWindow', () => {
  it('accepts each counter once, tolerates reordering inside the window, refuses too old', () => {
    const window = new ReplayWindow(64);
    assert.equal(window.accept(100), 'ok');
    assert.equal(window.accept(100), 'replay');
    assert.equal(window.accept(98), 'ok');
    assert.equal(window.accept(98), 'replay');
    assert.equal(window.accept(99), 'ok');
    assert.equal(window.accept(101), 'ok');
    assert.equal(window.accept(200), 'ok');
    assert.equal(window.accept(136), 'too-old');
    assert.equal(window.accept(137), 'ok');
    assert.equal(window.accept(137), 'replay');
    assert.equal(window.accept(50), 'too-old');
    assert.equal(window.accept(-1), 'too-old');
    assert.equal(window.accept(1.5), 'too-old');
  });

  it('counts loss from gaps, not before the first counter seen', () => {
    const window = new ReplayWindow(32);
    window.accept(1000);
    assert.equal(window.lost, 0);
    window.accept(1002);
    assert.equal(window.lost, 1);
    window.accept(1001);
    assert.equal(window.lost, 0);
    window.accept(1010);
    assert.equal(window.lost, 7);
    window.accept(1100); // jumps past the window: 1011..1099 are lost
    assert.equal(window.lost, 7 + 89);
    assert.equal(window.accepted, 5);
  });

  it('shifts correctly across word boundaries', () => {
    const window = new ReplayWindow(128);
    for (let counter = 0; counter < 1000; counter += 3) assert.equal(window.accept(counter), 'ok');
    for (let counter = 999 - 120; counter < 1000; counter++) {
      assert.equal(window.check(counter), counter % 3 === 0 ? 'replay' : 'ok', `counter ${counter}`);
    }
  });
});

describe('net/dedup (origin, seq) with bounded memory', () => {
  it('drops duplicates and late arrivals per origin', () => {
    const dedup = new Dedup(10);
    assert.equal(dedup.accept('A', 5), 'new');
    assert.equal(dedup.accept('A', 5), 'duplicate');
    assert.equal(dedup.accept('A', 7), 'new');
    assert.equal(dedup.accept('A', 6), 'late');
    assert.equal(dedup.accept('B', 1), 'new');
  });

  it('keeps at most maxOrigins origins, forgetting the least recently heard', () => {
    const dedup = new Dedup(100, 64);
    for (let i = 0; i < 10_000; i++) dedup.accept(`origin-${i}`, 1);
    assert.equal(dedup.trackedOrigins, 100);
    assert.equal(dedup.accept('origin-9999', 1), 'duplicate');
    assert.equal(dedup.accept('origin-0', 1), 'new');
  });

  it('delivers reordered seqs inside the window when order is not strict (fast lane)', () => {
    const dedup = new Dedup(10, 64, false);
    assert.equal(dedup.accept('A', 10), 'new');
    assert.equal(dedup.accept('A', 8), 'reordered');
    assert.equal(dedup.accept('A', 8), 'duplicate');
  });

  it('a strict dedup lets one call accept a late seq (room events), still once', () => {
    const dedup = new Dedup(10, 64);
    assert.equal(dedup.accept('A', 10), 'new');
    assert.equal(dedup.seen('A', 8), true);
    assert.equal(dedup.seen('A', 8, false), false);
    assert.equal(dedup.accept('A', 8), 'late');
    assert.equal(dedup.accept('A', 8, false), 'reordered');
    assert.equal(dedup.accept('A', 8, false), 'duplicate');
    assert.equal(dedup.seen('A', 8, false), true);
  });
});
