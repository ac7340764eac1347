/** Two sessions over a real loopback TCP connection, for session-level tests. */
import { createServer, Socket, type AddressInfo } from 'node:net';
import { Counters } from '../../../../server/src/net/counters';
import { createLocalHandshakeIdentity } from '../../../../server/src/net/handshake';
import { Session, type SessionOptions } from '../../../../server/src/net/session';
import { systemClock } from '../../../../server/src/kernel/clock';
import { generateIdentity } from '../../../../server/src/kernel/identity';
import { silentLogger } from '../../../../server/src/kernel/log';
import type { ManualClock } from '../../../support/manualClock';
import { until } from '../../../support/until';

export interface SessionPair {
  a: Session;
  b: Session;
  /** The raw socket under `a`: writes bypass a's framing and cipher. */
  rawA: Socket;
  counters: Counters;
  close(): Promise<void>;
}

export interface SessionPairOptions extends Partial<SessionOptions> {
  prologueB?: Buffer;
  /** Sees a's raw socket before a's session uses it (e.g. to hold back or join its writes). */
  tapA?: (rawA: Socket) => void;
  /** False: return at once, before the handshake is done (default: wait until both are open). */
  awaitOpen?: boolean;
}

export async function openSessionPair(options: SessionPairOptions = {}): Promise<SessionPair> {
  const counters = options.counters ?? new Counters();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const rawA = new Socket();
  rawA.connect(port, '127.0.0.1');
  options.tapA?.(rawA);
  const base = {
    prologue: Buffer.alloc(32, 5),
    clock: systemClock,
    logger: silentLogger,
    counters,
    label: 'test',
    ...options,
  };
  const a = new Session({ ...base, socket: rawA, initiator: true, local: createLocalHandshakeIdentity(generateIdentity().identity, 'aaaaaaaaaaaaaaaa', 1) });
  const socketB = await accepted;
  const b = new Session({ ...base, prologue: options.prologueB ?? base.prologue, socket: socketB, initiator: false, local: createLocalHandshakeIdentity(generateIdentity().identity, 'bbbbbbbbbbbbbbbb', 2) });
  const opened = (s: Session) => new Promise<void>((resolve, reject) => {
    if (s.state === 'open') return resolve();
    s.once('open', () => resolve());
    s.once('close', (reason) => reject(new Error(`closed: ${reason}`)));
  });
  if (!options.prologueB && options.awaitOpen !== false) await Promise.all([opened(a), opened(b)]);
  return {
    a,
    b,
    rawA,
    counters,
    async close() {
      const done = (s: Session) => new Promise<void>((resolve) => (s.state === 'closed' ? resolve() : s.once('close', () => resolve())));
      a.close('test-end');
      b.close('test-end');
      await Promise.all([done(a), done(b)]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Resolves once each side has read every message the other has written. A session writes what it
 * queued in a setImmediate after the turn (flushScheduler.ts), and an answer (a pong) is queued in
 * the turn that reads what it answers, so once the counts agree after a turn, nothing is in flight.
 */
export async function drained(pair: SessionPair, timeoutMs = 2000): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const { a, b } = pair;
  await until(
    'both sessions to have read what the other wrote',
    () => (a.stats.messagesOut === b.stats.messagesIn && b.stats.messagesOut === a.stats.messagesIn) || undefined,
    timeoutMs,
    () => `a wrote ${a.stats.messagesOut} and read ${a.stats.messagesIn}; b wrote ${b.stats.messagesOut} and read ${b.stats.messagesIn}`,
  );
}

/**
 * Moves the pair's manual clock on by `ms` in steps of `stepMs`, and after each step lets the
 * sessions read what it made them send (a ping, its pong): with steps well below the keepalive grid
 * (heartbeatMs / 6), an answer is read before the next deadline, as on a live link. Time passes
 * only here, so a round trip takes none of it.
 */
export async function advanceTalking(clock: ManualClock, pair: SessionPair, ms: number, stepMs = 5): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    clock.advance(Math.min(stepMs, ms - passed));
    await drained(pair);
  }
}
