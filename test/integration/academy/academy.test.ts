/**
 * Two (and three) academy nodes on the in-memory mesh: a rating on one node reaches the others,
 * live or by anti-entropy after a partition or restart, and every node computes the same
 * leaderboard.
 */
import { strict as assert } from 'node:assert';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { AcademyMesh, exchange, memoryDb, persona, signed } from '../../unit/academy/support';

describe('academy on an in-memory mesh', () => {
  let mesh: AcademyMesh;
  beforeEach(() => {
    mesh = new AcademyMesh();
  });
  afterEach(async () => {
    await mesh.close();
  });

  it('a rating on node A reaches node B and both compute the same leaderboard', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    mesh.settle();
    const { reply } = exchange(a, 'How do I parse JSON?', 'JSON.parse(text)');
    mesh.settle();
    const signal = a.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/helper`, rating: 'up' });
    mesh.settle();
    assert.ok(signal);
    assert.deepEqual(b.academy.signals({ persona: `${a.id}/helper` }), [signal]);
    // B rates the same answer down from its own window: both nodes hold both signals.
    const down = b.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/helper`, rating: 'down' });
    mesh.settle();
    assert.ok(down);
    assert.equal(a.academy.store.count, 2);
    assert.deepEqual(a.academy.leaderboard(), b.academy.leaderboard());
    // One up, one down a few (decayed) seconds apart: about 0.
    assert.ok(Math.abs(a.academy.leaderboard().personas[0]!.overall.mean) < 1e-3);
    // Latency was noted from the same replicated history on both nodes.
    assert.deepEqual(a.academy.leaderboard().personas[0]!.latency, b.academy.leaderboard().personas[0]!.latency);
  });

  it('a node that was away catches up by anti-entropy in bounded batches, and again after a restart', async () => {
    const a = await mesh.add(undefined, undefined, { sync: { intervalMs: 0, maxBatchSignals: 7 } });
    const bIdentity = generateIdentity().identity;
    const bDb = memoryDb();
    let b = await mesh.add(bDb, bIdentity, { sync: { intervalMs: 0, maxBatchSignals: 7 } });
    mesh.settle();
    await mesh.remove(b);
    // While B is away, A records 30 signals about two personas (and a challenge between them).
    const helper = persona(a.id, 'helper', 'Helper');
    const other = persona(a.id, 'other', 'Other');
    for (let i = 0; i < 30; i++) {
      a.academy.record({ persona: i % 2 ? helper : other, room: 'general', category: i % 3 ? 'technical' : 'reliable', value: i % 5 === 0 ? -1 : 1, source: 'test_outcome', context: { input: `task ${i}` } });
      mesh.clock.advance(10);
    }
    a.academy.record({ persona: helper, opponent: other, room: 'challenge-1', category: 'innovative', value: 1, source: 'challenge', context: { input: 'write a haiku' } });
    b = await mesh.add(bDb, bIdentity, { sync: { intervalMs: 0, maxBatchSignals: 7 } });
    mesh.settle();
    assert.equal(b.academy.store.count, 31);
    assert.ok(b.academy.syncStats!.pullsSent >= 5, 'several bounded batches');
    assert.deepEqual(b.academy.leaderboard(), a.academy.leaderboard());
    assert.equal(b.academy.leaderboard().personas[0]!.key, `${a.id}/helper`, 'the challenge winner ranks first');
    // Restarted with its cursor: B asks only for what is new.
    await mesh.remove(b);
    a.academy.record({ persona: helper, room: 'general', category: 'technical', value: 1, source: 'review', context: { input: 'diff' } });
    b = await mesh.add(bDb, bIdentity, { sync: { intervalMs: 0, maxBatchSignals: 7 } });
    mesh.settle();
    assert.equal(b.academy.store.count, 32);
    assert.equal(b.academy.syncStats!.signalsReceived, 1);
  });

  it('a reply that arrives before its prompt gets its latency once the prompt comes: every node agrees', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    const c = await mesh.add();
    mesh.settle();
    mesh.hub.partition([b.id], [c.id]);
    const as = { participantId: 'helper', displayName: 'Helper', kind: 'persona' as const };
    a.rooms.join('general', as);
    const prompt = b.rooms.send({ roomId: 'general', text: 'q' });
    mesh.hub.flush();
    mesh.clock.advance(700);
    a.rooms.send({ roomId: 'general', text: 'a', replyTo: prompt.id }, as);
    mesh.hub.flush();
    a.academy.record({ persona: { nodeId: a.id, personaId: 'helper', name: 'Helper' }, room: 'general', category: 'technical', value: 1, source: 'review', context: { input: 'x' } });
    mesh.hub.flush();
    assert.equal(c.rooms.message('general', prompt.id), undefined, 'C has the reply but not the prompt');
    assert.equal(c.academy.leaderboard().personas[0]!.latency, undefined);
    mesh.hub.healAll();
    mesh.settle();
    assert.ok(c.rooms.message('general', prompt.id));
    assert.deepEqual(c.academy.leaderboard().personas[0]!.latency, { count: 1, p50Ms: 700, p95Ms: 700 });
    assert.deepEqual(c.academy.leaderboard(), a.academy.leaderboard());
    assert.deepEqual(b.academy.leaderboard(), a.academy.leaderboard());
  });

  it('three nodes: a signal relayed by sync from a third node is verified and kept; forged ones are not', async () => {
    const a = await mesh.add();
    const b = await mesh.add();
    const c = await mesh.add();
    mesh.settle();
    mesh.hub.partition([a.id], [c.id]);
    const record = a.academy.record({ persona: persona(a.id, 'helper'), room: 'general', category: 'collaborative', value: 0.5, source: 'review', context: { input: 'x' } });
    mesh.settle();
    assert.equal(c.academy.store.has(record.id), false, 'C is cut off from A');
    // A forged signal sneaks into B's store directly (as a broken peer would hold it).
    const mallory = generateIdentity().identity;
    const forged = { ...signed(mallory, { persona: persona(a.id, 'helper'), value: -1 }), signer: a.id };
    b.academy.store.add([forged]);
    c.academy.syncNow(b.id);
    mesh.settle();
    assert.equal(c.academy.store.has(record.id), true, 'relayed by B');
    assert.equal(c.academy.store.has(forged.id), false);
    assert.ok(c.log.messages('warn').some((m) => m.includes('not signed by its signer')));
  });
});
