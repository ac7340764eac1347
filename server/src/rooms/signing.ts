/**
 * Authorship of room events. Each event is signed by its origin's Ed25519 identity key, and the
 * key travels with it (the node id is the hash of the key), so any node can check an event it got
 * from a third node during sync: nobody can forge or alter another node's events, and nobody can
 * take an (origin, roomSeq) slot with a fake event to block the real one.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { nodeIdFromPublicKey, type Identity } from '../kernel/identity';
import type { RoomEvent } from '../../../protocol/rooms';
import { canonicalJson } from '../kernel/canonicalJson';

export interface EventAuthenticator {
  /** Adds `key` and `sig` to an event of this node. */
  sign(event: RoomEvent): RoomEvent;
  /** True when the event carries a valid signature by the key whose hash is its origin. */
  verify(event: RoomEvent): boolean;
}

const context = 'persona-mesh/room-event/v1\n';

export function signedBytes(event: RoomEvent): Buffer {
  const { roomId, origin, roomSeq, hlc, body } = event;
  return Buffer.from(context + canonicalJson({ roomId, origin, roomSeq, hlc, body }), 'utf8');
}

/** Signs with this node's identity; verifies against the key carried by the event. */
export function identityAuthenticator(identity: Identity): EventAuthenticator {
  const key = identity.publicKey.toString('base64');
  // origin → its checked key (the origin is the key's hash), as a KeyObject ready for verify().
  const keys = new Map<string, { text: string; object: KeyObject }>();
  const keyFor = (origin: string, text: string): KeyObject | undefined => {
    const known = keys.get(origin);
    if (known?.text === text) return known.object;
    const raw = Buffer.from(text, 'base64');
    if (raw.length !== 32 || nodeIdFromPublicKey(raw) !== origin) return undefined;
    try {
      const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
      if (keys.size >= 10_000) keys.clear();
      keys.set(origin, { text, object });
      return object;
    } catch {
      return undefined;
    }
  };
  return {
    sign: (event) => ({ ...event, key, sig: identity.sign(signedBytes(event)).toString('base64') }),
    verify: (event) => {
      if (typeof event.key !== 'string' || typeof event.sig !== 'string' || event.key.length > 64 || event.sig.length > 128) return false;
      const publicKey = keyFor(event.origin, event.key);
      const signature = Buffer.from(event.sig, 'base64');
      if (!publicKey || signature.length !== 64) return false;
      try {
        return verify(null, signedBytes(event), publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}
