import { strict as assert } from 'node:assert';
import { SignalStore } from '../../../server/src/academy/signalStore';
import { academyTopics, type Signal } from '../../../protocol/academy';
import { persona, AcademyMesh, exchange, memoryDb, signed } from './support';

describe('academy', () => {
  let mesh: AcademyMesh;
  beforeEach(() => {
    mesh = new AcademyMesh();
  });
  afterEach(async () => {
    await mesh.close();
  });

  it('a thumbs up on a persona message records a signed signal with the exchange as context', async () => {
    const a = await mesh.add();
    const { prompt, reply } = exchange(a, 'How do I read a file?', 'Use fs.readFile.');
    const seen: Signal[] = [];
    a.academy.on('signal', (s) => seen.push(s));
    const signal = a.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/helper`, rating: 'up', reason: 'works' });
    assert.ok(signal);
    assert.deepEqual(signal.persona, persona(a.id, 'helper', 'Helper'));
    assert.equal(signal.value, 1);
    assert.equal(signal.source, 'thumbs');
    assert.equal(signal.category, 'technical');
    assert.equal(signal.promptId, prompt.id);
    assert.deepEqual(signal.context, { input: 'How do I read a file?', actual: 'Use fs.readFile.' });
    assert.equal(signal.signer, a.id);
    assert.deepEqual(seen, [signal]);
    const board = a.academy.leaderboard();
    assert.equal(board.personas.length, 1);
    assert.equal(board.personas[0]!.key, `${a.id}/helper`);
    assert.equal(board.personas[0]!.overall.count, 1);
    assert.deepEqual(a.academy.signals({ persona: `${a.id}/helper` }), [signal]);
  });

  it('changing and taking back a thumb replaces the earlier one; nothing to take back gives null', async () => {
    const a = await mesh.add();
    const { reply } = exchange(a, 'q', 'a');
    const key = `${a.id}/helper`;
    assert.equal(a.academy.rate({ roomId: 'general', messageId: reply.id, persona: key, rating: null }), null);
    a.academy.rate({ roomId: 'general', messageId: reply.id, persona: key, rating: 'up' });
    a.academy.rate({ roomId: 'general', messageId: reply.id, persona: key, rating: 'down' });
    assert.equal(a.academy.leaderboard().personas[0]!.overall.mean, -1);
    assert.equal(a.academy.leaderboard().personas[0]!.overall.count, 1);
    const back = a.academy.rate({ roomId: 'general', messageId: reply.id, persona: key, rating: null });
    assert.equal(back?.withdrawn, true);
    assert.equal(a.academy.leaderboard().personas[0]!.overall.count, 0);
    assert.equal(a.academy.rate({ roomId: 'general', messageId: reply.id, persona: key, rating: null }), null);
  });

  it('refuses to rate a human message, a message of another persona, and a missing message', async () => {
    const a = await mesh.add();
    const { prompt, reply } = exchange(a, 'q', 'a');
    assert.throws(() => a.academy.rate({ roomId: 'general', messageId: prompt.id, persona: `${a.id}/user`, rating: 'up' }), /only persona messages/);
    assert.throws(() => a.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/other`, rating: 'up' }), /not .*other/);
    assert.throws(() => a.academy.rate({ roomId: 'general', messageId: `${a.id}:99`, persona: `${a.id}/helper`, rating: 'up' }), /not in room/);
    assert.throws(() => a.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/helper`, rating: 'sideways' as never }), /up/);
  });

  it('stores a signal once however often it arrives, and drops tampered or forged ones', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    mesh.settle();
    const signal = signed(a.identity, { persona: persona(a.id, 'helper') });
    a.transport.publish(academyTopics.signals, signal);
    a.transport.publish(academyTopics.signals, signal);
    mesh.settle();
    assert.equal(b.academy.store.count, 1);
    // Tampered value; a live signal relayed by someone other than its signer.
    a.transport.publish(academyTopics.signals, { ...signed(a.identity, { persona: persona(a.id, 'helper'), ts: 5 }), value: -1 });
    b.transport.publish(academyTopics.signals, signed(a.identity, { persona: persona(a.id, 'helper'), ts: 6 }));
    a.transport.publish(academyTopics.signals, { bogus: true });
    mesh.settle();
    assert.equal(b.academy.store.count, 1);
    assert.ok(b.log.messages('warn').some((m) => m.includes('not signed by its signer')));
    assert.equal(a.academy.store.count, 0, 'a does not store what it did not record or receive');
    const store = new SignalStore(b.db);
    assert.deepEqual(store.add([signal, signal]), []);
    // Dated two days ahead of B's clock: dropped.
    a.transport.publish(academyTopics.signals, signed(a.identity, { persona: persona(a.id, 'helper'), ts: mesh.clock.now() + 2 * 86_400_000 }));
    mesh.settle();
    assert.equal(b.academy.store.count, 1);
    assert.ok(b.log.messages('warn').some((m) => m.includes("ahead of this node's clock")));
  });

  it('notes persona reply times from the room history (or metadata.latencyMs) as latency', async () => {
    const a = await mesh.add();
    const as = { participantId: 'helper', displayName: 'Helper', kind: 'persona' as const };
    a.rooms.join('general', as);
    const prompt = a.rooms.send({ roomId: 'general', text: 'q' });
    mesh.clock.advance(1200);
    a.rooms.send({ roomId: 'general', text: 'a', replyTo: prompt.id }, as);
    a.rooms.send({ roomId: 'general', text: 'b', replyTo: prompt.id, metadata: { latencyMs: 300 } }, as);
    a.rooms.send({ roomId: 'general', text: 'notice', replyTo: prompt.id, metadata: { notice: true } }, as);
    const row = a.academy.leaderboard().personas.find((p) => p.key === `${a.id}/helper`);
    assert.deepEqual(row?.latency, { count: 2, p50Ms: 300, p95Ms: 1200 });
    assert.equal(row?.persona.name, 'Helper', 'known by its replies only, it is shown by its name, not its id');
  });

  it('the store serves batches bounded in count and bytes, in its own storage order', async () => {
    const a = await mesh.add();
    const store = new SignalStore(a.db);
    const signals = Array.from({ length: 5 }, (_, i) => signed(a.identity, { persona: persona(a.id, 'helper'), ts: 100 - i, context: { input: 'x'.repeat(1000) } }));
    store.add(signals);
    const first = store.after(0, 3);
    assert.deepEqual(first.signals.map((s) => s.id), signals.slice(0, 3).map((s) => s.id), 'storage order, not ts order');
    assert.equal(first.more, true);
    const small = store.after(first.last, 10, 1500);
    assert.equal(small.signals.length, 1, 'about 1500 bytes: one signal');
    assert.equal(small.more, true);
    const rest = store.after(small.last, 10, 1);
    assert.equal(rest.signals.length, 1, 'at least one signal, whatever the byte limit');
    assert.deepEqual(store.after(store.lastSeq, 10), { signals: [], last: store.lastSeq, more: false });
    assert.match(store.epoch, /^[0-9a-f]{16}$/);
    assert.equal(new SignalStore(a.db).epoch, store.epoch, 'the epoch persists');
  });

  it('stop releases every handler', async () => {
    const db = memoryDb();
    const a = await mesh.add(db);
    await mesh.remove(a);
    assert.equal(a.transport.handlerCount, 0);
    assert.equal(a.rooms.listenerCount('message'), 0);
    db.close();
  });
});
