import assert from 'node:assert/strict';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { deriveKey, parseMeshKey } from '../../../server/src/kernel/meshKey';
import { encode } from '../../../server/src/net/codec';
import { createLocalHandshakeIdentity, HandshakeError, NoiseHandshake, signedStaticData, type HandshakeResult, type LocalHandshakeIdentity } from '../../../server/src/net/handshake';
import { meshProtocolVersion } from '../../../protocol/mesh';

const meshKey = parseMeshKey('a'.repeat(64));
const prologue = deriveKey(meshKey, 'noise-prologue');
const otherPrologue = deriveKey(parseMeshKey('b'.repeat(64)), 'noise-prologue');

function local(): LocalHandshakeIdentity {
  return createLocalHandshakeIdentity(generateIdentity().identity, Buffer.alloc(8, Math.random() * 255).toString('hex'), Date.now());
}

/** Runs a full handshake; `tamper(i, message)` may change message i (0..2) in flight. */
function run(
  a: LocalHandshakeIdentity,
  b: LocalHandshakeIdentity,
  options: { prologueA?: Buffer; prologueB?: Buffer; tamper?: (index: number, message: Buffer) => Buffer } = {},
): { initiator: HandshakeResult; responder: HandshakeResult } {
  const tamper = options.tamper ?? ((_i, m) => m);
  const initiator = new NoiseHandshake(true, a, options.prologueA ?? prologue);
  const responder = new NoiseHandshake(false, b, options.prologueB ?? prologue);
  const m1 = tamper(0, initiator.start());
  const r1 = responder.receive(m1);
  const m2 = tamper(1, r1.send!);
  const i2 = initiator.receive(m2);
  const m3 = tamper(2, i2.send!);
  const r3 = responder.receive(m3);
  assert.ok(i2.done && r3.done);
  return { initiator: i2.done, responder: r3.done };
}

describe('net/handshake (Noise XX + identity payload)', () => {
  it('both sides derive the same keys and learn each other’s node id', () => {
    const a = local();
    const b = local();
    const { initiator, responder } = run(a, b);
    assert.deepEqual(initiator.sendKey, responder.receiveKey);
    assert.deepEqual(initiator.receiveKey, responder.sendKey);
    assert.notDeepEqual(initiator.sendKey, initiator.receiveKey);
    assert.deepEqual(initiator.handshakeHash, responder.handshakeHash);
    assert.equal(initiator.remoteNodeId, b.identity.nodeId);
    assert.equal(responder.remoteNodeId, a.identity.nodeId);
    assert.equal(initiator.remoteInstance, b.instance);
    assert.equal(initiator.remoteStarted, b.started, 'when the peer started: of two live instances of one node id, the later is refused');
    assert.equal(responder.remoteStarted, a.started);
  });

  it('refuses a payload without a valid start time', () => {
    for (const started of [undefined, -1, 1.5, '1800000000000']) {
      const peer = local();
      const bad = { ...peer, payload: encode({ v: meshProtocolVersion, key: peer.identity.publicKey, sig: peer.identity.sign(signedStaticData(peer.staticKeyPair.publicKey)), instance: peer.instance, started }) };
      assert.throws(() => run(local(), bad), (error: HandshakeError) => error.reason === 'malformed handshake payload', String(started));
    }
  });

  it('fails when any bit of any message is flipped', () => {
    const a = local();
    const b = local();
    const lengths = [0, 0, 0];
    run(a, b, { tamper: (i, m) => ((lengths[i] = m.length), m) });
    let checked = 0;
    for (let index = 0; index < 3; index++) {
      // Every byte of every message, one bit each (a different bit per byte).
      for (let byte = 0; byte < lengths[index]!; byte++) {
        const flip = (i: number, m: Buffer) => {
          if (i !== index) return m;
          const copy = Buffer.from(m);
          copy[byte]! ^= 1 << (byte % 8);
          return copy;
        };
        assert.throws(() => run(a, b, { tamper: flip }), HandshakeError, `message ${index + 1} byte ${byte}`);
        checked++;
      }
    }
    assert.ok(checked > 200);
  });

  it('with a wrong mesh key fails at the 2nd message', () => {
    const initiator = new NoiseHandshake(true, local(), prologue);
    const responder = new NoiseHandshake(false, local(), otherPrologue);
    const step = responder.receive(initiator.start());
    assert.ok(step.send);
    assert.throws(() => initiator.receive(step.send!), (error: HandshakeError) => /message 2 did not authenticate/.test(error.reason));
  });

  it('rejects a payload whose signature covers another static key', () => {
    const honest = local();
    const forged = local();
    // Same identity, but the signature is over someone else's Noise static key.
    const bad = { ...honest, payload: encode({ v: meshProtocolVersion, key: honest.identity.publicKey, sig: honest.identity.sign(signedStaticData(forged.staticKeyPair.publicKey)), instance: honest.instance, started: honest.started }) };
    assert.throws(() => run(local(), bad), (error: HandshakeError) => error.reason === 'bad static-key signature');
    assert.throws(() => run(bad, local()), (error: HandshakeError) => error.reason === 'bad static-key signature');
  });

  it('refuses a peer speaking another protocol version', () => {
    const old = local();
    const bad = { ...old, payload: encode({ v: 1, key: old.identity.publicKey, sig: old.identity.sign(signedStaticData(old.staticKeyPair.publicKey)), instance: old.instance }) };
    assert.throws(() => run(local(), bad), (error: HandshakeError) => error.reason === 'unsupported protocol version 1');
    assert.throws(() => run(bad, local()), (error: HandshakeError) => error.reason === 'unsupported protocol version 1');
  });

  it('rejects a payload claiming someone else’s identity key', () => {
    const victim = local();
    const attacker = local();
    // The attacker copies the victim's payload but holds a different Noise static key.
    const bad = { ...attacker, payload: victim.payload };
    assert.throws(() => run(local(), bad), (error: HandshakeError) => error.reason === 'bad static-key signature');
  });

  it('cannot be completed by replaying a captured first (and third) message', () => {
    const a = local();
    const b = local();
    const captured: Buffer[] = [];
    run(a, b, { tamper: (_i, m) => (captured.push(Buffer.from(m)), m) });
    // A replayer sends the captured m1 to the responder again, then the captured m3.
    const responder = new NoiseHandshake(false, b, prologue);
    const reply = responder.receive(captured[0]!);
    assert.ok(reply.send && !reply.done);
    assert.notDeepEqual(reply.send, captured[1]);
    assert.throws(() => responder.receive(captured[2]!), HandshakeError);
  });

  it('rejects out-of-order and oversized messages', () => {
    const responder = new NoiseHandshake(false, local(), prologue);
    assert.throws(() => responder.receive(Buffer.alloc(33)), HandshakeError);
    const other = new NoiseHandshake(false, local(), prologue);
    assert.throws(() => other.receive(Buffer.alloc(5000)), HandshakeError);
    const initiator = new NoiseHandshake(true, local(), prologue);
    assert.throws(() => initiator.receive(Buffer.alloc(100)), HandshakeError);
  });
});
