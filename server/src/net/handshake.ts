/**
 * The session handshake: Noise XX (Noise_XX_25519_ChaChaPoly_BLAKE2b) through `noise-handshake`,
 * the implementation the Hyperswarm stack uses. The prologue is derived from the mesh key, so a
 * node without the key fails at the 2nd message. The 2nd (responder) and 3rd (initiator)
 * payloads carry the Ed25519 identity key and its signature over the Noise static key, so each
 * side learns and verifies the other's node id (hash of the identity key).
 *
 *   initiator                        responder
 *   start()            -> e     ->   receive(m1)
 *   receive(m2)        <- e, ee, s, es, payload(R)
 *                      -> s, se, payload(I) -> receive(m3)
 */
import NoiseState, { type KeyPair } from 'noise-handshake';
import { generateKeyPair } from 'noise-handshake/dh';
import { handshakeSignatureContext, meshProtocolVersion, type HandshakePayload } from '../../../protocol/mesh';
import { nodeIdFromPublicKey, verifySignature, type Identity } from '../kernel/identity';
import { overLimit } from '../../../protocol/sizeLimit';
import { decode, encode, isRecord } from './codec';

/** Largest handshake message we accept (m2 is 32 + 48 + payload + 16 bytes). */
export const maxHandshakeMessageBytes = 1024;

export class HandshakeError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'HandshakeError';
  }
}

export interface LocalHandshakeIdentity {
  identity: Identity;
  /** The Noise static key pair (X25519), generated once per start. */
  staticKeyPair: KeyPair;
  /** Encoded {@link HandshakePayload}: identity key + signature over the static key. */
  payload: Buffer;
  instance: string;
  /** Wall-clock ms when this instance started. */
  started: number;
}

export interface HandshakeResult {
  remoteNodeId: string;
  remoteIdentityKey: Buffer;
  remoteInstance: string;
  /** Wall-clock ms when the peer's instance started (by its clock). */
  remoteStarted: number;
  /** Key for frames we send. */
  sendKey: Buffer;
  /** Key for frames we receive. */
  receiveKey: Buffer;
  /** Hash of the whole handshake transcript (same on both sides). */
  handshakeHash: Buffer;
}

export function signedStaticData(staticPublicKey: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(handshakeSignatureContext), staticPublicKey]);
}

export function createLocalHandshakeIdentity(identity: Identity, instance: string, started: number, staticKeyPair: KeyPair = generateKeyPair()): LocalHandshakeIdentity {
  const payload: HandshakePayload = {
    v: meshProtocolVersion,
    key: identity.publicKey,
    sig: identity.sign(signedStaticData(staticKeyPair.publicKey)),
    instance,
    started,
  };
  return { identity, staticKeyPair, payload: encode(payload), instance, started };
}

export type HandshakeStep = { send?: Buffer; done?: HandshakeResult };

/** One side of one handshake. Methods throw {@link HandshakeError} on any failure. */
export class NoiseHandshake {
  private readonly noise: NoiseState;
  private step = 0;
  private remote: RemotePayload | undefined;

  constructor(readonly initiator: boolean, private readonly local: LocalHandshakeIdentity, prologue: Uint8Array) {
    this.noise = new NoiseState('XX', initiator, local.staticKeyPair);
    this.noise.initialise(prologue);
  }

  /** Initiator only: the first message (`-> e`). */
  start(): Buffer {
    if (!this.initiator || this.step !== 0) throw new HandshakeError('handshake already started');
    this.step = 1;
    return this.guard('could not write message 1', () => this.noise.send());
  }

  receive(message: Uint8Array): HandshakeStep {
    if (message.length > maxHandshakeMessageBytes) throw new HandshakeError(`handshake message too large: ${overLimit(message.length, maxHandshakeMessageBytes)}`);
    if (this.initiator) {
      if (this.step !== 1) throw new HandshakeError('unexpected handshake message');
      this.step = 2;
      const payload = this.guard('message 2 did not authenticate (wrong mesh key?)', () => this.noise.recv(message));
      this.remote = verifyPayload(payload, this.noise.rs);
      const reply = this.guard('could not write message 3', () => this.noise.send(this.local.payload));
      return { send: reply, done: this.finish() };
    }
    if (this.step === 0) {
      this.step = 1;
      if (message.length !== 32) throw new HandshakeError('message 1 has the wrong length');
      this.guard('message 1 is invalid', () => this.noise.recv(message));
      return { send: this.guard('could not write message 2', () => this.noise.send(this.local.payload)) };
    }
    if (this.step === 1) {
      this.step = 2;
      const payload = this.guard('message 3 did not authenticate', () => this.noise.recv(message));
      this.remote = verifyPayload(payload, this.noise.rs);
      return { done: this.finish() };
    }
    throw new HandshakeError('unexpected handshake message');
  }

  private finish(): HandshakeResult {
    const { tx, rx, hash } = this.noise;
    if (!this.noise.complete || !tx || !rx || !hash || !this.remote) throw new HandshakeError('handshake incomplete');
    return {
      remoteNodeId: this.remote.nodeId,
      remoteIdentityKey: this.remote.key,
      remoteInstance: this.remote.instance,
      remoteStarted: this.remote.started,
      sendKey: Buffer.from(tx),
      receiveKey: Buffer.from(rx),
      handshakeHash: Buffer.from(hash),
    };
  }

  private guard<T>(reason: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      if (error instanceof HandshakeError) throw error;
      throw new HandshakeError(reason);
    }
  }
}

interface RemotePayload {
  nodeId: string;
  key: Buffer;
  instance: string;
  started: number;
}

/** Checks a peer's payload against the Noise static key it proved it holds. */
export function verifyPayload(payload: Uint8Array, remoteStatic: Uint8Array | null): RemotePayload {
  if (!remoteStatic) throw new HandshakeError('no remote static key');
  const decoded = decode(payload);
  if (!decoded.ok || !isRecord(decoded.value)) throw new HandshakeError('malformed handshake payload');
  const { v, key, sig, instance, started } = decoded.value;
  if (v !== meshProtocolVersion) throw new HandshakeError(`unsupported protocol version ${String(v)}`);
  if (!(key instanceof Uint8Array) || key.length !== 32 || !(sig instanceof Uint8Array) || sig.length !== 64) {
    throw new HandshakeError('malformed handshake payload');
  }
  if (typeof instance !== 'string' || instance.length === 0 || instance.length > 32) throw new HandshakeError('malformed handshake payload');
  if (typeof started !== 'number' || !Number.isSafeInteger(started) || started < 0) throw new HandshakeError('malformed handshake payload');
  if (!verifySignature(key, signedStaticData(remoteStatic), sig)) throw new HandshakeError('bad static-key signature');
  return { nodeId: nodeIdFromPublicKey(key), key: Buffer.from(key), instance, started };
}
