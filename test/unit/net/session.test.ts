import assert from 'node:assert/strict';
import { Counters } from '../../../server/src/net/counters';
import type { SessionMessage } from '../../../protocol/mesh';
import { FakeClock } from './support/fakeClock';
import { until } from '../../support/until';
import { advanceTalking, drained, openSessionPair } from './support/sessionPair';

function collect(session: import('../../../server/src/net/session').Session, count: number): Promise<SessionMessage[]> {
  const got: SessionMessage[] = [];
  return new Promise((resolve) => {
    session.on('message', (message) => {
      got.push(message);
      if (got.length === count) resolve(got);
    });
  });
}

const env = (n: number, topic = '/t', body: unknown = n): SessionMessage => ({ t: 'env', e: { type: 'event', id: `${n}`, origin: 'A'.repeat(52), seq: n, ts: 0, topic, body } });

describe('net/session', () => {
  it('opens, learns the peer, and delivers messages in order', async () => {
    const pair = await openSessionPair();
    try {
      assert.equal(pair.a.peer!.remoteInstance, 'bbbbbbbbbbbbbbbb');
      assert.equal(pair.b.peer!.remoteInstance, 'aaaaaaaaaaaaaaaa');
      const received = collect(pair.b, 500);
      for (let i = 0; i < 500; i++) pair.a.send(env(i));
      const messages = await received;
      assert.deepEqual(messages.map((m) => (m as { e: { seq: number } }).e.seq), [...Array(500).keys()]);
    } finally {
      await pair.close();
    }
  });

  it('seals everything written in one event-loop turn as one frame', async () => {
    const pair = await openSessionPair();
    try {
      const before = pair.a.stats.framesOut;
      const received = collect(pair.b, 100);
      for (let i = 0; i < 100; i++) pair.a.send(env(i));
      await received;
      assert.equal(pair.a.stats.framesOut - before, 1);
    } finally {
      await pair.close();
    }
  });

  it('sends control before chat before bulk within a flush', async () => {
    const pair = await openSessionPair();
    try {
      const received = collect(pair.b, 3);
      pair.a.send(env(1, '/genome/piece'), 'bulk');
      pair.a.send(env(2, '/chat'), 'chat');
      pair.a.send({ t: 'subs', add: ['/x'], remove: [] }, 'control');
      const messages = await received;
      assert.deepEqual(messages.map((m) => m.t), ['subs', 'env', 'env']);
      assert.equal((messages[1] as { e: { seq: number } }).e.seq, 2);
    } finally {
      await pair.close();
    }
  });

  it('a wrong mesh key (prologue) fails the handshake on both sides', async () => {
    const counters = new Counters();
    const pair = await openSessionPair({ counters, prologueB: Buffer.alloc(32, 6) });
    try {
      const reasons = await Promise.all([pair.a, pair.b].map((s) => new Promise<string>((resolve) => (s.state === 'closed' ? resolve(s.reason!) : s.once('close', resolve)))));
      assert.equal(reasons[0], 'handshake-failed');
      assert.ok(counters.get('session.closed.handshake-failed') >= 1);
    } finally {
      await pair.close();
    }
  });

  it('closes on an oversized frame header with a counted reason', async () => {
    const counters = new Counters();
    const pair = await openSessionPair({ counters, maxFrameBytes: 1024 });
    try {
      const closed = new Promise<string>((resolve) => pair.b.once('close', resolve));
      const header = Buffer.alloc(4);
      header.writeUInt32BE(2048, 0);
      pair.rawA.write(header);
      assert.equal(await closed, 'oversized-frame');
      assert.equal(counters.get('session.closed.oversized-frame'), 1);
    } finally {
      await pair.close();
    }
  });

  it('reads a large first message that arrives in the same chunk as the last handshake message', async () => {
    // The initiator's last handshake message is held back and leaves in one write with its first
    // data frame (4 KiB, above the 1 KiB handshake limit), so the responder reads both in one chunk.
    const pair = await openSessionPair({
      tapA: (raw) => {
        const write = raw.write.bind(raw);
        const held: Buffer[] = [];
        let writes = 0;
        raw.write = (chunk: Buffer) => {
          writes++;
          if (writes === 1) return write(chunk);
          held.push(chunk);
          if (held.length === 2) {
            raw.write = write;
            write(Buffer.concat(held));
          }
          return true;
        };
      },
      awaitOpen: false,
    });
    try {
      await new Promise<void>((resolve) => (pair.a.state === 'open' ? resolve() : pair.a.once('open', () => resolve())));
      const received = new Promise<SessionMessage>((resolve, reject) => {
        pair.b.once('message', resolve);
        pair.b.once('close', (reason) => reject(new Error(`b closed: ${reason} (${pair.counters.get('session.closed.oversized-frame')} oversized)`)));
      });
      const text = 'x'.repeat(4096);
      pair.a.send(env(1, '/t', text));
      const message = await received;
      assert.equal((message as { e: { body: unknown } }).e.body, text);
      assert.equal(pair.b.state, 'open');
    } finally {
      await pair.close();
    }
  });

  it('refuses to queue a message larger than a frame, without closing', async () => {
    const counters = new Counters();
    const pair = await openSessionPair({ counters, maxFrameBytes: 1024 });
    try {
      assert.equal(pair.a.send({ t: 'bye', reason: 'x'.repeat(2000) }), false);
      assert.equal(counters.get('session.send.too-large'), 1);
      assert.equal(pair.a.state, 'open');
    } finally {
      await pair.close();
    }
  });

  it('notices a silent peer within the dead-after time and measures RTT from heartbeats', async () => {
    const pair = await openSessionPair({ heartbeatMs: 50, deadAfterMs: 200 });
    try {
      const rtt = await new Promise<number>((resolve) => pair.b.once('rtt', resolve));
      assert.ok(rtt >= 0 && rtt < 100);
      const started = performance.now();
      const closed = new Promise<string>((resolve) => pair.b.once('close', resolve));
      pair.rawA.cork(); // a goes silent without closing the connection
      assert.equal(await closed, 'heartbeat-timeout');
      assert.ok(performance.now() - started < 400);
    } finally {
      pair.rawA.uncork();
      await pair.close();
    }
  });

  it('a quiet session is pinged once per heartbeat, not per peer per second', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock, heartbeatMs: 200, deadAfterMs: 2000 });
    try {
      await drained(pair); // the ping each side sends at open, and its pong
      const before = pair.a.stats.framesOut + pair.b.stats.framesOut;
      await advanceTalking(clock, pair, 1000);
      const frames = pair.a.stats.framesOut + pair.b.stats.framesOut - before;
      // A ping and its pong per quiet heartbeat on each side at most: 1000 / 200 * 2 * 2.
      assert.ok(frames >= 2 && frames <= 20, `${frames} frames in 1 s`);
      assert.equal(pair.a.state, 'open');
    } finally {
      await pair.close();
    }
  });

  it('only one side pings a quiet session; the other answers (one ping and one pong per heartbeat, not two of each)', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock, heartbeatMs: 150, deadAfterMs: 2000 });
    try {
      // Both sides ping once at open (the round trip and the clock are known from the start).
      await drained(pair);
      const pongs = { a: 0, b: 0 };
      pair.a.on('rtt', () => pongs.a++);
      pair.b.on('rtt', () => pongs.b++);
      await advanceTalking(clock, pair, 1100);
      const [pinger, answerer] = pongs.a >= pongs.b ? [pongs.a, pongs.b] : [pongs.b, pongs.a];
      assert.ok(pinger >= 4, `the pinging side heard ${pinger} pongs in 1.2 s`);
      assert.equal(answerer, 0, `the answering side pinged too (${answerer} pongs)`);
      assert.equal(pair.a.state, 'open');
      assert.equal(pair.b.state, 'open');
    } finally {
      await pair.close();
    }
  });

  it('a peer that stalls for less than the dead-after time keeps its session and gets what was sent meanwhile', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock, heartbeatMs: 100, deadAfterMs: 1500 });
    try {
      const received = collect(pair.a, 3);
      pair.rawA.pause(); // a reads nothing, answers nothing: its event loop is busy elsewhere
      for (let i = 0; i < 3; i++) pair.b.send(env(i));
      // The stall: 600 ms pass (b's probe after 100 ms goes unanswered) while a reads nothing.
      for (let passed = 0; passed < 600; passed += 5) {
        clock.advance(5);
        await new Promise((resolve) => setImmediate(resolve)); // what b queued meanwhile is written
      }
      pair.rawA.resume();
      assert.deepEqual((await received).map((m) => (m as { e: { seq: number } }).e.seq), [0, 1, 2]);
      assert.equal(pair.b.state, 'open');
    } finally {
      await pair.close();
    }
  });

  it('a graceful close sends bye and still delivers what was queued', async () => {
    const pair = await openSessionPair();
    try {
      const received = collect(pair.b, 2);
      pair.a.send(env(1));
      pair.a.close('stop', undefined, true);
      const messages = await received;
      assert.deepEqual(messages.map((m) => m.t), ['env', 'bye']);
    } finally {
      await pair.close();
    }
  });

  it('a graceful close may say more in its bye (where the instance that stays runs)', async () => {
    const pair = await openSessionPair();
    try {
      const received = collect(pair.b, 1);
      pair.a.close('duplicate-identity', undefined, true, { t: 'bye', reason: 'duplicate-identity', running: '10.0.0.5:47778' });
      assert.deepEqual(await received, [{ t: 'bye', reason: 'duplicate-identity', running: '10.0.0.5:47778' }]);
    } finally {
      await pair.close();
    }
  });

  it('probe: answers true when the pong to its ping arrives', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock });
    try {
      const answered = await new Promise<boolean>((resolve) => pair.b.probe(1000, resolve));
      assert.equal(answered, true);
      assert.equal(clock.activeTimers, 2, 'only the two heartbeats are left');
    } finally {
      await pair.close();
    }
  });

  it('probe: answers false once the bound passes without a pong, not before', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock });
    try {
      pair.rawA.pause(); // a's socket stays open, but a reads (and so answers) nothing
      const outcomes: boolean[] = [];
      const written = pair.b.stats.framesOut;
      pair.b.probe(1000, (answered) => outcomes.push(answered));
      await until('the probe ping written', () => pair.b.stats.framesOut > written || undefined, 2000);
      clock.advance(999);
      assert.deepEqual(outcomes, []);
      clock.advance(1);
      assert.deepEqual(outcomes, [false]);
    } finally {
      pair.rawA.resume();
      await pair.close();
    }
  });

  it('probe: answers false when the session closes first, and at once when it is not open', async () => {
    const clock = new FakeClock();
    const pair = await openSessionPair({ clock });
    const outcomes: boolean[] = [];
    pair.rawA.pause();
    pair.b.probe(1000, (answered) => outcomes.push(answered));
    pair.b.close('test');
    assert.deepEqual(outcomes, [false]);
    pair.b.probe(1000, (answered) => outcomes.push(answered));
    assert.deepEqual(outcomes, [false, false]);
    assert.equal(clock.activeTimers, 1, "a's heartbeat; b left none");
    pair.rawA.resume();
    await pair.close();
  });
});
