/**
 * Holds one session per peer. Accepts and dials TCP connections, runs the handshake (sessions
 * from the same source address are rate limited, replayed first messages refused), checks the
 * peer's node id (not ourselves, the expected one when dialing a known peer, and in the
 * trusted list if there is one), and resolves duplicates deterministically: when two sessions
 * with one peer exist, the one dialed by the smaller node id wins (a newer instance of the peer
 * always wins). Lost peers are redialed with jittered exponential backoff while they are wanted
 * (static peers always; discovered ones while their beacons or peer exchange still mention them).
 *
 * Emits `up` once the primary session's `hello` arrived, `down` when the last session with a peer
 * is gone, and every other session message as `message`.
 */
import { EventEmitter } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import type { Clock, Random, TimerHandle } from '../node/clock';
import type { Logger } from '../node/log';
import type { Priority, SessionMessage } from '../protocol/mesh';
import { Backoff, defaultBackoff, type BackoffOptions } from './backoff';
import { BoundedMap } from './boundedMap';
import { isStringArray } from './codec';
import type { Counters } from './counters';
import { splitHostPort } from './discovery';
import type { LocalHandshakeIdentity } from './handshake';
import type { AddressSource, PeerTable } from './peerTable';
import { RateLimiter, type RateLimitOptions } from './rateLimit';
import { Session } from './session';
import type { RekeyPolicy } from './transportCipher';

export interface SessionManagerOptions {
  local: LocalHandshakeIdentity;
  prologue: Buffer;
  listen: { host: string; port: number };
  clock: Clock;
  random: Random;
  logger: Logger;
  counters: Counters;
  peers: PeerTable;
  /** Our `hello` (name, listen, subscriptions), built when a session opens. */
  hello: () => Extract<SessionMessage, { t: 'hello' }>;
  trustedNodes?: ReadonlySet<string>;
  maxFrameBytes?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  handshakeRateLimit?: RateLimitOptions;
  backoff?: BackoffOptions;
  rekey?: RekeyPolicy;
  /** Discovered peers not heard from for this long are no longer dialed. */
  peerExpiryMs?: number;
  /** Delay before dialing a newly discovered peer with a smaller node id (it dials us first). */
  yieldDialMs?: number;
  maxSessions?: number;
}

export interface PeerUp {
  nodeId: string;
  name: string;
  addr: string;
  instance: string;
  subs: string[];
  multicast: boolean;
}

export interface SessionManagerEvents {
  up: [PeerUp];
  down: [nodeId: string, reason: string];
  message: [nodeId: string, message: SessionMessage, session: Session];
  hello: [nodeId: string, hello: Extract<SessionMessage, { t: 'hello' }>];
}

/** A peer not heard for this long whose beacons come again has just become reachable again. */
const reappearAfterMs = 5000;
/** A dial running this long when the peer reappears is waiting on the path that was dead. */
const staleDialMs = 1000;

interface Target {
  key: string;
  addr: string;
  nodeId?: string;
  source: AddressSource;
  backoff: Backoff;
  timer?: TimerHandle;
  dialing?: Session;
  dialStarted?: number;
  lastHeard: number;
  /** Said goodbye: not dialed again until heard from anew. */
  gone: boolean;
}

export class SessionManager extends EventEmitter<SessionManagerEvents> {
  private server: Server | undefined;
  private readonly sessions = new Set<Session>();
  private readonly primary = new Map<string, Session>();
  private readonly upPeers = new Set<string>();
  private readonly targets = new Map<string, Target>();
  private readonly graceTimers = new Map<string, TimerHandle>();
  private readonly byeReasons = new WeakMap<Session, string>();
  private readonly seenFirstMessages = new BoundedMap<string, true>(8192);
  private readonly limiter: RateLimiter;
  private listenAddr = '';
  private stopping = false;

  constructor(private readonly options: SessionManagerOptions) {
    super();
    this.limiter = new RateLimiter(options.clock, options.handshakeRateLimit ?? { burst: 64, perSecond: 32 });
  }

  get nodeId(): string {
    return this.options.local.identity.nodeId;
  }

  /** `host:port` we accept sessions on (valid after start). */
  get listenAddress(): string {
    return this.listenAddr;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  upPeerIds(): string[] {
    return [...this.upPeers];
  }

  /** The live set of up peers (no copy, for the per-message paths); do not keep it. */
  upPeerSet(): ReadonlySet<string> {
    return this.upPeers;
  }

  isUp(nodeId: string): boolean {
    return this.upPeers.has(nodeId);
  }

  session(nodeId: string): Session | undefined {
    const session = this.primary.get(nodeId);
    return session?.state === 'open' ? session : undefined;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    server.on('error', (error) => this.options.logger.error(`tcp server error: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('tcp server has no address');
    this.listenAddr = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    this.server = server;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const target of this.targets.values()) target.timer?.cancel();
    this.targets.clear();
    for (const timer of this.graceTimers.values()) timer.cancel();
    this.graceTimers.clear();
    const closed = [...this.sessions].map((session) => new Promise<void>((resolve) => {
      if (session.state === 'closed') return resolve();
      session.once('close', () => resolve());
      session.close('stop', undefined, true);
    }));
    const server = this.server;
    this.server = undefined;
    await Promise.all([...closed, server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()]);
  }

  /** Queues a message for a peer; false if no open session. */
  send(nodeId: string, message: SessionMessage, priority: Priority = 'chat'): boolean {
    return this.session(nodeId)?.send(message, priority) ?? false;
  }

  sendEncoded(nodeId: string, bytes: Buffer, priority: Priority = 'chat'): boolean {
    return this.session(nodeId)?.sendEncoded(bytes, priority) ?? false;
  }

  /**
   * Tells the manager where a peer can be reached. `nodeId` is unknown for static peers.
   * `immediate` dials now (new instance seen, static peer at start) instead of waiting for backoff.
   */
  learn(addr: string, source: AddressSource, nodeId?: string, options: { immediate?: boolean; instanceChanged?: boolean } = {}): void {
    if (this.stopping || nodeId === this.nodeId || addr === this.listenAddr) return;
    const key = nodeId ?? `static:${addr}`;
    const now = this.options.clock.monotonic();
    let target = this.targets.get(key);
    if (!target) {
      target = { key, addr, nodeId, source, backoff: new Backoff(this.options.random, this.options.backoff ?? defaultBackoff), lastHeard: now, gone: false };
      this.targets.set(key, target);
    } else {
      // Beacons again after a silence: the path is back (a healed partition, a woken laptop).
      // Dial at once instead of after the backoff, and give up a dial stuck on the dead path.
      const reappeared = source === 'multicast' && nodeId !== undefined && !this.upPeers.has(nodeId) && now - target.lastHeard >= reappearAfterMs;
      target.lastHeard = now;
      if (reappeared) {
        target.backoff.reset();
        if (target.dialing && now - (target.dialStarted ?? now) >= staleDialMs) target.dialing.close('superseded', 'the peer is heard again: dialing anew');
        else if (target.timer && !target.dialing) {
          target.timer.cancel();
          target.timer = undefined;
        }
      }
      if (target.source !== 'static') {
        target.addr = addr;
        if (source !== 'exchange' || target.source === 'exchange') target.source = source;
      }
      if (target.gone || options.instanceChanged) {
        target.gone = false;
        target.backoff.reset();
        if (target.timer && !target.dialing) {
          target.timer.cancel();
          target.timer = undefined;
        }
      }
    }
    if (nodeId) {
      const known = this.options.peers.get(nodeId);
      if (!known) this.options.peers.upsert(nodeId, { addr, source, state: 'discovered' });
      else if (known.state !== 'up') this.options.peers.upsert(nodeId, { addr, source });
    }
    const yieldMs = nodeId && nodeId < this.nodeId ? (this.options.yieldDialMs ?? 100) : 0;
    this.ensure(target, options.immediate || target.backoff.attempts === 0 ? yieldMs : undefined);
  }

  /** Forgets a peer's targets after its goodbye (no reconnect until it is heard from again). */
  markGone(nodeId: string): void {
    const target = this.targets.get(nodeId);
    if (target) {
      target.gone = true;
      target.timer?.cancel();
      target.timer = undefined;
    }
  }

  private wanted(target: Target): boolean {
    if (this.stopping || target.gone) return false;
    if (target.source === 'static') return true;
    return this.options.clock.monotonic() - target.lastHeard < (this.options.peerExpiryMs ?? 30_000);
  }

  /** Makes sure a dial is scheduled or running unless the peer is up. */
  private ensure(target: Target, delayMs?: number): void {
    if (!this.wanted(target)) {
      target.timer?.cancel();
      if (!target.dialing) this.targets.delete(target.key);
      return;
    }
    if (target.nodeId && this.upPeers.has(target.nodeId)) return;
    if (target.dialing || target.timer) return;
    const delay = delayMs ?? target.backoff.next();
    target.timer = this.options.clock.setTimeout(() => {
      target.timer = undefined;
      this.dial(target);
    }, delay);
  }

  private dial(target: Target): void {
    if (!this.wanted(target) || (target.nodeId && this.upPeers.has(target.nodeId))) return;
    if (this.sessions.size >= (this.options.maxSessions ?? 2048)) {
      this.options.counters.add('session.dial.too-many');
      this.ensure(target);
      return;
    }
    const [host, port] = splitHostPort(target.addr);
    this.options.counters.add('session.dial');
    if (target.nodeId) this.options.peers.upsert(target.nodeId, { state: this.upPeers.has(target.nodeId) ? 'up' : 'connecting' });
    // Connect first: writes queue until the connection is made.
    const socket = new Socket();
    socket.connect({ host, port });
    // A static address may change hands (a reinstalled node): only discovered peers are checked.
    const session = this.track(socket, true, target.addr, target.source === 'static' ? undefined : target.nodeId);
    target.dialing = session;
    target.dialStarted = this.options.clock.monotonic();
    session.once('open', (result) => {
      if (target.source === 'static') target.nodeId = result.remoteNodeId;
      target.dialing = undefined;
      target.backoff.reset();
    });
    session.once('close', () => {
      if (target.dialing !== session) return;
      target.dialing = undefined;
      if (this.targets.get(target.key) !== target) return;
      if (target.nodeId && !this.upPeers.has(target.nodeId)) {
        const peer = this.options.peers.get(target.nodeId);
        if (peer && peer.state === 'connecting') this.options.peers.upsert(target.nodeId, { state: 'down', downReason: session.reason });
      }
      this.ensure(target);
    });
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (!this.limiter.take(address)) {
      this.options.counters.add('session.rejected.rate-limited');
      this.options.logger.debug(`handshake from ${address} refused: rate limit`);
      socket.destroy();
      return;
    }
    if (this.sessions.size >= (this.options.maxSessions ?? 2048)) {
      this.options.counters.add('session.rejected.too-many');
      socket.destroy();
      return;
    }
    this.options.counters.add('session.accepted');
    this.track(socket, false, `${address}:${socket.remotePort ?? 0}`);
  }

  private track(socket: Socket, initiator: boolean, label: string, expectedNodeId?: string): Session {
    const o = this.options;
    const session = new Session({
      socket,
      initiator,
      local: o.local,
      prologue: o.prologue,
      clock: o.clock,
      logger: o.logger,
      counters: o.counters,
      maxFrameBytes: o.maxFrameBytes,
      heartbeatMs: o.heartbeatMs,
      deadAfterMs: o.deadAfterMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      rekey: o.rekey,
      label,
      checkFirstMessage: (message) => {
        const key = message.toString('base64');
        if (this.seenFirstMessages.has(key)) return 'replayed first handshake message';
        this.seenFirstMessages.set(key, true);
        return undefined;
      },
    });
    this.sessions.add(session);
    session.on('open', (result) => this.onOpen(session, result.remoteNodeId, expectedNodeId));
    session.on('message', (message) => this.onMessage(session, message));
    session.on('rtt', (ms) => {
      const nodeId = session.peer?.remoteNodeId;
      if (nodeId && this.primary.get(nodeId) === session) {
        this.options.peers.recordRtt(nodeId, ms);
        this.options.peers.touch(nodeId);
      }
    });
    session.on('close', (reason) => this.onClose(session, reason));
    return session;
  }

  private onOpen(session: Session, remote: string, expected?: string): void {
    if (remote === this.nodeId) return session.close('self', 'connected to ourselves', false);
    if (expected && remote !== expected) return session.close('unexpected-node', `expected ${expected.slice(0, 7)}, got ${remote.slice(0, 7)}`, false);
    if (this.options.trustedNodes && !this.options.trustedNodes.has(remote)) {
      return session.close('untrusted', `${remote.slice(0, 7)} is not in the trusted list`, false);
    }
    this.options.counters.add('session.opened');
    const existing = this.primary.get(remote);
    if (existing && existing !== session && existing.state !== 'closed') {
      if (!this.prefers(session, existing)) {
        this.options.counters.add('session.duplicate');
        return session.close('duplicate', undefined, true);
      }
      this.options.counters.add('session.duplicate');
      const restarted = existing.peer?.remoteInstance !== session.peer?.remoteInstance;
      this.primary.set(remote, session);
      existing.close(restarted ? 'replaced' : 'duplicate', undefined, true);
      if (restarted && this.upPeers.has(remote)) this.peerDown(remote, 'restarted');
    } else {
      this.primary.set(remote, session);
    }
    this.graceTimers.get(remote)?.cancel();
    this.graceTimers.delete(remote);
    session.send(this.options.hello(), 'control');
  }

  /** Deterministic choice between two sessions with one peer; true keeps `candidate`. */
  private prefers(candidate: Session, existing: Session): boolean {
    if (candidate.peer?.remoteInstance !== existing.peer?.remoteInstance) return true;
    const remote = candidate.peer!.remoteNodeId;
    const dialer = (s: Session) => (s.initiator ? this.nodeId : remote);
    if (dialer(candidate) !== dialer(existing)) {
      const smaller = this.nodeId < remote ? this.nodeId : remote;
      return dialer(candidate) === smaller;
    }
    return true;
  }

  private onMessage(session: Session, message: SessionMessage): void {
    const remote = session.peer?.remoteNodeId;
    if (!remote) return;
    // Data messages do not touch the peer table (hot path); heartbeats and control messages do.
    if (message.t !== 'env') this.options.peers.touch(remote);
    if (message.t === 'hello') return this.onHello(session, remote, message);
    if (message.t === 'bye') {
      if (typeof message.reason === 'string') this.byeReasons.set(session, message.reason.slice(0, 64));
      if (message.reason === 'stop') this.markGone(remote);
      if (message.reason === 'duplicate' && this.primary.get(remote) === session) {
        // The peer keeps another session with us; wait for it instead of reporting a down.
        const other = [...this.sessions].find((s) => s !== session && s.state === 'open' && s.peer?.remoteNodeId === remote);
        if (other) {
          this.primary.set(remote, other);
          other.send(this.options.hello(), 'control');
        }
      }
      return;
    }
    this.emit('message', remote, message, session);
  }

  private onHello(session: Session, remote: string, hello: Extract<SessionMessage, { t: 'hello' }>): void {
    if (typeof hello.name !== 'string' || typeof hello.listen !== 'string' || !isStringArray(hello.subs, 1024, 256)) {
      return session.close('malformed-message', 'bad hello', false);
    }
    const [host, port] = splitHostPort(hello.listen);
    const addr = host === '0.0.0.0' || host === '::' || host === '' ? `${session.remoteAddress.slice(0, session.remoteAddress.lastIndexOf(':'))}:${port}` : hello.listen;
    if (this.primary.get(remote) !== session) return;
    const instance = session.peer!.remoteInstance;
    this.options.peers.upsert(remote, { name: hello.name.slice(0, 64), addr, instance, state: 'up', multicast: hello.multicast === true });
    const target = this.targets.get(remote);
    if (!target) this.learn(addr, 'inbound', remote);
    else target.lastHeard = this.options.clock.monotonic();
    this.emit('hello', remote, hello);
    if (!this.upPeers.has(remote)) {
      this.upPeers.add(remote);
      this.options.counters.add('peer.up');
      this.options.logger.info(`peer up: ${hello.name} ${remote.slice(0, 7)} at ${addr}`);
      this.emit('up', { nodeId: remote, name: hello.name, addr, instance, subs: hello.subs, multicast: hello.multicast === true });
    }
  }

  private onClose(session: Session, closeReason: string): void {
    this.sessions.delete(session);
    const bye = this.byeReasons.get(session);
    const reason = bye ? `peer ${bye}` : closeReason;
    const remote = session.peer?.remoteNodeId;
    if (!remote || this.primary.get(remote) !== session) return;
    this.primary.delete(remote);
    const other = [...this.sessions].find((s) => s.state === 'open' && s.peer?.remoteNodeId === remote);
    if (other) {
      this.primary.set(remote, other);
      other.send(this.options.hello(), 'control');
      return;
    }
    if (!this.upPeers.has(remote)) return;
    if ((bye === 'duplicate' || closeReason === 'duplicate') && !this.stopping) {
      // Our primary was retired by the peer in favour of a session still opening on our side.
      this.graceTimers.get(remote)?.cancel();
      this.graceTimers.set(remote, this.options.clock.setTimeout(() => {
        this.graceTimers.delete(remote);
        if (!this.primary.has(remote)) this.peerDown(remote, reason);
      }, 1000));
      return;
    }
    this.peerDown(remote, reason);
  }

  private peerDown(remote: string, reason: string): void {
    if (!this.upPeers.delete(remote)) return;
    this.options.counters.add('peer.down');
    this.options.peers.upsert(remote, { state: 'down', downReason: reason });
    this.options.logger.info(`peer down: ${remote.slice(0, 7)} (${reason})`);
    this.emit('down', remote, reason);
    if (this.stopping) return;
    const target = this.targets.get(remote);
    if (target) this.ensure(target);
    for (const candidate of this.targets.values()) {
      if (candidate.source === 'static' && candidate.nodeId === remote) this.ensure(candidate);
    }
  }
}
