import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Backoff } from '../../../server/src/net/backoff';
import { Counters } from '../../../server/src/net/counters';
import { createLocalHandshakeIdentity } from '../../../server/src/net/handshake';
import { PeerTable } from '../../../server/src/net/peerTable';
import { SessionManager } from '../../../server/src/net/sessionManager';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { FakeClock, fixedRandom } from './support/fakeClock';

describe('net/backoff', () => {
  it('first retry within 100 ms, doubling, jittered, capped at 60 s, reset', () => {
    const high = new Backoff(fixedRandom([0.9999999]));
    const delays = Array.from({ length: 14 }, () => high.next());
    assert.ok(delays[0]! <= 100);
    assert.deepEqual(delays.slice(0, 12), [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    assert.ok(delays.every((d) => d <= 60_000));
    const low = new Backoff(fixedRandom([0]));
    assert.deepEqual([low.next(), low.next(), low.next()], [50, 100, 200]);
    low.reset();
    assert.equal(low.next(), 50);
  });

  it('jitter spreads retries between half and all of the ceiling', () => {
    const values = Array.from({ length: 100 }, (_, i) => i / 100);
    const backoff = new Backoff(fixedRandom(values));
    for (let i = 0; i < 100; i++) {
      backoff.reset();
      const delay = backoff.next();
      assert.ok(delay >= 50 && delay <= 100);
    }
  });

  it('the session manager redials a lost static peer on the backoff schedule of the injected clock', async () => {
    // A port that refuses connections: bind, note the port, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const clock = new FakeClock();
    const counters = new Counters();
    const manager = new SessionManager({
      local: createLocalHandshakeIdentity(generateIdentity().identity, '0011223344556677', 0),
      prologue: Buffer.alloc(32),
      listen: { host: '127.0.0.1', port: 0 },
      clock,
      random: fixedRandom([0.9999999]),
      logger: silentLogger,
      counters,
      peers: new PeerTable(clock),
      hello: () => ({ t: 'hello', name: 't', listen: '', subs: [], multicast: false }),
    });
    await manager.start();
    try {
      manager.learn(`127.0.0.1:${port}`, 'static', undefined, { immediate: true });
      const waitForDials = async (n: number) => {
        for (let i = 0; i < 500 && (counters.get('session.closed.socket-error') < n || clock.pending().length === 0); i++) await new Promise((r) => setImmediate(r));
      };
      clock.advance(0);
      const expected = [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000];
      for (let attempt = 1; attempt <= expected.length; attempt++) {
        await waitForDials(attempt);
        assert.equal(counters.get('session.dial'), attempt);
        assert.deepEqual(clock.pending(), [expected[attempt - 1]], `retry ${attempt}`);
        clock.advance(expected[attempt - 1]!);
      }
    } finally {
      await manager.stop();
    }
  });
});
