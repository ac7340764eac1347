import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { compareHlc, HybridClock } from '../../../server/src/rooms/hlc';
import type { Hlc } from '../../../protocol/rooms';

describe('rooms/hlc', () => {
  it('follows the wall clock and breaks ties with the logical counter', () => {
    let wall = 1000;
    const clock = new HybridClock({ now: () => wall });
    assert.deepEqual(clock.now(), { wall: 1000, logical: 0 });
    assert.deepEqual(clock.now(), { wall: 1000, logical: 1 });
    wall = 1005;
    assert.deepEqual(clock.now(), { wall: 1005, logical: 0 });
  });

  it('never goes backwards when the wall clock does', () => {
    let wall = 5000;
    const clock = new HybridClock({ now: () => wall });
    const a = clock.now();
    wall = 1000;
    const b = clock.now();
    assert.ok(compareHlc(b, a) > 0);
    assert.deepEqual(b, { wall: 5000, logical: 1 });
  });

  it('moves past timestamps it observes, so a reply orders after what it answers', () => {
    const clock = new HybridClock({ now: () => 1000 });
    assert.ok(clock.observe({ wall: 30_000, logical: 7 }));
    const next = clock.now();
    assert.ok(compareHlc(next, { wall: 30_000, logical: 7 }) > 0);
  });

  it('does not adopt a timestamp beyond the allowed drift', () => {
    const clock = new HybridClock({ now: () => 1000, maxDriftMs: 60_000 });
    assert.equal(clock.observe({ wall: 1000 + 61_000, logical: 0 }), false);
    assert.deepEqual(clock.now(), { wall: 1000, logical: 0 });
  });

  it('is strictly monotonic and causal under random skew, clock jumps and messages', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), node: fc.nat(2), jump: fc.integer({ min: -5000, max: 5000 }) }),
      fc.record({ kind: fc.constant('send' as const), from: fc.nat(2), to: fc.nat(2) }),
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -30_000, max: 30_000 }), { minLength: 3, maxLength: 3 }), fc.array(step, { maxLength: 200 }), (skews, steps) => {
        const walls = skews.map((skew) => 1_000_000 + skew);
        const clocks = walls.map((_, i) => new HybridClock({ now: () => walls[i]!, maxDriftMs: 1_000_000 }));
        const last: Hlc[] = clocks.map(() => ({ wall: 0, logical: 0 }));
        for (const s of steps) {
          if (s.kind === 'tick') {
            walls[s.node] = walls[s.node]! + s.jump;
            const t = clocks[s.node]!.now();
            assert.ok(compareHlc(t, last[s.node]!) > 0);
            last[s.node] = t;
          } else {
            const sent = clocks[s.from]!.now();
            assert.ok(compareHlc(sent, last[s.from]!) > 0);
            last[s.from] = sent;
            clocks[s.to]!.observe(sent);
            const reply = clocks[s.to]!.now();
            assert.ok(compareHlc(reply, sent) > 0, 'a reply orders after the message');
            assert.ok(compareHlc(reply, last[s.to]!) > 0);
            last[s.to] = reply;
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
