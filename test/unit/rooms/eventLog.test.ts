import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { Author, RoomEvent, RoomEventBody } from '../../../protocol/rooms';
import { EventLog } from '../../../server/src/rooms/eventLog';
import { memoryDb } from './support';

const alice: Author = { nodeId: 'A', participantId: 'user', displayName: 'Alice', kind: 'human' };
const bob: Author = { nodeId: 'B', participantId: 'user', displayName: 'Bob', kind: 'human' };

function ev(origin: string, roomSeq: number, body: RoomEventBody, wall = 1000 + roomSeq): RoomEvent {
  return { roomId: 'general', origin, roomSeq, hlc: { wall, logical: 0 }, body };
}

function msg(author: Author, roomSeq: number, text: string): RoomEvent {
  return ev(author.nodeId, roomSeq, { type: 'message', author, text, mentions: [] });
}

describe('rooms/eventLog', () => {
  it('applies an event once: a repeated event changes nothing', () => {
    const db = memoryDb();
    const log = new EventLog(db, 'C');
    const event = msg(alice, 1, 'hello');
    const [first] = log.applyRemote([{ event, status: 'ok' }]);
    const [again] = log.applyRemote([{ event, status: 'ok' }, { event, status: 'ok' }]);
    assert.equal(first!.inserted, true);
    assert.equal(again!.inserted, false);
    assert.equal(log.stats('general').messageCount, 1);
    const count = db.prepare('SELECT count(*) AS n FROM room_events').get() as { n: number };
    assert.equal(count.n, 1);
    db.close();
  });

  it('numbers local events 1, 2, 3 per room and keeps counting after a restart', () => {
    const db = memoryDb();
    let log = new EventLog(db, 'A');
    const seqs = [1, 2, 3].map((i) => log.appendLocal('general', { wall: i, logical: 0 }, { type: 'message', author: alice, text: `m${i}`, mentions: [] }).event.roomSeq);
    const other = log.appendLocal('other', { wall: 9, logical: 0 }, { type: 'joined', author: alice }).event.roomSeq;
    assert.deepEqual(seqs, [1, 2, 3]);
    assert.equal(other, 1);
    log = new EventLog(db, 'A');
    assert.equal(log.appendLocal('general', { wall: 10, logical: 0 }, { type: 'left', author: alice }).event.roomSeq, 4);
    assert.deepEqual(log.summary(['general']), { general: { A: 4 } });
    db.close();
  });

  it('tracks the contiguous high-water mark and reports gaps; filling them advances it', () => {
    const db = memoryDb();
    const log = new EventLog(db, 'C');
    const outcomes = log.applyRemote([1, 2, 5, 7].map((seq) => ({ event: msg(alice, seq, `m${seq}`), status: 'ok' as const })));
    assert.deepEqual(outcomes.map((o) => o.gap), [false, false, true, true]);
    assert.deepEqual(log.head('general', 'A'), { contiguous: 2, maxSeq: 7 });
    assert.deepEqual(log.gaps('general'), [
      { origin: 'A', from: 3, to: 4 },
      { origin: 'A', from: 6, to: 6 },
    ]);
    log.applyRemote([3, 4, 6].map((seq) => ({ event: msg(alice, seq, `m${seq}`), status: 'ok' as const })));
    assert.deepEqual(log.head('general', 'A'), { contiguous: 7, maxSeq: 7 });
    assert.deepEqual(log.gaps('general'), []);
    db.close();
  });

  it('folds edits, deletions and reactions that arrive before their message', () => {
    const db = memoryDb();
    const log = new EventLog(db, 'C');
    const reaction = ev('B', 1, { type: 'reaction', messageId: 'A:1', author: bob, emoji: '👍', add: true });
    const edit = ev('A', 2, { type: 'edit', messageId: 'A:1', author: alice, text: 'hello, edited' });
    log.applyRemote([{ event: reaction, status: 'ok' }, { event: edit, status: 'ok' }]);
    assert.equal(log.message('general', 'A:1'), undefined);
    const [outcome] = log.applyRemote([{ event: msg(alice, 1, 'hello'), status: 'ok' }]);
    const folded = outcome!.messages[0]!;
    assert.equal(folded.text, 'hello, edited');
    assert.equal(folded.editedAt, 1002);
    assert.deepEqual(folded.reactions, { '👍': ['B/user'] });
    db.close();
  });

  it('ignores edits and deletions by anyone but the author, in any arrival order', () => {
    const db = memoryDb();
    const log = new EventLog(db, 'C');
    const forgedEdit = ev('B', 1, { type: 'edit', messageId: 'A:1', author: bob, text: 'pwned' });
    const forgedDelete = ev('B', 2, { type: 'delete', messageId: 'A:1', author: bob });
    log.applyRemote([{ event: msg(alice, 1, 'mine'), status: 'ok' }]);
    const outcomes = log.applyRemote([{ event: forgedEdit, status: 'ok' }, { event: forgedDelete, status: 'ok' }]);
    assert.match(outcomes[0]!.refusal!, /only the author may edit/);
    assert.match(outcomes[1]!.refusal!, /only the author may delete/);
    assert.equal(log.message('general', 'A:1')!.text, 'mine');
    assert.equal(log.message('general', 'A:1')!.deleted, undefined);
    db.close();
  });

  it('converges to the same view for any arrival order and duplication (property)', () => {
    const events: RoomEvent[] = [
      msg(alice, 1, 'one'),
      msg(bob, 1, 'two'),
      ev('A', 2, { type: 'edit', messageId: 'A:1', author: alice, text: 'one!' }),
      ev('B', 2, { type: 'reaction', messageId: 'A:1', author: bob, emoji: '🎉', add: true }),
      ev('A', 3, { type: 'reaction', messageId: 'A:1', author: alice, emoji: '🎉', add: true }),
      ev('B', 3, { type: 'reaction', messageId: 'A:1', author: bob, emoji: '🎉', add: false }),
      ev('B', 4, { type: 'delete', messageId: 'B:1', author: bob }),
      ev('B', 5, { type: 'edit', messageId: 'A:1', author: bob, text: 'forged' }),
      ev('A', 4, { type: 'joined', author: alice }),
      ev('A', 5, { type: 'left', author: alice }),
    ];
    const view = (order: RoomEvent[]) => {
      const db = memoryDb();
      const log = new EventLog(db, 'C');
      for (const event of order) log.applyRemote([{ event, status: 'ok' }]);
      const result = { history: log.history('general', 100).messages, members: log.members('general'), summary: log.summary(['general']) };
      db.close();
      return result;
    };
    const expected = view(events);
    assert.equal(expected.history.length, 2);
    assert.equal((expected.history[0] as { text: string }).text, 'one!');
    assert.deepEqual(expected.history[0]!.reactions, { '🎉': ['A/user'] });
    assert.equal(expected.history[1]!.deleted, true);
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.nat(events.length - 1), { maxLength: 5 }), (order, dups) => {
        const withDups = [...order, ...dups.map((i) => events[i]!)];
        assert.deepEqual(view(withDups), expected);
      }),
      { numRuns: 60 },
    );
  });

  it('pages history newest first and serves events above a summary in bounded batches', () => {
    const db = memoryDb();
    const log = new EventLog(db, 'A');
    for (let i = 1; i <= 25; i++) log.appendLocal('general', { wall: 100 + i, logical: 0 }, { type: 'message', author: alice, text: `m${i}`, mentions: [] });
    const newest = log.history('general', 10);
    assert.deepEqual(newest.messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `m${16 + i}`));
    assert.equal(newest.hasMore, true);
    const older = log.history('general', 10, newest.messages[0]);
    assert.deepEqual(older.messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `m${6 + i}`));
    const oldest = log.history('general', 10, older.messages[0]);
    assert.equal(oldest.messages.length, 5);
    assert.equal(oldest.hasMore, false);

    const first = log.eventsAfter('general', { A: 3 }, 10, 1 << 20);
    assert.deepEqual(first.events.map((e) => e.roomSeq), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.equal(first.more, true);
    const last = log.eventsAfter('general', { A: 20 }, 10, 1 << 20);
    assert.deepEqual(last.events.map((e) => e.roomSeq), [21, 22, 23, 24, 25]);
    assert.equal(last.more, false);
    const small = log.eventsAfter('general', {}, 100, 200);
    assert.ok(small.events.length >= 1 && small.events.length < 25 && small.more);
    db.close();
  });
});
