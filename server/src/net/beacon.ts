/**
 * Beacon encoding and checking. Datagram: `0x42 | MessagePack Beacon | HMAC-SHA256(kind|body)`.
 * The verifier never throws: every rejection has a reason, counted by the caller. Memory of the
 * last counter per (node, instance) is bounded.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DatagramKind, maxDatagramBytes, meshProtocolVersion, nodeIdPattern, type Beacon } from '../../../protocol/mesh';
import { BoundedMap } from './boundedMap';
import { maxClusterLabelLength } from './overlay/clusters';
import { decode, encode, isRecord } from './codec';

export const beaconMacBytes = 32;
export const maxBeaconSkewMs = 30_000;

export type BeaconRejection = 'malformed' | 'too-large' | 'bad-hmac' | 'replay' | 'clock-skew' | 'self';
export type BeaconVerdict = { ok: true; beacon: Beacon } | { ok: false; reason: BeaconRejection };

const addrPattern = /^[0-9a-fA-F.:[\]]{2,46}:\d{1,5}$/;

export function encodeBeacon(beacon: Beacon, hmacKey: Buffer): Buffer {
  const body = encode(beacon);
  const head = Buffer.concat([Buffer.of(DatagramKind.beacon), body]);
  const mac = createHmac('sha256', hmacKey).update(head).digest();
  return Buffer.concat([head, mac]);
}

/** Parses and authenticates, without replay or clock checks. Never throws. */
export function parseBeacon(datagram: Uint8Array, hmacKey: Buffer): { ok: true; beacon: Beacon } | { ok: false; reason: 'malformed' | 'too-large' | 'bad-hmac' } {
  if (datagram.length > maxDatagramBytes) return { ok: false, reason: 'too-large' };
  if (datagram.length < 2 + beaconMacBytes || datagram[0] !== DatagramKind.beacon) return { ok: false, reason: 'malformed' };
  const head = datagram.subarray(0, datagram.length - beaconMacBytes);
  const mac = datagram.subarray(datagram.length - beaconMacBytes);
  const expected = createHmac('sha256', hmacKey).update(head).digest();
  if (!timingSafeEqual(expected, mac)) return { ok: false, reason: 'bad-hmac' };
  const decoded = decode(head.subarray(1));
  if (!decoded.ok || !isBeacon(decoded.value)) return { ok: false, reason: 'malformed' };
  return { ok: true, beacon: decoded.value };
}

export function isBeacon(value: unknown): value is Beacon {
  if (!isRecord(value)) return false;
  const { v, nodeId, instance, counter, ts, tcp, name, bye, iv, cl } = value;
  return (
    v === meshProtocolVersion &&
    typeof nodeId === 'string' && nodeIdPattern.test(nodeId) &&
    typeof instance === 'string' && instance.length > 0 && instance.length <= 32 &&
    typeof counter === 'number' && Number.isSafeInteger(counter) && counter >= 0 &&
    typeof ts === 'number' && Number.isFinite(ts) &&
    typeof tcp === 'string' && addrPattern.test(tcp) &&
    typeof name === 'string' && name.length <= 64 &&
    (bye === undefined || typeof bye === 'boolean') &&
    (iv === undefined || (typeof iv === 'number' && Number.isInteger(iv) && iv > 0 && iv <= 3_600_000)) &&
    (cl === undefined || (typeof cl === 'string' && cl.length > 0 && cl.length <= maxClusterLabelLength))
  );
}

/** Authenticates beacons and drops replays, stale counters and beacons more than 30 s off. */
export class BeaconVerifier {
  private readonly lastCounter: BoundedMap<string, number>;

  constructor(
    private readonly hmacKey: Buffer,
    private readonly self: { nodeId: string; instance: string },
    private readonly now: () => number,
    maxInstances = 4096,
    private readonly maxSkewMs = maxBeaconSkewMs,
  ) {
    this.lastCounter = new BoundedMap(maxInstances);
  }

  verify(datagram: Uint8Array): BeaconVerdict {
    const parsed = parseBeacon(datagram, this.hmacKey);
    if (!parsed.ok) return parsed;
    const beacon = parsed.beacon;
    if (beacon.nodeId === this.self.nodeId && beacon.instance === this.self.instance) return { ok: false, reason: 'self' };
    if (Math.abs(beacon.ts - this.now()) > this.maxSkewMs) return { ok: false, reason: 'clock-skew' };
    const key = `${beacon.nodeId}/${beacon.instance}`;
    const last = this.lastCounter.get(key);
    if (last !== undefined && beacon.counter <= last) return { ok: false, reason: 'replay' };
    this.lastCounter.set(key, beacon.counter);
    return { ok: true, beacon };
  }
}
