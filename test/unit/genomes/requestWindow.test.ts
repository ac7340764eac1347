import { strict as assert } from 'node:assert';
import { RequestWindow } from '../../../server/src/genomes/requestWindow';

describe('genomes/requestWindow (delay-based requests in flight per peer)', () => {
  it('grows by about one request per round trip while pieces do not queue, up to its maximum', () => {
    const window = new RequestWindow({ initial: 2, max: 6, targetDelayMs: 2 });
    let now = 0;
    const seen: number[] = [];
    for (let piece = 0; piece < 40; piece++) {
      now += 10;
      window.onPiece(30, now);
      seen.push(window.requests);
    }
    assert.equal(seen[0], 2);
    assert.ok(seen.indexOf(3) > 0 && seen.indexOf(4) > seen.indexOf(3), `grows step by step: ${seen.join(' ')}`);
    assert.equal(window.requests, 6);
    assert.equal(window.baseRtt, 30);
  });

  it('shrinks when round trips rise over the base by more than the target, once per round trip, never below the minimum', () => {
    const window = new RequestWindow({ initial: 8, min: 1, max: 16, targetDelayMs: 2 });
    window.onPiece(10, 0);
    assert.equal(window.requests, 8);
    // Queueing: 15 ms over the 10 ms base.
    window.onPiece(25, 100);
    assert.equal(window.requests, 5);
    // Within the same round trip (25 ms) a second late piece does not shrink it again.
    window.onPiece(25, 110);
    assert.equal(window.requests, 5);
    window.onPiece(25, 130);
    assert.equal(window.requests, 3);
    for (let i = 0; i < 10; i++) window.onPiece(25, 200 + i * 30);
    assert.equal(window.requests, 1);
    window.onPiece(11, 600);
    assert.ok(window.requests >= 1);
  });

  it('falls to the minimum after a timeout and ignores nonsense samples', () => {
    const window = new RequestWindow({ initial: 6 });
    window.onPiece(Number.NaN, 0);
    window.onPiece(-5, 0);
    assert.equal(window.baseRtt, Infinity);
    assert.equal(window.requests, 6);
    window.onTimeout();
    assert.equal(window.requests, 1);
  });
});
