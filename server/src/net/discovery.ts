/**
 * Multicast discovery: authenticated beacons (see beacon.ts) on the shared datagram socket.
 * Fast start (three beacons in the first second), then beacons on a Trickle timer (Levis et al.,
 * "The Trickle Algorithm", RFC 6206): the interval starts at `intervalMs` and doubles up to
 * `maxIntervalMs` while nothing changes, and goes back to `intervalMs` on `reset()` (the owner calls
 * it when a session is lost or none is open). The ceiling grows with the number of nodes heard, as
 * RTCP scales its report interval with the membership (RFC 3550 §6.2), so that the whole subnet
 * sends about `meshBeaconsPerSecond` beacons a second: a stable mesh of a hundred nodes costs each
 * node one beacon a second to read, not fifty (full intervals) or three (a fixed 30 s ceiling). A new instance is answered with an extra beacon
 * after a random delay of up to `answerWindowMs`, unless `answerRedundancy` other beacons were
 * heard meanwhile (Trickle's suppression): it needs a few candidates, not an answer from every
 * node. A goodbye beacon on stop. Emits every accepted beacon; counts every rejection by reason.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import type { Clock, Random, TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { DatagramKind, meshProtocolVersion, type Beacon } from '../../../protocol/mesh';
import { BeaconVerifier, encodeBeacon } from './beacon';
import type { Counters } from './counters';
import type { DatagramSocket } from './datagramSocket';

export interface DiscoveryOptions {
  nodeId: string;
  instance: string;
  name: string;
  /** An explicit cluster label, carried in every beacon (net/overlay/clusters.ts). */
  cluster?: string;
  hmacKey: Buffer;
  /** Returns the `host:port` to advertise (known only once the listener is bound). */
  tcpAddress: () => string;
  /** The shortest beacon interval (after the fast start and after every reset). */
  intervalMs: number;
  /** The longest, reached by doubling while the mesh is stable (default 30 s); see `meshBeaconsPerSecond`. */
  maxIntervalMs?: number;
  /**
   * Beacons a second from all the nodes heard together once stable (default 1): the ceiling becomes
   * max(`maxIntervalMs`, nodes heard / this).
   */
  meshBeaconsPerSecond?: number;
  clock: Clock;
  random: Random;
  logger: Logger;
  counters: Counters;
  /** An answer to a newly seen instance waits a random time up to this (default 400 ms). */
  answerWindowMs?: number;
  /** ... and is not sent when this many other beacons were heard meanwhile (default 3). */
  answerRedundancy?: number;
}

export interface DiscoveredBeacon {
  beacon: Beacon;
  /** The TCP address to dial, with an unspecified host replaced by the datagram's source. */
  addr: string;
  from: RemoteInfo;
}

export interface DiscoveryEvents {
  beacon: [DiscoveredBeacon];
}

const fastStartDelays = [0, 300, 700];

export class Discovery extends EventEmitter<DiscoveryEvents> implements Component {
  readonly name = 'mesh.discovery';
  private readonly verifier: BeaconVerifier;
  private counter = 0;
  private timers: TimerHandle[] = [];
  private next: TimerHandle | undefined;
  private nextAt = Infinity;
  private currentIntervalMs: number;
  private answerTimer: TimerHandle | undefined;
  /** Beacons heard since the pending answer was planned. */
  private heardSinceAnswerPlanned = 0;
  private running = false;
  private readonly seenInstances = new Set<string>();
  /** Node id → when its last beacon came (monotonic) and the interval it said it beacons at. */
  private readonly heard = new Map<string, { at: number; iv: number }>();

  constructor(private readonly socket: Pick<DatagramSocket, 'onDatagram' | 'send' | 'sendAndWait'>, private readonly options: DiscoveryOptions) {
    super();
    this.currentIntervalMs = options.intervalMs;
    this.verifier = new BeaconVerifier(options.hmacKey, { nodeId: options.nodeId, instance: options.instance }, () => options.clock.now());
    socket.onDatagram((datagram, from) => {
      if (datagram[0] === DatagramKind.beacon) this.receive(datagram, from);
    });
  }

  /** The interval the Trickle timer is at now. */
  get intervalMs(): number {
    return this.currentIntervalMs;
  }

  async start(): Promise<void> {
    this.running = true;
    // The counter starts from a random point so it never repeats a stale one even without state.
    this.counter = randomBytes(2).readUInt16BE(0);
    for (const delay of fastStartDelays) {
      this.timers.push(this.options.clock.setTimeout(() => this.announce(), delay));
    }
    this.schedule(this.options.intervalMs);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) timer.cancel();
    this.timers = [];
    this.next?.cancel();
    this.next = undefined;
    this.answerTimer?.cancel();
    this.answerTimer = undefined;
    this.heard.clear();
    await this.socket.sendAndWait(this.beacon(true));
    this.options.logger.debug('sent goodbye beacon');
  }

  /** Something changed (a session lost, none open): beacon at the shortest interval again. */
  reset(): void {
    if (!this.running || this.currentIntervalMs === this.options.intervalMs) return;
    this.currentIntervalMs = this.options.intervalMs;
    const at = this.options.clock.monotonic() + this.jittered(this.currentIntervalMs);
    if (at < this.nextAt) this.plan(at);
  }

  /** Sends one beacon now. */
  announce(): void {
    if (!this.running) return;
    this.socket.send(this.beacon(false));
    this.options.counters.add('discovery.beacon.sent');
  }

  /** Trickle: the beacon falls at a random point of the second half of the interval. */
  private jittered(intervalMs: number): number {
    return intervalMs / 2 + this.options.random.next() * (intervalMs / 2);
  }

  private schedule(intervalMs: number): void {
    this.plan(this.options.clock.monotonic() + this.jittered(intervalMs));
  }

  private plan(at: number): void {
    this.next?.cancel();
    this.nextAt = at;
    this.next = this.options.clock.setTimeout(() => {
      this.next = undefined;
      this.nextAt = Infinity;
      this.announce();
      this.currentIntervalMs = Math.min(this.currentIntervalMs * 2, this.ceilingMs());
      this.schedule(this.currentIntervalMs);
    }, Math.max(0, at - this.options.clock.monotonic()));
  }

  /** The longest interval for the number of nodes heard now (counted once an interval: O(nodes)). */
  private ceilingMs(): number {
    const now = this.options.clock.monotonic();
    // A node is still heard until it misses about two of its own beacons.
    for (const [nodeId, entry] of this.heard) if (now - entry.at > 2.5 * entry.iv + 5_000) this.heard.delete(nodeId);
    const perSecond = this.options.meshBeaconsPerSecond ?? 1;
    const scaled = Math.round(((this.heard.size + 1) / perSecond) * 1000);
    return Math.max(this.options.maxIntervalMs ?? 30_000, this.options.intervalMs, scaled);
  }

  private beacon(bye: boolean): Buffer {
    const beacon: Beacon = {
      v: meshProtocolVersion,
      nodeId: this.options.nodeId,
      instance: this.options.instance,
      counter: ++this.counter,
      ts: this.options.clock.now(),
      tcp: this.options.tcpAddress(),
      name: this.options.name.slice(0, 64),
      iv: Math.round(this.currentIntervalMs),
    };
    if (bye) beacon.bye = true;
    if (this.options.cluster !== undefined) beacon.cl = this.options.cluster;
    return encodeBeacon(beacon, this.options.hmacKey);
  }

  /** Handles one datagram that starts with the beacon kind byte. Never throws. */
  receive(datagram: Buffer, from: RemoteInfo): void {
    const verdict = this.verifier.verify(datagram);
    if (!verdict.ok) {
      if (verdict.reason !== 'self') {
        this.options.counters.add(`discovery.rejected.${verdict.reason}`);
        this.options.logger.trace(`beacon from ${from.address}:${from.port} rejected: ${verdict.reason}`);
      }
      return;
    }
    this.options.counters.add('discovery.beacon.accepted');
    this.heardSinceAnswerPlanned++;
    const beacon = verdict.beacon;
    const [host, port] = splitHostPort(beacon.tcp);
    const addr = host === '0.0.0.0' || host === '::' ? `${from.address}:${port}` : beacon.tcp;
    if (beacon.bye) this.heard.delete(beacon.nodeId);
    else if (this.heard.has(beacon.nodeId) || this.heard.size < 4096) this.heard.set(beacon.nodeId, { at: this.options.clock.monotonic(), iv: beacon.iv ?? this.options.intervalMs });
    const key = `${beacon.nodeId}/${beacon.instance}`;
    if (!beacon.bye && !this.seenInstances.has(key)) {
      if (this.seenInstances.size > 4096) this.seenInstances.clear();
      this.seenInstances.add(key);
      this.planAnswer();
    }
    this.emit('beacon', { beacon, addr, from });
  }

  /** A new instance learns about us from an answer, unless enough others answered it first. */
  private planAnswer(): void {
    if (!this.running || this.answerTimer) return;
    this.heardSinceAnswerPlanned = 0;
    const delay = this.options.random.next() * (this.options.answerWindowMs ?? 400);
    this.answerTimer = this.options.clock.setTimeout(() => {
      this.answerTimer = undefined;
      if (this.heardSinceAnswerPlanned >= (this.options.answerRedundancy ?? 3)) {
        this.options.counters.add('discovery.answer.suppressed');
        return;
      }
      this.announce();
    }, delay);
  }
}

export function splitHostPort(addr: string): [string, number] {
  const index = addr.lastIndexOf(':');
  const host = addr.slice(0, index).replace(/^\[|\]$/g, '');
  return [host, Number(addr.slice(index + 1))];
}
