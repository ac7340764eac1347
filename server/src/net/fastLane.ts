/**
 * The fast lane: fire-and-forget envelopes as single multicast datagrams (≤ 1,200 bytes), for
 * events that may be lost and go to everyone (presence, typing, live telemetry). Each datagram is
 * sealed with ChaCha20-Poly1305 under a key derived from the group key (`deriveKey(meshKey,
 * 'fast-lane')`), the sender's node id and its instance; the nonce is the sender's counter, which
 * is also the envelope's seq. Receivers drop replays with a window per sender and count loss
 * from the gaps.
 *
 * Datagram: `0x46 | nodeId (32 raw bytes) | instance (8) | counter (u64 BE) | ciphertext | tag`.
 * Anyone holding the mesh key can send on the fast lane; the reliable lane (per-session keys)
 * is the one to use when the sender must be proven.
 */
import { hkdfSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import sodium from 'sodium-native';
import { base32Decode, base32Encode } from '../kernel/base32';
import type { Logger } from '../kernel/log';
import { DatagramKind, fastLaneHeaderBytes, maxDatagramBytes, type Envelope } from '../../../protocol/mesh';
import { BoundedMap } from './boundedMap';
import { decode, encode } from './codec';
import type { Counters } from './counters';
import type { DatagramSocket } from './datagramSocket';
import { ReplayWindow } from './replayWindow';
import { isEnvelope } from './router';

const tagBytes = 16;
export const maxFastPayloadBytes = maxDatagramBytes - fastLaneHeaderBytes - tagBytes;

export interface FastLaneOptions {
  nodeId: string;
  /** 16 hex digits. */
  instance: string;
  groupKey: Buffer;
  counters: Counters;
  logger: Logger;
  maxSenders?: number;
}

export interface FastLaneEvents {
  envelope: [Envelope];
}

interface Sender {
  key: Buffer;
  window: ReplayWindow;
  nodeId: string;
}

function senderKey(groupKey: Buffer, header: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', groupKey, header.subarray(1, 1 + 32 + 8), 'persona-mesh/fast-lane/sender/v1', 32));
}

function nonce(counter: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  out.writeUInt32BE(counter >>> 0, 8);
  return out;
}

export class FastLane extends EventEmitter<FastLaneEvents> {
  private readonly senders: BoundedMap<string, Sender>;
  private readonly header: Buffer;
  private readonly ownKey: Buffer;

  constructor(private readonly socket: DatagramSocket, private readonly options: FastLaneOptions) {
    super();
    this.senders = new BoundedMap(options.maxSenders ?? 4096);
    this.header = Buffer.alloc(fastLaneHeaderBytes);
    this.header[0] = DatagramKind.fast;
    base32Decode(options.nodeId).copy(this.header, 1);
    Buffer.from(options.instance, 'hex').copy(this.header, 33, 0, 8);
    this.ownKey = senderKey(options.groupKey, this.header);
    socket.onDatagram((datagram) => {
      if (datagram[0] === DatagramKind.fast) this.receive(datagram);
    });
  }

  get available(): boolean {
    return this.socket.running;
  }

  /** Seals an envelope (whose seq is the counter) into one datagram; undefined if too large. */
  seal(envelope: Envelope): Buffer | undefined {
    const plaintext = encode(envelope);
    if (plaintext.length > maxFastPayloadBytes) return undefined;
    // ChaCha20-Poly1305 (IETF) through libsodium: one call, sealed in place after the header.
    const datagram = Buffer.allocUnsafe(fastLaneHeaderBytes + plaintext.length + tagBytes);
    this.header.copy(datagram, 0);
    datagram.writeUInt32BE(Math.floor(envelope.seq / 2 ** 32), 41);
    datagram.writeUInt32BE(envelope.seq >>> 0, 45);
    const header = datagram.subarray(0, fastLaneHeaderBytes);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(datagram.subarray(fastLaneHeaderBytes), plaintext, header, null, nonce(envelope.seq), this.ownKey);
    return datagram;
  }

  /** Sends on the group; false if too large or multicast is down (the caller falls back). */
  send(envelope: Envelope): boolean {
    if (!this.socket.running) return false;
    const datagram = this.seal(envelope);
    if (!datagram) {
      this.options.counters.add('fast.too-large');
      return false;
    }
    this.socket.send(datagram);
    this.options.counters.add('fast.sent');
    return true;
  }

  /** Handles one datagram that starts with the fast kind byte. Never throws. */
  receive(datagram: Buffer): void {
    if (datagram.length < fastLaneHeaderBytes + tagBytes + 1 || datagram.length > maxDatagramBytes) {
      this.options.counters.add('fast.rejected.malformed');
      return;
    }
    const header = datagram.subarray(0, fastLaneHeaderBytes);
    if (header.subarray(0, 41).equals(this.header.subarray(0, 41))) {
      this.options.counters.add('fast.own');
      return;
    }
    const id = header.subarray(1, 41).toString('base64');
    const counter = header.readUInt32BE(41) * 2 ** 32 + header.readUInt32BE(45);
    let sender = this.senders.get(id);
    const key = sender?.key ?? senderKey(this.options.groupKey, header);
    const verdict = sender ? sender.window.check(counter) : 'ok';
    if (verdict !== 'ok') {
      this.options.counters.add(`fast.rejected.${verdict}`);
      return;
    }
    const plaintext = Buffer.allocUnsafe(datagram.length - fastLaneHeaderBytes - tagBytes);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, datagram.subarray(fastLaneHeaderBytes), header, nonce(counter), key);
    } catch {
      this.options.counters.add('fast.rejected.auth');
      return;
    }
    const nodeId = base32Encode(header.subarray(1, 33));
    const decoded = decode(plaintext);
    if (!decoded.ok || !isEnvelope(decoded.value) || decoded.value.origin !== nodeId || decoded.value.seq !== counter) {
      this.options.counters.add('fast.rejected.malformed');
      return;
    }
    if (!sender) {
      sender = { key, window: new ReplayWindow(1024), nodeId };
      this.senders.set(id, sender);
    }
    sender.window.accept(counter);
    this.options.counters.add('fast.received');
    this.emit('envelope', decoded.value);
  }

  /** Loss seen per sender (datagrams never received, from the counters' gaps). */
  lossStats(): { received: number; lost: number; senders: number } {
    let received = 0;
    let lost = 0;
    for (const [, sender] of this.senders.entries()) {
      received += sender.window.accepted;
      lost += sender.window.lost;
    }
    return { received, lost, senders: this.senders.size };
  }
}
