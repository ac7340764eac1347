/**
 * Multicast discovery: authenticated beacons (see beacon.ts) on the shared datagram socket.
 * Fast start (three beacons in the first second), then one every `intervalMs`; an extra beacon
 * (at most one per `answerGapMs`) when a new instance appears, so it learns about us at once;
 * a goodbye beacon on stop. Emits every accepted beacon; counts every rejection by reason.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RemoteInfo } from 'node:dgram';
import type { Clock, TimerHandle } from '../node/clock';
import type { Component } from '../node/lifecycle';
import type { Logger } from '../node/log';
import { DatagramKind, meshProtocolVersion, type Beacon } from '../protocol/mesh';
import { BeaconVerifier, encodeBeacon } from './beacon';
import type { Counters } from './counters';
import type { DatagramSocket } from './datagramSocket';

export interface DiscoveryOptions {
  nodeId: string;
  instance: string;
  name: string;
  hmacKey: Buffer;
  /** Returns the `host:port` to advertise (known only once the listener is bound). */
  tcpAddress: () => string;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  /** Minimum gap between two answers to newly seen instances. */
  answerGapMs?: number;
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
  private interval: TimerHandle | undefined;
  private lastAnswer = -Infinity;
  private running = false;
  private readonly seenInstances = new Set<string>();

  constructor(private readonly socket: DatagramSocket, private readonly options: DiscoveryOptions) {
    super();
    this.verifier = new BeaconVerifier(options.hmacKey, { nodeId: options.nodeId, instance: options.instance }, () => options.clock.now());
    socket.onDatagram((datagram, from) => {
      if (datagram[0] === DatagramKind.beacon) this.receive(datagram, from);
    });
  }

  async start(): Promise<void> {
    this.running = true;
    // The counter starts from a random point so it never repeats a stale one even without state.
    this.counter = randomBytes(2).readUInt16BE(0);
    for (const delay of fastStartDelays) {
      this.timers.push(this.options.clock.setTimeout(() => this.announce(), delay));
    }
    this.interval = this.options.clock.setInterval(() => this.announce(), this.options.intervalMs);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const timer of this.timers) timer.cancel();
    this.timers = [];
    this.interval?.cancel();
    this.interval = undefined;
    await this.socket.sendAndWait(this.beacon(true));
    this.options.logger.debug('sent goodbye beacon');
  }

  /** Sends one beacon now. */
  announce(): void {
    if (!this.running) return;
    this.socket.send(this.beacon(false));
    this.options.counters.add('discovery.beacon.sent');
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
    };
    if (bye) beacon.bye = true;
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
    const beacon = verdict.beacon;
    const [host, port] = splitHostPort(beacon.tcp);
    const addr = host === '0.0.0.0' || host === '::' ? `${from.address}:${port}` : beacon.tcp;
    const key = `${beacon.nodeId}/${beacon.instance}`;
    if (!beacon.bye && !this.seenInstances.has(key)) {
      if (this.seenInstances.size > 4096) this.seenInstances.clear();
      this.seenInstances.add(key);
      this.answer();
    }
    this.emit('beacon', { beacon, addr, from });
  }

  private answer(): void {
    const now = this.options.clock.monotonic();
    const gap = this.options.answerGapMs ?? 250;
    if (now - this.lastAnswer < gap) return;
    this.lastAnswer = now;
    this.announce();
  }
}

export function splitHostPort(addr: string): [string, number] {
  const index = addr.lastIndexOf(':');
  const host = addr.slice(0, index).replace(/^\[|\]$/g, '');
  return [host, Number(addr.slice(index + 1))];
}
