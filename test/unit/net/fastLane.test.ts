import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { Counters } from '../../../server/src/net/counters';
import type { DatagramHandler, DatagramSocket } from '../../../server/src/net/datagramSocket';
import { FastLane } from '../../../server/src/net/fastLane';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { fastLaneHeaderBytes, type Envelope } from '../../../protocol/mesh';

/** A stand-in for the multicast socket: what one lane sends, the others receive. */
function fakeGroup() {
  const handlers: DatagramHandler[] = [];
  const sent: Buffer[] = [];
  const socket = {
    running: true,
    onDatagram: (handler: DatagramHandler) => handlers.push(handler),
    send: (datagram: Buffer) => {
      sent.push(datagram);
      for (const handler of handlers) handler(datagram, { address: '127.0.0.1', family: 'IPv4', port: 1, size: datagram.length });
    },
  } as unknown as DatagramSocket;
  return { socket, sent };
}

const groupKey = Buffer.alloc(32, 5);

function lane(socket: DatagramSocket, nodeId: string, instance: string) {
  return new FastLane(socket, { nodeId, instance, groupKey, counters: new Counters(), logger: silentLogger });
}

describe('net/fastLane', () => {
  it('seals with standard ChaCha20-Poly1305 (header as associated data) and another node opens it once', () => {
    const { socket, sent } = fakeGroup();
    const a = generateIdentity().identity.nodeId;
    const sender = lane(socket, a, '0123456789abcdef');
    const receiver = lane(socket, generateIdentity().identity.nodeId, 'fedcba9876543210');
    const got: Envelope[] = [];
    receiver.on('envelope', (e) => got.push(e));
    const envelope: Envelope = { type: 'event', id: 'x:1', origin: a, seq: 1763777777123456, ts: 1, topic: '/presence/typing', body: { room: 'r' }, fast: true };
    assert.ok(sender.send(envelope));
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], envelope);
    // Same datagram again: a replay, dropped.
    socket.send(sent[0]!);
    assert.equal(got.length, 1);
    // The reference AEAD (node:crypto) opens what libsodium sealed.
    const datagram = sent[0]!;
    const header = datagram.subarray(0, fastLaneHeaderBytes);
    const key = Buffer.from(hkdfSync('sha256', groupKey, header.subarray(1, 41), 'persona-mesh/fast-lane/sender/v1', 32));
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(Math.floor(envelope.seq / 2 ** 32), 4);
    nonce.writeUInt32BE(envelope.seq >>> 0, 8);
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    const ciphertext = datagram.subarray(fastLaneHeaderBytes, datagram.length - 16);
    decipher.setAAD(header, { plaintextLength: ciphertext.length });
    decipher.setAuthTag(datagram.subarray(datagram.length - 16));
    assert.ok(Buffer.concat([decipher.update(ciphertext), decipher.final()]).length > 0);
  });

  it('drops a datagram with any flipped bit', () => {
    const { socket, sent } = fakeGroup();
    const a = generateIdentity().identity.nodeId;
    const sender = lane(socket, a, '0123456789abcdef');
    const other = fakeGroup();
    const receiver = lane(other.socket, generateIdentity().identity.nodeId, 'fedcba9876543210');
    const got: Envelope[] = [];
    receiver.on('envelope', (e) => got.push(e));
    sender.send({ type: 'event', id: 'x:1', origin: a, seq: 5, ts: 1, topic: '/presence/x', body: 1, fast: true });
    const datagram = sent[0]!;
    for (let bit = 8; bit < datagram.length * 8; bit += 13) {
      const copy = Buffer.from(datagram);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      other.socket.send(copy);
    }
    assert.equal(got.length, 0);
    other.socket.send(datagram);
    assert.equal(got.length, 1);
  });
});
