/**
 * What this node knows about every other node: state, address, name, RTT (EWMA and p99 of the
 * last samples), last seen. Bounded: at most `maxPeers` entries; the least recently seen peer that
 * is not up is dropped first.
 */
import type { Clock } from '../kernel/clock';

export type PeerState = 'discovered' | 'connecting' | 'up' | 'down';
export type AddressSource = 'multicast' | 'broadcast' | 'static' | 'exchange' | 'inbound';

export interface PeerInfo {
  nodeId: string;
  name: string;
  state: PeerState;
  /** `host:port` of its TCP listener, when known. */
  addr?: string;
  source?: AddressSource;
  instance?: string;
  /** Wall-clock ms of the last beacon, frame or datagram from it. */
  lastSeen: number;
  /** Wall-clock ms of the last state change. */
  since: number;
  rttMs?: { ewma: number; p99: number; samples: number };
  /** Its wall clock minus ours (ms): the median of the last few estimates. */
  clockOffsetMs?: number;
  /** Whether its beacons reach us by multicast (then the fast lane reaches it too). */
  multicast: boolean;
  /** Why it went down, if it did. */
  downReason?: string;
}

const rttSampleCapacity = 128;
const offsetSampleCapacity = 9;

interface Entry {
  info: PeerInfo;
  rttSamples: number[];
  rttNext: number;
  offsetSamples: number[];
}

export class PeerTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock, private readonly maxPeers = 4096) {}

  get size(): number {
    return this.entries.size;
  }

  get(nodeId: string): PeerInfo | undefined {
    return this.entries.get(nodeId)?.info;
  }

  list(): PeerInfo[] {
    return [...this.entries.values()].map((entry) => ({ ...entry.info, rttMs: entry.info.rttMs && { ...entry.info.rttMs } }));
  }

  /** Creates or updates an entry; returns it. */
  upsert(nodeId: string, update: Partial<Omit<PeerInfo, 'nodeId' | 'rttMs'>>): PeerInfo {
    let entry = this.entries.get(nodeId);
    const now = this.clock.now();
    if (!entry) {
      this.makeRoom();
      entry = { info: { nodeId, name: '', state: 'discovered', lastSeen: now, since: now, multicast: false }, rttSamples: [], rttNext: 0, offsetSamples: [] };
      this.entries.set(nodeId, entry);
    }
    const info = entry.info;
    if (update.state !== undefined && update.state !== info.state) info.since = now;
    for (const [key, value] of Object.entries(update)) {
      if (value !== undefined) (info as unknown as Record<string, unknown>)[key] = value;
    }
    if (update.state !== undefined && update.state !== 'down') delete info.downReason;
    return info;
  }

  touch(nodeId: string): void {
    const entry = this.entries.get(nodeId);
    if (entry) entry.info.lastSeen = this.clock.now();
  }

  recordRtt(nodeId: string, ms: number): void {
    const entry = this.entries.get(nodeId);
    if (!entry || !Number.isFinite(ms) || ms < 0) return;
    if (entry.rttSamples.length < rttSampleCapacity) entry.rttSamples.push(ms);
    else entry.rttSamples[entry.rttNext] = ms;
    entry.rttNext = (entry.rttNext + 1) % rttSampleCapacity;
    const previous = entry.info.rttMs;
    const ewma = previous ? previous.ewma * 0.875 + ms * 0.125 : ms;
    const sorted = [...entry.rttSamples].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
    entry.info.rttMs = { ewma, p99, samples: (previous?.samples ?? 0) + 1 };
  }

  recordClockOffset(nodeId: string, ms: number): void {
    const entry = this.entries.get(nodeId);
    if (!entry || !Number.isFinite(ms)) return;
    entry.offsetSamples.push(ms);
    if (entry.offsetSamples.length > offsetSampleCapacity) entry.offsetSamples.shift();
    const sorted = [...entry.offsetSamples].sort((a, b) => a - b);
    entry.info.clockOffsetMs = Math.round(sorted[Math.floor(sorted.length / 2)]!);
  }

  delete(nodeId: string): void {
    this.entries.delete(nodeId);
  }

  private makeRoom(): void {
    if (this.entries.size < this.maxPeers) return;
    let victim: Entry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.info.state === 'up') continue;
      if (!victim || entry.info.lastSeen < victim.info.lastSeen) victim = entry;
    }
    if (victim) this.entries.delete(victim.info.nodeId);
  }
}
