import { strict as assert } from 'node:assert';
import { PiecePicker } from '../../../server/src/genomes/piecePicker';
import { Bitmap } from '../../../server/src/genomes/pieces';

const firstChoice = { next: () => 0, bytes: (n: number) => Buffer.alloc(n) };
const bitmap = (size: number, pieces: number[]) => {
  const b = new Bitmap(size);
  for (const p of pieces) b.set(p);
  return b;
};

describe('genome piece picker', () => {
  it('asks for the rarest piece first and never the same piece twice before the endgame', () => {
    const done = new Bitmap(4);
    const picker = new PiecePicker(4, done, firstChoice);
    picker.setHave('a', bitmap(4, [0, 1, 2, 3]));
    picker.setHave('b', bitmap(4, [0, 1, 2]));
    picker.setHave('c', bitmap(4, [0, 1]));
    assert.equal(picker.pick('a'), 3, 'only a has piece 3');
    assert.equal(picker.pick('a'), 2, 'then piece 2 (two holders)');
    assert.equal(picker.pick('b'), 0);
    assert.equal(picker.pick('c'), 1);
  });

  it('in the endgame asks a free peer for a piece already in flight, at most twice per piece', () => {
    const done = new Bitmap(2);
    const picker = new PiecePicker(2, done, firstChoice);
    picker.setHave('a', bitmap(2, [0, 1]));
    picker.setHave('b', bitmap(2, [0, 1]));
    picker.setHave('c', bitmap(2, [0, 1]));
    assert.equal(picker.pick('a'), 0);
    assert.equal(picker.pick('a'), 1);
    assert.equal(picker.pick('b'), 0, 'endgame duplicate');
    assert.equal(picker.pick('b'), 1);
    assert.equal(picker.pick('c'), undefined, 'two requests per piece at most');
    assert.deepEqual(picker.complete(0), ['a', 'b']);
    assert.equal(picker.pick('c'), undefined);
    picker.release('a', 1);
    assert.equal(picker.pick('c'), 1);
  });

  it('forgets a peer that went away, with its requests', () => {
    const done = new Bitmap(1);
    const picker = new PiecePicker(1, done, firstChoice);
    picker.setHave('a', bitmap(1, [0]));
    picker.setHave('b', bitmap(1, [0]));
    assert.equal(picker.holders(0), 2);
    assert.equal(picker.pick('a'), 0);
    picker.removePeer('a');
    assert.equal(picker.holders(0), 1);
    assert.equal(picker.isInFlight(0, 'a'), false);
    assert.equal(picker.pick('b'), 0, 'not in flight any more: b gets it as a first request');
  });
});
