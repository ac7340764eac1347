/**
 * MeshNetwork: the one entry point to the mesh's networking. Build it in the node's composition
 * root, `await start()`, and `await stop()` on shutdown (stop sends goodbyes and frees every socket
 * and timer).
 *
 * ```ts
 * const mesh = new MeshNetwork({
 *   identity,                       // kernel/identity.ts (Ed25519; node id = base32 SHA-256 of the key)
 *   meshKey: parseMeshKey(text),    // kernel/meshKey.ts; every node of the team shares it
 *   name: 'alice-laptop',
 *   listen: { host: '0.0.0.0', port: 0 },              // TCP sessions; port 0 = any
 *   discovery: { group: '239.255.77.77', port: 47777,  // or `false` for static peers only
 *                interface: '192.168.1.20',            // ALWAYS name the interface
 *                intervalMs: 2000, broadcast: false },  // broadcast: true | '192.168.1.255'
 *   staticPeers: ['192.168.1.30:47800'],               // --peer host:port
 *   trustedNodes: undefined,                           // optional allow-list of node ids
 *   clock: systemClock, random: cryptoRandom, logger,
 * });
 * await mesh.start();
 * mesh.listenAddress;                                   // '0.0.0.0:41234'
 * mesh.on('peer.up', ({ nodeId, name, addr }) => ...);
 * mesh.on('peer.down', ({ nodeId, reason }) => ...);
 * mesh.on('identity.duplicate', ({ running, reportedBy }) => ...); // we are a later copy: the network stops
 * mesh.on('message', (m) => ...);                      // every delivered event: {topic, body, from, ...}
 * const off = mesh.subscribe('/chat/room/lobby/', (m) => ...);   // topic prefix; announced to peers
 * mesh.publish('/chat/room/lobby/events/message', { text: 'hi' }); // reliable lane, chat priority
 * mesh.publish('/presence/typing', { room: 'lobby' });             // fast lane (multicast, lossy)
 * mesh.publish(topic, body, { lane: 'reliable', priority: 'bulk', echo: true });
 * mesh.registerMethod('rooms.list', (params, { from }) => [...], { idempotent: true });
 * mesh.allowMethods(nodeId | '*', ['persona.ask']);   // per-peer allow-list (default: ping, node.info,
 *                                                      // rooms.list, personas.list, genomes.list)
 * await mesh.call(nodeId, 'rooms.list', {}, { timeoutMs: 2000 });  // RemoteCallError on failure
 * mesh.peers();                                        // peer table: state, addr, rtt, lastSeen, route
 *                                                      // (direct, via relays with hops, unreachable)
 * mesh.stats();                                        // counters (rejections/closes by reason), loss
 * await mesh.stop();
 * ```
 *
 * Guarantees: reliable-lane events reach each subscribed, connected peer at least once, in order
 * per sender, de-duplicated by (origin, seq); after a partition the rooms layer fills gaps from
 * summaries. Fast-lane events may be lost (loss is counted). Remote commands run at most once.
 * Any malformed, unauthenticated or oversized input closes only the session it came on, with a
 * logged reason and a counter (`stats().counters['session.closed.<reason>']`).
 *
 * The CLI maps onto this: `--listen` → listen, `--multicast GROUP:PORT` → discovery.group/port,
 * `--interface` → discovery.interface, `--broadcast` → discovery.broadcast, `--peer` → staticPeers;
 * `--jsonl` events `peer.up` / `peer.down` / `message` are this class's events.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type Random } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { deriveKey, type MeshKey } from '../kernel/meshKey';
import { cryptoRandom } from '../kernel/random';
import {
  defaultBeaconIntervalMs,
  defaultDiscoveryGroup,
  defaultDiscoveryPort,
  nodeIdPattern,
  type Envelope,
  type Lane,
  type Priority,
  type SessionMessage,
} from '../../../protocol/mesh';
import type { BackoffOptions } from './backoff';
import { encodeSessionMessage, isRecord, isStringArray } from './codec';
import { BoundedMap } from './boundedMap';
import { Counters } from './counters';
import { DatagramSocket } from './datagramSocket';
import { Discovery } from './discovery';
import { FastLane } from './fastLane';
import { routedPeers, type RoutedPeer } from './heard';
import type { InboundLimit } from './inboundLimits';
import { createLocalHandshakeIdentity, type LocalHandshakeIdentity } from './handshake';
import { chooseLane } from './lanes';
import { PeerTable } from './peerTable';
import type { RateLimitOptions } from './rateLimit';
import { RemoteCommands, type CallOptions, type MethodHandler } from './remoteCommands';
import { Overlay, type OverlayStats } from './overlay/overlay';
import { Router } from './router';
import { SessionManager } from './sessionManager';
import type { RekeyPolicy } from './transportCipher';

export interface DiscoverySettings {
  /** Multicast group, default 239.255.77.77. */
  group?: string;
  /** UDP port, default 47777. */
  port?: number;
  /** Address of the interface to join the group on (required: never let the kernel pick). */
  interface: string;
  /** Beacon interval after the fast start and after a change, default 2000 ms. */
  intervalMs?: number;
  /** The interval doubles up to this while the mesh is stable, default 30 s. */
  maxIntervalMs?: number;
  /** Opt-in UDP broadcast fallback: true (255.255.255.255) or a broadcast address. */
  broadcast?: boolean | string;
}

export interface MeshTuning {
  heartbeatMs?: number;
  deadAfterMs?: number;
  maxFrameBytes?: number;
  handshakeTimeoutMs?: number;
  handshakeRateLimit?: RateLimitOptions;
  backoff?: BackoffOptions;
  rekey?: RekeyPolicy;
  hopLimit?: number;
  peerExpiryMs?: number;
  maxSessions?: number;
  /** Delay before a node dials a newly found peer with a smaller id (which dials first). */
  yieldDialMs?: number;
  /** What each origin may send per topic family before its envelopes are dropped (inboundLimits.ts). */
  inboundLimits?: readonly InboundLimit[];
  /** How long an instance has to answer before a session from another instance of its node id counts as its restart. */
  duplicateProbeMs?: number;
  /**
   * The bounded-degree overlay (overlay/): sessions kept at least (`activeTarget`, default 6) and
   * accepted at most (`activeMax`, default 12; a hub node takes hundreds). `false`: a session with
   * every peer found, events one hop (the mesh as it was before the overlay; benchmarks compare).
   * `cluster`: an explicit cluster label (net/overlay/clusters.ts), else the advertised address's /24.
   */
  overlay?: { activeTarget?: number; activeMax?: number; cluster?: string } | false;
}

export interface MeshNetworkOptions {
  identity: Identity;
  meshKey: MeshKey;
  name: string;
  listen?: { host: string; port: number };
  discovery?: DiscoverySettings | false;
  staticPeers?: readonly string[];
  trustedNodes?: readonly string[];
  /**
   * Wall-clock ms when this node started (default: now). Of two live instances of one node id (a
   * copied data folder), the one that started later is refused.
   */
  started?: number;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  tuning?: MeshTuning;
}

/** A delivered event. */
export interface MeshMessage {
  topic: string;
  body: unknown;
  /** Node id of the origin. */
  from: string;
  id: string;
  seq: number;
  /** Origin's wall clock (ms) when published. */
  ts: number;
  lane: Lane;
}

export interface PublishOptions {
  lane?: Lane;
  priority?: Priority;
  /** Also deliver to this node's own subscribers. Default false. */
  echo?: boolean;
}

export interface MeshNetworkEvents {
  'peer.up': [{ nodeId: string; name: string; addr: string }];
  'peer.down': [{ nodeId: string; reason: string }];
  /**
   * A peer's clock went more than 30 s off ours (`skewed`), or came back within 20 s of it (or the
   * peer left). `offsetMs`: its clock minus ours.
   */
  'peer.clock': [{ nodeId: string; name: string; offsetMs: number; skewed: boolean }];
  message: [MeshMessage];
  /**
   * Another instance of this node id (a copy of its data folder) started earlier and still runs at
   * `running`: this one was refused and its network stops. `reportedBy` is the peer that refused
   * it, or this node's own id when the other instance said so itself.
   */
  'identity.duplicate': [{ running: string; reportedBy: string }];
}

export interface MeshStats {
  nodeId: string;
  listen: string;
  sessions: number;
  peersUp: number;
  multicast: boolean;
  fastLane: { received: number; lost: number; senders: number };
  counters: Record<string, number>;
  /** Active and passive view sizes and protocol counters; undefined without an overlay or before start. */
  overlay?: OverlayStats;
}

function toMessage(envelope: Envelope): MeshMessage {
  return {
    topic: envelope.topic,
    body: envelope.body,
    from: envelope.origin,
    id: envelope.id,
    seq: envelope.seq,
    ts: envelope.ts,
    lane: envelope.fast ? 'fast' : 'reliable',
  };
}

const maxPxPeers = 32;
const clockSkewWarnMs = 30_000;
const clockSkewClearMs = 20_000;
const maxPxNeighbors = 256;
/** Beacons again from a peer not heard for this long: the path to it is back (a healed partition). */
const reappearAfterMs = 5000;
/** Session losses that may be a partition or a crash (not a goodbye, not the overlay's own choice). */
const unexpectedLoss = new Set(['heartbeat-timeout', 'socket-error', 'remote-closed', 'handshake-timeout']);

export class MeshNetwork extends EventEmitter<MeshNetworkEvents> implements Component {
  readonly name = 'mesh.network';
  readonly nodeId: string;
  readonly instance: string;
  readonly started: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly counters = new Counters();
  private readonly peerTable: PeerTable;
  private readonly local: LocalHandshakeIdentity;
  private readonly sessions: SessionManager;
  private readonly router: Router;
  private readonly rpc: RemoteCommands;
  private readonly datagrams: DatagramSocket | undefined;
  private readonly discovery: Discovery | undefined;
  private readonly fastLane: FastLane | undefined;
  private readonly overlay: Overlay | undefined;
  private pxTimer: ReturnType<Clock['setTimeout']> | undefined;
  /** Peers whose clock is off ours by more than `clockSkewWarnMs` (until back within `clockSkewClearMs`). */
  private readonly skewedPeers = new Set<string>();
  /** When each peer's last beacon came (monotonic ms). */
  private readonly lastBeacon = new BoundedMap<string, number>(4096);
  private lastPx = -Infinity;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: MeshNetworkOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    this.logger = (options.logger ?? silentLogger).child('net');
    this.nodeId = options.identity.nodeId;
    this.instance = random.bytes(8).toString('hex');
    this.started = options.started ?? this.clock.now();
    this.peerTable = new PeerTable(this.clock);
    this.local = createLocalHandshakeIdentity(options.identity, this.instance, this.started);
    const tuning = options.tuning ?? {};
    this.sessions = new SessionManager({
      local: this.local,
      prologue: deriveKey(options.meshKey, 'noise-prologue'),
      listen: options.listen ?? { host: '0.0.0.0', port: 0 },
      clock: this.clock,
      random,
      logger: this.logger.child('session'),
      counters: this.counters,
      peers: this.peerTable,
      hello: () => this.hello(),
      trustedNodes: options.trustedNodes ? new Set(options.trustedNodes) : undefined,
      ...tuning,
      dialDiscovered: tuning.overlay === false,
    });
    this.router = new Router({
      nodeId: this.nodeId,
      clock: this.clock,
      counters: this.counters,
      logger: this.logger.child('router'),
      // Through the overlay an event may need several hops: under churn p99 7 over 1,000 simulated
      // nodes, up to 12 just after a heal; with 8 clusters of 125, p99 16 and up to 23 (paths go
      // through bridges). Plumtree delivers each event once, so the limit only ends a runaway.
      hopLimit: tuning.hopLimit ?? (tuning.overlay === false ? undefined : 32),
      inboundLimits: tuning.inboundLimits,
      links: {
        upPeers: () => this.sessions.upPeerSet(),
        isUp: (nodeId) => this.sessions.isUp(nodeId),
        sendEncoded: (nodeId, bytes, priority) => this.sessions.sendEncoded(nodeId, bytes, priority),
      },
    });
    if (tuning.overlay !== false) {
      this.overlay = new Overlay({
        nodeId: this.nodeId,
        clock: this.clock,
        random,
        logger: this.logger.child('overlay'),
        counters: this.counters,
        sessions: this.sessions,
        router: this.router,
        activeTarget: tuning.overlay?.activeTarget,
        activeMax: tuning.overlay?.activeMax,
        cluster: tuning.overlay?.cluster,
      });
      this.router.useTree(this.overlay);
    }
    this.rpc = new RemoteCommands({
      nodeId: this.nodeId,
      instance: this.instance,
      clock: this.clock,
      logger: this.logger.child('rpc'),
      counters: this.counters,
      send: (to, topic, body) => this.router.sendAddressed(this.router.createEnvelope('rpc', topic, body, to)),
    });
    this.rpc.registerMethod('ping', () => ({ pong: true, ts: this.clock.now() }), { idempotent: true });
    this.rpc.registerMethod('node.info', () => ({ nodeId: this.nodeId, name: options.name, listen: this.listenAddress, peers: this.sessions.upPeerIds().length }), { idempotent: true });

    if (options.discovery) {
      const settings = options.discovery;
      const broadcast = settings.broadcast === true ? '255.255.255.255' : settings.broadcast || undefined;
      this.datagrams = new DatagramSocket(
        { group: settings.group ?? defaultDiscoveryGroup, port: settings.port ?? defaultDiscoveryPort, interface: settings.interface, broadcast },
        this.logger.child('udp'),
        this.counters,
      );
      this.discovery = new Discovery(this.datagrams, {
        nodeId: this.nodeId,
        instance: this.instance,
        name: options.name,
        cluster: tuning.overlay === false ? undefined : tuning.overlay?.cluster,
        hmacKey: deriveKey(options.meshKey, 'beacon-hmac'),
        tcpAddress: () => this.advertisedAddress(settings.interface),
        intervalMs: settings.intervalMs ?? defaultBeaconIntervalMs,
        maxIntervalMs: settings.maxIntervalMs,
        clock: this.clock,
        random,
        logger: this.logger.child('discovery'),
        counters: this.counters,
      });
      this.fastLane = new FastLane(this.datagrams, {
        nodeId: this.nodeId,
        instance: this.instance,
        groupKey: deriveKey(options.meshKey, 'fast-lane'),
        counters: this.counters,
        logger: this.logger.child('fast'),
      });
      this.discovery.on('beacon', ({ beacon, addr }) => {
        if (beacon.nodeId === this.nodeId) {
          if (!beacon.bye) this.sessions.checkClone(addr, beacon.instance);
          return;
        }
        const known = this.peerTable.get(beacon.nodeId);
        // Another instance of a peer we hold a session with: if it is a restart, it dials us and the
        // session manager finds the old one gone; if it is a copy of its data folder, its beacons
        // (name, address, goodbye) must not change the peer we know.
        if (known?.state === 'up' && known.instance !== beacon.instance) return;
        const silence = this.beaconSilence(beacon.nodeId, beacon.iv);
        this.peerTable.upsert(beacon.nodeId, { name: beacon.name, multicast: true });
        this.peerTable.touch(beacon.nodeId);
        if (beacon.bye) {
          this.sessions.markGone(beacon.nodeId);
          this.router.heard.forget(beacon.nodeId);
          this.overlay?.forget(beacon.nodeId);
          return;
        }
        const instanceChanged = known?.instance !== undefined && known.instance !== beacon.instance;
        this.sessions.learn(addr, 'multicast', beacon.nodeId, { immediate: !known || instanceChanged, instanceChanged });
        // Heard again after a silence much longer than its beacons' own pace (which grows to 30 s
        // while nothing changes): the path to it is back, so its old failures no longer count.
        this.overlay?.candidate(beacon.cl === undefined ? { id: beacon.nodeId, addr } : { id: beacon.nodeId, addr, cluster: beacon.cl }, {
          fresh: instanceChanged || (known?.state !== 'up' && silence.reappeared),
          beacon: true,
        });
      });
      this.fastLane.on('envelope', (envelope) => {
        this.peerTable.touch(envelope.origin);
        if (!this.router.localSubscribed(envelope.topic)) return;
        this.router.receive(envelope.origin, { ...envelope, fast: true }, true);
      });
    }

    this.router.on('deliver', (envelope) => {
      if (this.listenerCount('message') > 0) this.emit('message', toMessage(envelope));
    });
    this.router.on('addressed', (envelope, from) => this.rpc.receive(envelope, from));
    this.router.on('subs-changed', (add, remove) => {
      for (const peer of this.sessions.upPeerIds()) this.sessions.send(peer, { t: 'subs', add, remove }, 'control');
    });
    this.sessions.on('hello', (nodeId, hello) => this.router.setPeerSubs(nodeId, hello.subs));
    this.sessions.on('up', (peer) => {
      this.overlay?.sessionUp(peer.nodeId, peer.outbound, peer.staticAddress);
      this.emit('peer.up', { nodeId: peer.nodeId, name: peer.name, addr: peer.addr });
      this.schedulePx();
    });
    this.sessions.on('clock', (nodeId) => this.checkClock(nodeId));
    this.sessions.on('down', (nodeId, reason) => {
      // A lost session may be a partition or a crash: beacon often again until things settle.
      if (unexpectedLoss.has(reason)) this.discovery?.reset();
      this.overlay?.sessionDown(nodeId);
      this.router.removePeer(nodeId);
      if (reason === 'peer stop') this.router.heard.forget(nodeId);
      if (this.skewedPeers.delete(nodeId)) this.emit('peer.clock', { nodeId, name: this.peerTable.get(nodeId)?.name ?? '', offsetMs: this.peerTable.get(nodeId)?.clockOffsetMs ?? 0, skewed: false });
      this.emit('peer.down', { nodeId, reason });
      this.schedulePx();
    });
    this.sessions.on('duplicate-identity', (report) => {
      this.emit('identity.duplicate', report);
      void this.stop();
    });
    this.sessions.on('dial-failed', (nodeId) => this.overlay?.dialFailed(nodeId));
    this.sessions.on('message', (from, message, session) => {
      const problem = this.onSessionMessage(from, message);
      if (problem) session.close('malformed-message', problem, false);
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('a MeshNetwork starts once');
    this.state = 'running';
    await this.sessions.start();
    this.overlay?.start(this.options.discovery ? this.advertisedAddress(this.options.discovery.interface) : this.listenAddress);
    if (this.datagrams && this.discovery) {
      try {
        await this.datagrams.start();
        await this.discovery.start();
      } catch (error) {
        // Multicast is fragile on real networks: keep serving static peers and peer exchange.
        this.counters.add('discovery.unavailable');
        this.logger.warn(`multicast discovery unavailable (${error instanceof Error ? error.message : String(error)}); using static peers and peer exchange only`);
        await this.datagrams.stop();
      }
    }
    for (const addr of this.options.staticPeers ?? []) this.sessions.learn(addr, 'static', undefined, { immediate: true });
    this.logger.info(`mesh network up: node ${this.nodeId.slice(0, 7)} listening on ${this.listenAddress}`);
  }

  /** Stops once; a second call (the owner after a refusal stopped the network) waits for the same stop. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (!wasRunning) return;
    this.pxTimer?.cancel();
    this.pxTimer = undefined;
    this.overlay?.stop();
    await this.discovery?.stop();
    await this.sessions.stop();
    await this.datagrams?.stop();
    this.rpc.stop();
  }

  // ---------------------------------------------------------------- API

  /** `host:port` of the TCP listener (after start). */
  get listenAddress(): string {
    return this.sessions.listenAddress;
  }

  /**
   * Every peer known, with its route (direct, via relays, unreachable): the peer table (beacons,
   * peer exchange, sessions) and the nodes known only from envelopes relayed to us.
   */
  peers(): RoutedPeer[] {
    return routedPeers(this.peerTable.list(), this.router.heard, this.clock.monotonic(), this.clock.now());
  }

  /**
   * The overlay's cluster of this node (no argument) or of a peer heard by its beacons; undefined
   * without an overlay, with clusters off (no label and no concrete IPv4 address), or for a peer
   * never heard. For the Peers view (PeerSummary.cluster).
   */
  clusterOf(nodeId?: string): string | undefined {
    return nodeId === undefined || nodeId === this.nodeId ? this.overlay?.cluster() : this.overlay?.clusterOf(nodeId);
  }

  /** Whether this node (no argument) or a member of its cluster is a bridge; undefined for another cluster's node (PeerSummary.bridge). */
  isBridge(nodeId?: string): boolean | undefined {
    return this.overlay?.isBridge(nodeId === this.nodeId ? undefined : nodeId);
  }

  /** Node ids of the peers with an open session. */
  upPeers(): string[] {
    return this.sessions.upPeerIds();
  }

  /**
   * Publishes an event. Lane and priority follow the topic (see lanes.ts) unless given. Returns
   * the envelope (its `id`, `seq`).
   */
  publish(topic: string, body: unknown, options: PublishOptions = {}): Envelope {
    if (!topic.startsWith('/')) throw new RangeError(`a topic starts with '/': ${topic}`);
    const { lane, priority } = chooseLane(topic, options);
    const envelope = this.router.createEnvelope('event', topic, body);
    if (lane === 'fast') {
      envelope.fast = true;
      const multicastPeers = new Set(this.sessions.upPeerIds().filter((peer) => this.peerTable.get(peer)?.multicast));
      const sentByMulticast = multicastPeers.size > 0 && this.fastLane?.available === true && this.fastLane.send(envelope);
      // Peers the multicast does not reach (static, other subnets) get it over their session.
      this.router.publish(envelope, priority, { echo: options.echo, exclude: sentByMulticast ? (peer) => multicastPeers.has(peer) : undefined });
      if (!sentByMulticast) this.counters.add('fast.fallback');
      return envelope;
    }
    this.router.publish(envelope, priority, { echo: options.echo });
    return envelope;
  }

  /**
   * Sends an event to one node: directly, or through a neighbour of it. It reaches that node's
   * subscribers of `topic` even when it arrives after a later envelope of ours (no order check), so
   * request/answer protocols never lose a request to a route change. False when there is no route.
   */
  sendTo(nodeId: string, topic: string, body: unknown, options: { priority?: Priority } = {}): boolean {
    if (!topic.startsWith('/')) throw new RangeError(`a topic starts with '/': ${topic}`);
    const priority = options.priority ?? chooseLane(topic).priority;
    const envelope = this.router.createEnvelope('event', topic, body, nodeId);
    if (priority !== 'chat') envelope.prio = priority;
    return this.router.sendAddressed(envelope, priority);
  }

  /** Receives events whose topic starts with `prefix`; the prefix is announced to peers. */
  subscribe(prefix: string, handler: (message: MeshMessage) => void): () => void {
    return this.router.subscribe(prefix, (envelope) => handler(toMessage(envelope)));
  }

  /** Calls a remote command on `nodeId`. Rejects with RemoteCallError (code, message). */
  call(nodeId: string, method: string, params?: unknown, options?: CallOptions): Promise<unknown> {
    return this.rpc.call(nodeId, method, params, options);
  }

  registerMethod(name: string, handler: MethodHandler, flags: { idempotent?: boolean } = {}): void {
    this.rpc.registerMethod(name, handler, flags);
  }

  /** Adds methods to the allow-list of a peer, or of every peer with `'*'`. */
  allowMethods(nodeId: string, methods: readonly string[]): void {
    this.rpc.allow(nodeId, methods);
  }

  stats(): MeshStats {
    return {
      nodeId: this.nodeId,
      listen: this.listenAddress,
      sessions: this.sessions.sessionCount,
      peersUp: this.sessions.upPeerIds().length,
      multicast: this.datagrams?.running ?? false,
      fastLane: this.fastLane?.lossStats() ?? { received: 0, lost: 0, senders: 0 },
      counters: this.counters.snapshot(),
      overlay: this.overlayStats(),
    };
  }

  /** The overlay's view sizes, watermarks and counters; undefined without an overlay or before start. */
  overlayStats(): OverlayStats | undefined {
    return this.overlay?.stats();
  }

  // ---------------------------------------------------------------- internals

  private hello(): Extract<SessionMessage, { t: 'hello' }> {
    return { t: 'hello', name: this.options.name.slice(0, 64), listen: this.listenAddress, subs: this.router.localPrefixes(), multicast: this.datagrams?.running ?? false };
  }

  private advertisedAddress(iface: string): string {
    const listen = this.listenAddress;
    const port = listen.slice(listen.lastIndexOf(':') + 1);
    const host = listen.slice(0, listen.lastIndexOf(':'));
    return host === '0.0.0.0' || host === '[::]' ? `${iface}:${port}` : listen;
  }

  /** Returns a problem description when the message is malformed (the session is closed). */
  private onSessionMessage(from: string, message: SessionMessage): string | undefined {
    switch (message.t) {
      case 'env':
        if (!isRecord(message.e)) return 'bad envelope';
        return this.router.receive(from, message.e, message.e.fast === true) ? undefined : 'bad envelope';
      case 'subs':
        if (!isStringArray(message.add, 1024, 512) || !isStringArray(message.remove, 1024, 512)) return 'bad subs';
        this.router.updatePeerSubs(from, message.add, message.remove);
        return undefined;
      case 'ov':
        if (!this.overlay) return undefined;
        if (!isRecord(message.m)) return 'bad overlay message';
        return this.overlay.receive(from, message.m) ? undefined : 'bad overlay message';
      case 'px': {
        if (!Array.isArray(message.peers) || message.peers.length > 256 || !isStringArray(message.neighbors, 4096, 64)) return 'bad px';
        this.router.setPeerNeighbors(from, message.neighbors);
        for (const entry of message.peers) {
          if (!isRecord(entry) || typeof entry.nodeId !== 'string' || typeof entry.addr !== 'string' || entry.addr.length > 64) return 'bad px';
          if (entry.nodeId === this.nodeId || this.sessions.isUp(entry.nodeId) || !nodeIdPattern.test(entry.nodeId)) continue;
          if (!/^[0-9a-fA-F.:[\]]+:\d{1,5}$/.test(entry.addr)) continue;
          this.sessions.learn(entry.addr, 'exchange', entry.nodeId);
          this.overlay?.candidate({ id: entry.nodeId, addr: entry.addr });
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * Records a beacon of `nodeId`: whether it comes after a silence of at least 5 s and 2.5 times
   * the interval the sender beacons at now (`iv`; 2 s when it does not say).
   */
  private beaconSilence(nodeId: string, intervalMs = 2000): { reappeared: boolean } {
    const now = this.clock.monotonic();
    const last = this.lastBeacon.get(nodeId);
    this.lastBeacon.set(nodeId, now);
    if (last === undefined) return { reappeared: false };
    const silence = now - last;
    return { reappeared: silence >= Math.max(reappearAfterMs, 2.5 * intervalMs) };
  }

  private checkClock(nodeId: string): void {
    const peer = this.peerTable.get(nodeId);
    const offsetMs = peer?.clockOffsetMs;
    if (!peer || offsetMs === undefined) return;
    const off = Math.abs(offsetMs);
    const seconds = Math.round(off / 1000);
    if (off > clockSkewWarnMs && !this.skewedPeers.has(nodeId)) {
      this.skewedPeers.add(nodeId);
      this.logger.warn(
        `the clock of ${peer.name || nodeId.slice(0, 7)} is ${seconds} s ${offsetMs > 0 ? 'ahead of' : 'behind'} this machine's: message times will look wrong and ` +
          `multicast discovery between the two fails (beacons more than 30 s off are refused); set both machines to network time`,
      );
      this.emit('peer.clock', { nodeId, name: peer.name, offsetMs, skewed: true });
    } else if (off < clockSkewClearMs && this.skewedPeers.delete(nodeId)) {
      this.logger.info(`the clock of ${peer.name || nodeId.slice(0, 7)} agrees with this machine's again (${seconds} s off)`);
      this.emit('peer.clock', { nodeId, name: peer.name, offsetMs, skewed: false });
    }
  }

  /** Peer exchange after the set of up peers changed; rate limited by the peer count. */
  private schedulePx(): void {
    if (this.state !== 'running' || this.pxTimer) return;
    const up = this.sessions.upPeerIds().length;
    const gap = 200 + 10 * up;
    const wait = Math.max(50, this.lastPx + gap - this.clock.monotonic());
    this.pxTimer = this.clock.setTimeout(() => {
      this.pxTimer = undefined;
      this.lastPx = this.clock.monotonic();
      this.sendPx();
    }, wait);
  }

  private sendPx(): void {
    const up = this.sessions.upPeerIds();
    const peers = [];
    for (const nodeId of up) {
      const addr = this.peerTable.get(nodeId)?.addr;
      if (addr) peers.push({ nodeId, addr });
      if (peers.length >= maxPxPeers) break;
    }
    const message: SessionMessage = { t: 'px', peers, neighbors: up.slice(0, maxPxNeighbors) };
    const bytes = encodeSessionMessage(message);
    for (const peer of up) this.sessions.sendEncoded(peer, bytes, 'control');
    this.counters.add('px.sent');
  }
}
