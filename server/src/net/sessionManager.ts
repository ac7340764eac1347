/**
 * Holds one session per peer. Accepts and dials TCP connections, runs the handshake (sessions
 * from the same source address are rate limited, replayed first messages refused), checks the
 * peer's node id (not ourselves, the expected one when dialing a known peer, and in the
 * trusted list if there is one), and resolves duplicates deterministically: when two sessions
 * with one peer exist, the one dialed by the smaller node id wins. A session from another instance
 * of a peer is a restart when the instance we hold no longer answers, and otherwise a copied data
 * folder: the instance that started later is refused (see duplicateIdentity.ts), so the one that
 * stays keeps its sessions. Lost peers are redialed with jittered exponential backoff while they
 * are wanted (static peers always; discovered ones while their beacons or peer exchange still
 * mention them).
 *
 * Emits `up` once the primary session's `hello` arrived, `down` when the last session with a peer
 * is gone, and every other session message as `message`.
 */
import { EventEmitter } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import type { Clock, Random, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { duplicateIdentityReason, type Priority, type SessionMessage } from '../../../protocol/mesh';
import { Backoff, defaultBackoff, type BackoffOptions } from './backoff';
import { BoundedMap } from './boundedMap';
import { isStringArray } from './codec';
import type { Counters } from './counters';
import { splitHostPort } from './discovery';
import { arbitrate, RefusedInstances, startedLater, type Contender, type InstanceStart } from './duplicateIdentity';
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
  /** Discovered peers not heard from for this long are no longer dialed (default 90 s: three of the longest beacon intervals). */
  peerExpiryMs?: number;
  /** Delay before dialing a newly discovered peer with a smaller node id (it dials us first). */
  yieldDialMs?: number;
  maxSessions?: number;
  /**
   * Dial every discovered peer and redial it while it is heard (default). Off when an overlay
   * chooses the few peers to keep (see overlay/): then only static peers are dialed on their own,
   * and others only through `connect()`.
   */
  dialDiscovered?: boolean;
  /** Our dials whose handshake is still running, at most (default 4); more wait their turn. */
  maxConcurrentDials?: number;
  /** Accepted connections whose handshake is still running, at most (default 32); more are refused. */
  maxPendingHandshakes?: number;
  /** How long a live instance has to answer before a session from another instance of it is taken for its restart. */
  duplicateProbeMs?: number;
}

export interface PeerUp {
  nodeId: string;
  name: string;
  addr: string;
  instance: string;
  subs: string[];
  multicast: boolean;
  /** We dialed the session that came up. */
  outbound: boolean;
  /** The static address (`--peer`) it was dialed at, when it is a static peer. */
  staticAddress?: string;
}

export interface SessionManagerEvents {
  up: [PeerUp];
  down: [nodeId: string, reason: string];
  message: [nodeId: string, message: SessionMessage, session: Session];
  /** A `connect()` did not lead to a session (refused, unreachable, handshake failed). */
  'dial-failed': [nodeId: string, reason: string];
  hello: [nodeId: string, hello: Extract<SessionMessage, { t: 'hello' }>];
  /** A new estimate of a peer's clock offset was recorded in the peer table. */
  clock: [nodeId: string];
  /**
   * This node is the later of two live instances of its node id and must leave the mesh. `running`
   * is where the other instance accepts sessions; `reportedBy` the node that said so (a peer, or
   * our own id when the other instance told us itself).
   */
  'duplicate-identity': [{ running: string; reportedBy: string }];
}

/** A peer not heard for this long whose beacons come again has just become reachable again. */
const reappearAfterMs = 5000;
/** A dial running this long when the peer reappears is waiting on the path that was dead. */
const staleDialMs = 1000;

type Hello = Extract<SessionMessage, { t: 'hello' }>;
type Bye = Extract<SessionMessage, { t: 'bye' }>;

/** A beacon from another instance of our node id is checked by a handshake at most this often. */
const cloneCheckGapMs = 30_000;

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
  /** Asked for by `connect()`: dialed once, the outcome reported. */
  requested?: boolean;
  /** A static peer's redial pace after sessions an overlay let go, one after another (see peerDown). */
  releases?: Backoff;
}

/** Redial pace of a static peer whose sessions an overlay keeps letting go. */
const releasedBackoff: BackoffOptions = { baseMs: 1_000, capMs: 60_000 };

export class SessionManager extends EventEmitter<SessionManagerEvents> {
  private server: Server | undefined;
  private readonly sessions = new Set<Session>();
  private readonly primary = new Map<string, Session>();
  private readonly upPeers = new Set<string>();
  private readonly targets = new Map<string, Target>();
  private readonly graceTimers = new Map<string, TimerHandle>();
  private readonly byes = new WeakMap<Session, Bye>();
  /** Sessions from another instance of a peer we hold a session with, while that one is asked whether it still answers; their hello waits here. */
  private readonly pending = new Map<Session, { hello?: Hello }>();
  private readonly refused: RefusedInstances;
  /** Other instances of our own node id: when each was last checked, and whether we warned about it. */
  private readonly clones = new BoundedMap<string, { checkedAt: number; warned: boolean }>(64);
  /** Sessions with another instance of our node id that started earlier: on close, we leave. */
  private readonly leavingVia = new WeakMap<Session, string>();
  private left = false;
  private readonly seenFirstMessages = new BoundedMap<string, true>(8192);
  private readonly limiter: RateLimiter;
  private listenAddr = '';
  private stopping = false;
  /** Sessions we dialed whose handshake runs, and accepted ones whose handshake runs. */
  private dialsInFlight = 0;
  private acceptsInFlight = 0;

  constructor(private readonly options: SessionManagerOptions) {
    super();
    this.limiter = new RateLimiter(options.clock, options.handshakeRateLimit ?? { burst: 64, perSecond: 32 });
    this.refused = new RefusedInstances(options.logger);
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

  /**
   * A beacon of our own node id from another instance: a copy of this node's data folder may be
   * running there. Beacons prove only the mesh key, so the handshake (which proves the identity
   * key and says when that instance started) decides which of the two leaves.
   */
  checkClone(addr: string, instance: string): void {
    if (this.stopping || this.left) return;
    const now = this.options.clock.monotonic();
    const clone = this.clones.get(instance);
    if (clone && now - clone.checkedAt < cloneCheckGapMs) return;
    this.clones.set(instance, { checkedAt: now, warned: clone?.warned ?? false });
    this.options.counters.add('session.dial.clone-check');
    const [host, port] = splitHostPort(addr);
    const socket = new Socket();
    socket.connect({ host, port });
    this.track(socket, true, addr, this.nodeId);
  }

  /**
   * Dials `nodeId` at `addr` once (no redial): `up` when a session is already up, otherwise the
   * outcome comes as `up` or `dial-failed`.
   */
  connect(nodeId: string, addr: string): 'up' | 'dialing' {
    if (this.upPeers.has(nodeId)) return 'up';
    if (this.stopping) {
      this.options.clock.setTimeout(() => this.emit('dial-failed', nodeId, 'stopping'), 0);
      return 'dialing';
    }
    let target = this.targets.get(nodeId);
    if (!target) {
      target = { key: nodeId, addr, nodeId, source: 'exchange', backoff: new Backoff(this.options.random, this.options.backoff ?? defaultBackoff), lastHeard: this.options.clock.monotonic(), gone: false };
      this.targets.set(nodeId, target);
    } else if (target.source !== 'static') target.addr = addr;
    target.requested = true;
    target.gone = false;
    if (!target.dialing && !target.timer) this.dial(target);
    return 'dialing';
  }

  /** Closes our session with `nodeId` gracefully (its peer sees the reason in our bye). */
  disconnect(nodeId: string, reason: string): void {
    const target = this.targets.get(nodeId);
    if (target && target.source !== 'static') {
      target.timer?.cancel();
      this.targets.delete(nodeId);
    }
    for (const session of [...this.sessions]) {
      if (session.peer?.remoteNodeId === nodeId && session.state !== 'closed') session.close(reason, undefined, true);
    }
  }

  private wanted(target: Target): boolean {
    if (this.stopping || target.gone) return false;
    if (target.source === 'static') return true;
    if (target.requested) return true;
    if (this.options.dialDiscovered === false) return false;
    return this.options.clock.monotonic() - target.lastHeard < (this.options.peerExpiryMs ?? 90_000);
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
    // Handshakes cost CPU on both sides: a node that dials everyone it hears of at once starves
    // itself and its peers until handshakes time out and are retried (a retry storm). The rest
    // wait their turn, without growing their backoff.
    if (this.dialsInFlight >= (this.options.maxConcurrentDials ?? 4)) {
      this.options.counters.add('session.dial.queued');
      target.timer = this.options.clock.setTimeout(() => {
        target.timer = undefined;
        this.dial(target);
      }, 100 + Math.round(this.options.random.next() * 200));
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
    this.countHandshake(session, 'dial');
    target.dialing = session;
    target.dialStarted = this.options.clock.monotonic();
    session.once('open', (result) => {
      if (target.source === 'static') target.nodeId = result.remoteNodeId;
      target.dialing = undefined;
      target.requested = false;
      target.backoff.reset();
    });
    session.once('close', () => {
      if (target.dialing !== session) return;
      target.dialing = undefined;
      if (target.requested) {
        target.requested = false;
        if (target.nodeId) this.emit('dial-failed', target.nodeId, session.reason ?? 'closed');
      }
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
    if (this.acceptsInFlight >= (this.options.maxPendingHandshakes ?? 32)) {
      this.options.counters.add('session.rejected.busy');
      socket.destroy();
      return;
    }
    this.options.counters.add('session.accepted');
    this.countHandshake(this.track(socket, false, `${address}:${socket.remotePort ?? 0}`), 'accept');
  }

  /** Counts a session's handshake as running until it opens or closes. */
  private countHandshake(session: Session, kind: 'dial' | 'accept'): void {
    if (kind === 'dial') this.dialsInFlight++;
    else this.acceptsInFlight++;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      if (kind === 'dial') this.dialsInFlight--;
      else this.acceptsInFlight--;
    };
    session.once('open', done);
    session.once('close', done);
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
    session.on('clock', (offsetMs) => {
      const nodeId = session.peer?.remoteNodeId;
      if (nodeId && this.primary.get(nodeId) === session) {
        this.options.peers.recordClockOffset(nodeId, offsetMs);
        this.emit('clock', nodeId);
      }
    });
    session.on('close', (reason) => this.onClose(session, reason));
    return session;
  }

  private onOpen(session: Session, remote: string, expected?: string): void {
    if (remote === this.nodeId) return this.onSelf(session);
    if (expected && remote !== expected) return session.close('unexpected-node', `expected ${expected.slice(0, 7)}, got ${remote.slice(0, 7)}`, false);
    if (this.options.trustedNodes && !this.options.trustedNodes.has(remote)) {
      return session.close('untrusted', `${remote.slice(0, 7)} is not in the trusted list`, false);
    }
    this.options.counters.add('session.opened');
    this.admit(remote, session);
  }

  /** Takes `session` as the one with `remote`, or settles which of it and the one we hold stays. */
  private admit(remote: string, session: Session, hello?: Hello): void {
    const existing = this.primary.get(remote);
    if (existing && existing !== session && existing.state === 'open' && existing.peer!.remoteInstance !== session.peer!.remoteInstance) {
      return this.arbitrate(remote, existing, session, hello);
    }
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
    }
    this.promote(remote, session, hello);
  }

  /** Makes `session` the one we use with `remote` and greets it (again, with the hello it sent while pending). */
  private promote(remote: string, session: Session, hello?: Hello): void {
    this.primary.set(remote, session);
    this.graceTimers.get(remote)?.cancel();
    this.graceTimers.delete(remote);
    session.send(this.options.hello(), 'control');
    if (hello) this.onHello(session, remote, hello);
  }

  /**
   * A session from another instance of a peer we hold an open session with: a restart when the
   * instance we hold no longer answers, otherwise two live instances of one node id, and the one
   * that started later is refused.
   */
  private arbitrate(remote: string, existing: Session, candidate: Session, hello?: Hello): void {
    const kept = this.refused.keptOver(remote, candidate.peer!.remoteInstance);
    if (kept && kept.instance === existing.peer!.remoteInstance) return this.refuse(candidate, kept.addr);
    this.pending.set(candidate, { hello });
    this.options.counters.add('session.instance-probe');
    existing.probe(this.options.duplicateProbeMs ?? 1000, (answered) => {
      const greeting = this.pending.get(candidate)?.hello;
      this.pending.delete(candidate);
      if (candidate.state !== 'open' || this.stopping) return;
      // The one we held closed meanwhile (and another may have taken its place): judge afresh.
      if (this.primary.get(remote) !== existing || existing.state !== 'open') return this.admit(remote, candidate, greeting);
      const verdict = arbitrate(startOf(existing), startOf(candidate), answered);
      if (verdict === 'refuse-candidate') {
        const keptOne = this.contenderOf(remote, existing);
        this.refused.refuse(remote, keptOne, this.contenderOf(remote, candidate, greeting));
        return this.refuse(candidate, keptOne.addr);
      }
      if (verdict === 'refuse-existing') {
        const keptOne = this.contenderOf(remote, candidate, greeting);
        const refusedOne = this.contenderOf(remote, existing);
        this.primary.set(remote, candidate);
        this.refuse(existing, keptOne.addr);
        this.peerDown(remote, duplicateIdentityReason);
        this.refused.refuse(remote, keptOne, refusedOne);
        return this.promote(remote, candidate, greeting);
      }
      // Its socket looks open but it does not answer (a machine switched off): a restart.
      this.primary.set(remote, candidate);
      existing.close('replaced', 'its instance did not answer', false);
      this.peerDown(remote, 'restarted');
      this.promote(remote, candidate, greeting);
    });
  }

  private refuse(session: Session, running: string): void {
    this.options.counters.add('session.refused.duplicate-identity');
    session.close(duplicateIdentityReason, `another instance of it runs at ${running}`, true, { t: 'bye', reason: duplicateIdentityReason, running });
  }

  /** Who `session` is, for the refusal and its warning: its listen address once known, else where it connected from. */
  private contenderOf(remote: string, session: Session, hello?: Hello): Contender {
    const peer = session.peer!;
    const listen = hello ? reachableAddress(hello.listen, session) : this.primary.get(remote) === session ? this.options.peers.get(remote)?.addr : undefined;
    return { instance: peer.remoteInstance, started: peer.remoteStarted, addr: listen ?? connectionAddress(session) };
  }

  /**
   * A session with another instance of our own node id (a copy of our data folder). The one that
   * started later leaves the mesh, once the other's bye (which says where it runs) has been read.
   */
  private onSelf(session: Session): void {
    const other = startOf(session);
    if (other.instance === this.options.local.instance) return session.close('self', 'connected to ourselves', false);
    this.options.counters.add('session.duplicate-identity.self');
    if (startedLater(this.options.local, other)) {
      this.leavingVia.set(session, connectionAddress(session));
      return session.close(duplicateIdentityReason, 'another instance of this node runs there', true);
    }
    const clone = this.clones.get(other.instance);
    if (!clone?.warned) {
      this.clones.set(other.instance, { checkedAt: clone?.checkedAt ?? -Infinity, warned: true });
      this.options.logger.warn(
        `another instance of this node (${this.nodeId.slice(0, 7)}, the same identity) runs ${session.initiator ? 'at' : 'from'} ${connectionAddress(session)} on a copy of this data folder: ` +
          `it started later (${new Date(other.started).toISOString()}), so it was told to leave the mesh; this one goes on`,
      );
    }
    session.close(duplicateIdentityReason, undefined, true, { t: 'bye', reason: duplicateIdentityReason, running: this.listenAddr });
  }

  private leave(running: string, reportedBy: string): void {
    if (this.left || this.stopping) return;
    this.left = true;
    this.emit('duplicate-identity', { running, reportedBy });
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
    if (this.pending.has(session)) {
      // Nothing from another instance counts before it is told it is the one we keep.
      if (message.t === 'hello') this.onHello(session, remote, message);
      return;
    }
    // Data messages do not touch the peer table (hot path); heartbeats and control messages do.
    if (message.t !== 'env') this.options.peers.touch(remote);
    if (message.t === 'hello') return this.onHello(session, remote, message);
    if (message.t === 'bye') {
      // The peer's bye answering ours (it saw our socket end) must not replace our reason; any other
      // bye counts even while we close (a refused duplicate identity names the running instance).
      if (typeof message.reason === 'string' && !(session.state === 'closing' && message.reason === 'remote-closed')) {
        this.byes.set(session, { t: 'bye', reason: message.reason.slice(0, 64), ...(typeof message.running === 'string' ? { running: message.running.slice(0, 64) } : {}) });
      }
      if (message.reason === 'stop' && this.primary.get(remote) === session) this.markGone(remote);
      if (message.reason === 'duplicate' && this.primary.get(remote) === session) {
        // The peer keeps another session with us; wait for it instead of reporting a down.
        const other = this.otherSession(remote, session);
        if (other) {
          this.primary.set(remote, other);
          other.send(this.options.hello(), 'control');
        }
      }
      return;
    }
    this.emit('message', remote, message, session);
  }

  private onHello(session: Session, remote: string, hello: Hello): void {
    if (typeof hello.name !== 'string' || typeof hello.listen !== 'string' || !isStringArray(hello.subs, 1024, 256)) {
      return session.close('malformed-message', 'bad hello', false);
    }
    const waiting = this.pending.get(session);
    if (waiting) {
      waiting.hello = hello;
      return;
    }
    const addr = reachableAddress(hello.listen, session);
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
      const staticTarget = [...this.targets.values()].find((t) => t.source === 'static' && t.nodeId === remote);
      this.emit('up', { nodeId: remote, name: hello.name, addr, instance, subs: hello.subs, multicast: hello.multicast === true, outbound: session.initiator, staticAddress: staticTarget?.addr });
    }
  }

  private onClose(session: Session, closeReason: string): void {
    this.sessions.delete(session);
    const bye = this.byes.get(session);
    const reason = bye ? `peer ${bye.reason}` : closeReason;
    const remote = session.peer?.remoteNodeId;
    const leavingVia = this.leavingVia.get(session);
    if (leavingVia !== undefined) this.leave(bye?.running ? reachableAddress(bye.running, session) : leavingVia, this.nodeId);
    else if (remote && remote !== this.nodeId && bye?.reason === duplicateIdentityReason) this.leave(bye.running ? reachableAddress(bye.running, session) : connectionAddress(session), remote);
    if (!remote || this.primary.get(remote) !== session) return;
    this.primary.delete(remote);
    const other = this.otherSession(remote, session);
    if (other) {
      this.primary.set(remote, other);
      other.send(this.options.hello(), 'control');
      return;
    }
    if (!this.upPeers.has(remote)) return;
    if ((bye?.reason === 'duplicate' || closeReason === 'duplicate') && !this.stopping) {
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

  /** An open session with `remote` besides `session` that may take over (not one from another instance on probation). */
  private otherSession(remote: string, session: Session): Session | undefined {
    return [...this.sessions].find((s) => s !== session && s.state === 'open' && s.peer?.remoteNodeId === remote && !this.pending.has(s));
  }

  private peerDown(remote: string, reason: string): void {
    this.refused.forget(remote);
    if (!this.upPeers.delete(remote)) return;
    this.options.counters.add('peer.down');
    // A session the overlay let go is no lost peer: it is still reached through the mesh.
    const released = reason === 'overlay' || reason === 'peer overlay';
    this.options.peers.upsert(remote, released ? { state: 'discovered' } : { state: 'down', downReason: reason });
    this.options.logger.info(`peer down: ${remote.slice(0, 7)} (${reason})`);
    this.emit('down', remote, reason);
    if (this.stopping) return;
    const target = this.targets.get(remote);
    if (target) this.ensure(target);
    for (const candidate of this.targets.values()) {
      if (candidate.source !== 'static' || candidate.nodeId !== remote) continue;
      // Let go by the overlay (ours or the peer's, e.g. a non-bridge refusing another cluster):
      // the mesh reaches the peer anyway, and a session redialed at once is let go again at once,
      // each time a session up and down on both nodes (and the broadcasts a new peer triggers).
      if (released) {
        candidate.releases ??= new Backoff(this.options.random, releasedBackoff);
        this.ensure(candidate, candidate.releases.next());
      } else {
        candidate.releases?.reset();
        this.ensure(candidate);
      }
    }
  }
}

function startOf(session: Session): InstanceStart {
  return { instance: session.peer!.remoteInstance, started: session.peer!.remoteStarted };
}

/** A peer's advertised listen address, its unspecified host (0.0.0.0) replaced by the address it connected from. */
function reachableAddress(listen: string, session: Session): string {
  const [host, port] = splitHostPort(listen);
  return host === '0.0.0.0' || host === '::' || host === '' ? `${remoteHost(session)}:${port}` : listen;
}

/** Where a session leads: the address we dialed, or the host an accepted connection came from (its port is no listener). */
function connectionAddress(session: Session): string {
  return session.initiator ? session.remoteAddress : remoteHost(session);
}

function remoteHost(session: Session): string {
  return session.remoteAddress.slice(0, session.remoteAddress.lastIndexOf(':'));
}
