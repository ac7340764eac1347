import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { encodeBeacon, parseBeacon } from '../../../server/src/net/beacon';
import { Counters } from '../../../server/src/net/counters';
import { Discovery } from '../../../server/src/net/discovery';
import { silentLogger } from '../../../server/src/kernel/log';
import { meshProtocolVersion, type Beacon } from '../../../protocol/mesh';
import { FakeClock, fixedRandom } from './support/fakeClock';

const key = Buffer.alloc(32, 7);
const from: RemoteInfo = { address: '127.0.0.1', port: 47777, family: 'IPv4', size: 0 };

function setup(random = fixedRandom([0.5])) {
  const clock = new FakeClock();
  const sent: Buffer[] = [];
  let deliver: (datagram: Buffer, info: RemoteInfo) => void = () => undefined;
  const socket = {
    onDatagram: (handler: (datagram: Buffer, info: RemoteInfo) => void) => void (deliver = handler),
    send: (datagram: Buffer) => void sent.push(datagram),
    sendAndWait: (datagram: Buffer) => (sent.push(datagram), Promise.resolve()),
  };
  const counters = new Counters();
  const discovery = new Discovery(socket, {
    nodeId: 'A'.repeat(52), instance: 'a'.repeat(16), name: 'a', hmacKey: key, tcpAddress: () => '127.0.0.1:1000',
    intervalMs: 2000, maxIntervalMs: 32_000, clock, random, logger: silentLogger, counters,
  });
  let counter = 0;
  const hear = (nodeId: string, instance = 'b'.repeat(16), iv?: number) => {
    const beacon: Beacon = { v: meshProtocolVersion, nodeId, instance, counter: ++counter, ts: clock.now(), tcp: '127.0.0.1:2000', name: 'b', ...(iv ? { iv } : {}) };
    deliver(encodeBeacon(beacon, key), from);
  };
  return { clock, sent, discovery, counters, hear };
}

/** Times (ms since start) at which beacons left, fast start excluded. */
function beaconTimes(clock: FakeClock, sent: Buffer[], until: number, step = 100): number[] {
  const times: number[] = [];
  for (let t = 0; t <= until; t += step) {
    const before = sent.length;
    clock.advance(step);
    if (sent.length > before) times.push(t + step);
  }
  return times;
}

describe('net/discovery', () => {
  it('beacons on a Trickle timer: the interval doubles up to its maximum while nothing changes', async () => {
    const { clock, sent, discovery } = setup();
    await discovery.start();
    clock.advance(1000); // fast start: three beacons
    assert.equal(sent.length, 3);
    const times = beaconTimes(clock, sent, 120_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Half to all of each interval (random 0.5 → three quarters): 2, 4, 8, 16, 32, 32 … s.
    assert.ok(gaps.length >= 4 && gaps.length <= 8, `gaps ${gaps.join(", ")}`);
    assert.ok(gaps.at(-1)! >= 24_000 && gaps.at(-1)! <= 32_000, `gaps ${gaps.join(", ")}`);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= gaps[i - 1]! - 100, `gaps ${gaps.join(", ")}`);
    assert.equal(discovery.intervalMs, 32_000);
    await discovery.stop();
  });

  it('a larger subnet lengthens the ceiling so that all nodes together send about one beacon a second (RTCP)', async () => {
    const { clock, sent, discovery, hear } = setup();
    await discovery.start();
    const letter = (n: number) => String.fromCharCode(66 + n);
    const others = Array.from({ length: 59 }, (_, i) => 'B'.repeat(50) + letter(Math.floor(i / 20)) + letter(i % 20));
    // Sixty nodes heard, each beaconing every 60 s (each heard every 20 s here): ceiling 60 s.
    for (let t = 0; t < 400_000; t += 20_000) {
      for (const id of others) hear(id, 'b'.repeat(16), 60_000);
      clock.advance(20_000);
    }
    assert.equal(discovery.intervalMs, 60_000);
    const before = sent.length;
    for (let t = 0; t < 180_000; t += 20_000) {
      for (const id of others) hear(id, 'b'.repeat(16), 60_000);
      clock.advance(20_000);
    }
    const perNode = (sent.length - before) / 180;
    assert.ok(perNode <= 1 / 45 && perNode >= 1 / 60 / 2, `beacons a second from this node: ${perNode}`);
    // They fall silent: the ceiling comes back to the configured 32 s.
    clock.advance(400_000);
    assert.equal(discovery.intervalMs, 32_000);
    await discovery.stop();
  });

  it('reset() (a lost session) brings the next beacon within the shortest interval', async () => {
    const { clock, sent, discovery } = setup();
    await discovery.start();
    clock.advance(120_000);
    assert.equal(discovery.intervalMs, 32_000);
    const before = sent.length;
    discovery.reset();
    clock.advance(2000);
    assert.equal(sent.length, before + 1);
    assert.equal(discovery.intervalMs, 4000);
    await discovery.stop();
  });

  it('answers a new instance once, unless enough other beacons were heard first (suppression)', async () => {
    const { clock, sent, discovery, counters, hear } = setup();
    await discovery.start();
    clock.advance(1600); // the fast start and the first Trickle beacon (the next one is at 4.5 s)
    const before = sent.length;
    hear('B'.repeat(52));
    clock.advance(400);
    assert.equal(sent.length, before + 1, 'answered the newcomer');
    hear('C'.repeat(52));
    hear('D'.repeat(52), 'd'.repeat(16));
    hear('E'.repeat(52), 'e'.repeat(16));
    hear('F'.repeat(52), 'f'.repeat(16));
    clock.advance(400);
    assert.equal(sent.length, before + 1, 'three others answered: no fourth');
    assert.equal(counters.get('discovery.answer.suppressed'), 1);
    const last = parseBeacon(sent.at(-1)!, key);
    assert.ok(last.ok && last.beacon.nodeId === 'A'.repeat(52));
    await discovery.stop();
  });
});
