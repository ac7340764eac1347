/** Two sessions over a real loopback TCP connection, for session-level tests. */
import { createServer, Socket, type AddressInfo } from 'node:net';
import { Counters } from '../../../../server/src/net/counters';
import { createLocalHandshakeIdentity } from '../../../../server/src/net/handshake';
import { Session, type SessionOptions } from '../../../../server/src/net/session';
import { systemClock } from '../../../../server/src/kernel/clock';
import { generateIdentity } from '../../../../server/src/kernel/identity';
import { silentLogger } from '../../../../server/src/kernel/log';

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
