/**
 * Authorship of signals. The recording node signs each signal with its Ed25519 identity; the key
 * travels with the signal (the signer's node id is its hash), so any node can check a signal it got
 * from a third node. The id is the SHA-256 of the signed content, so two different signals never
 * share an id and an altered one no longer matches its id.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { nodeIdFromPublicKey, type Identity } from '../kernel/identity';
import type { Signal, UnsignedSignal } from '../../../protocol/academy';
import { canonicalJson } from '../kernel/canonicalJson';

const context = 'persona-mesh/academy-signal/v1\n';

type Content = Omit<UnsignedSignal, 'id'>;

function contentOf(signal: Content | UnsignedSignal | Signal): Content {
  // Everything but id, key and signature, whatever else a sender added.
  const { id: _id, signerKey: _key, signature: _sig, ...content } = signal as Signal;
  return content;
}

/** The id a signal with this content has. */
export function signalId(signal: Content | UnsignedSignal | Signal): string {
  return createHash('sha256').update(context).update(canonicalJson(contentOf(signal))).digest('hex');
}

export function signalSignedBytes(signal: UnsignedSignal | Signal): Buffer {
  return Buffer.from(context + canonicalJson({ ...contentOf(signal), id: signal.id }), 'utf8');
}

export interface SignalAuthenticator {
  readonly nodeId: string;
  /** Gives the content its id, this node as signer, and signs it. */
  sign(content: Omit<UnsignedSignal, 'id' | 'signer'>): Signal;
  /** True when the id matches the content and the signature is the signer's. */
  verify(signal: Signal): boolean;
}

const keyCache = new Map<string, KeyObject>();

function publicKeyOf(signer: string, text: string): KeyObject | undefined {
  const cacheKey = `${signer} ${text}`;
  const known = keyCache.get(cacheKey);
  if (known) return known;
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32 || nodeIdFromPublicKey(raw) !== signer) return undefined;
  try {
    const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    if (keyCache.size >= 10_000) keyCache.clear();
    keyCache.set(cacheKey, object);
    return object;
  } catch {
    return undefined;
  }
}

/** Checks a signal's id and signature (any node may call it; no identity needed). */
export function verifySignal(signal: Signal): boolean {
  if (typeof signal.signerKey !== 'string' || typeof signal.signature !== 'string' || signal.signerKey.length > 64 || signal.signature.length > 128) return false;
  if (typeof signal.signer !== 'string' || signal.id !== signalId(signal)) return false;
  const key = publicKeyOf(signal.signer, signal.signerKey);
  const signature = Buffer.from(signal.signature, 'base64');
  if (!key || signature.length !== 64) return false;
  try {
    return verify(null, signalSignedBytes(signal), key, signature);
  } catch {
    return false;
  }
}

export function signalAuthenticator(identity: Identity): SignalAuthenticator {
  const signerKey = identity.publicKey.toString('base64');
  return {
    nodeId: identity.nodeId,
    sign(content) {
      const unsigned: UnsignedSignal = { ...content, signer: identity.nodeId, id: '' };
      unsigned.id = signalId(unsigned);
      return { ...unsigned, signerKey, signature: identity.sign(signalSignedBytes(unsigned)).toString('base64') };
    },
    verify: verifySignal,
  };
}
