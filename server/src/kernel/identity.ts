/**
 * The node's Ed25519 identity. Created once in the data dir (mode 0600, and made so again when
 * found readable by others); the node id is the
 * base32 SHA-256 of the raw public key, so anyone holding the public key can check the id.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { base32Encode } from './base32';
import type { Logger } from './log';
import { makePrivate, privateFileMode } from './privateFiles';

export const identityFileName = 'identity.pem';
export const nodeIdLength = 52;

export interface Identity {
  readonly nodeId: string;
  /** 32-byte raw Ed25519 public key. */
  readonly publicKey: Buffer;
  sign(data: Uint8Array): Buffer;
}

export class IdentityError extends Error {
  readonly code = 'identity-unusable';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  return base32Encode(createHash('sha256').update(publicKey).digest());
}

/** Groups a node id for humans, Syncthing style: `ABCDEFG-HIJKLMN-...`. */
export function displayNodeId(nodeId: string): string {
  return nodeId.match(/.{1,7}/g)?.join('-') ?? nodeId;
}

export function shortNodeId(nodeId: string): string {
  return nodeId.slice(0, 7);
}

export function verifySignature(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, data, rawToPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

export function identityFromPrivateKey(privateKey: KeyObject): Identity {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return {
    nodeId: nodeIdFromPublicKey(publicKey),
    publicKey,
    sign: (data) => sign(null, data, privateKey),
  };
}

/** PKCS #8 wrapping of an Ed25519 seed (RFC 8410): this prefix, then the 32 seed bytes. */
const ed25519Pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A new Ed25519 key from 32 random bytes (an Ed25519 private key is its seed). Not through
 * `generateKeyPairSync`: Node 20 can deadlock when a garbage collection finalizes the key
 * generation job while the generated key's lock is held (seen here: a node hung at start, its
 * main thread in ~KeyGenJob waiting for that lock, inside a GC run from a signing or export).
 */
export function generateIdentity(): { identity: Identity; pem: string } {
  return identityFromSeed(randomBytes(32));
}

/** The identity whose Ed25519 private key is this 32-byte seed (RFC 8032). */
export function identityFromSeed(seed: Uint8Array): { identity: Identity; pem: string } {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([ed25519Pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { identity: identityFromPrivateKey(privateKey), pem };
}

/** Loads the identity from `dataDir`, creating it on first start. */
export function loadOrCreateIdentity(dataDir: string, logger: Logger): { identity: Identity; created: boolean } {
  const file = join(dataDir, identityFileName);
  if (existsSync(file)) {
    makePrivate(file, logger);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new IdentityError(`cannot read the identity key ${file}: ${(error as Error).message}. Check the file's permissions.`);
    }
    try {
      const key = createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType}`);
      return { identity: identityFromPrivateKey(key), created: false };
    } catch (error) {
      throw new IdentityError(
        `the identity key ${file} is not a valid Ed25519 private key (${(error as Error).message}). Move it away to create a new identity (the node id will change).`,
      );
    }
  }
  const { identity, pem } = generateIdentity();
  // Write then rename so a crash never leaves a half-written key behind.
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, pem, { mode: privateFileMode });
  chmodSync(temporary, privateFileMode);
  renameSync(temporary, file);
  return { identity, created: true };
}

/**
 * Moves the identity key aside so that the next start creates a new identity (a new node id): for
 * a copy of another node's data folder. Renamed, never deleted: it is the only copy of that node
 * id's key. Returns the new name.
 */
export function moveIdentityAside(dataDir: string, now: number): string {
  const file = join(dataDir, identityFileName);
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  let aside = `${file}.${stamp}.bak`;
  // Bounded by the keys already moved aside in this same millisecond.
  for (let n = 2; existsSync(aside); n++) aside = `${file}.${stamp}-${n}.bak`;
  renameSync(file, aside);
  return aside;
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

function rawToPublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}
