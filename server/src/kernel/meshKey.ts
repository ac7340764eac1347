/**
 * The mesh key: what a team shares to form one mesh. Either a generated key (`pmk1-` + base64url
 * of 32 bytes, or 64 hex digits) or a passphrase stretched with scrypt, so every node with the
 * same passphrase derives the same secret. Purpose keys are derived from it with HKDF.
 */
import { createHash, hkdfSync, randomBytes, scryptSync } from 'node:crypto';

export const generatedKeyPrefix = 'pmk1-';

/**
 * The environment variable that hands the key to a node process: the CLI's, and the server the
 * extension starts (its JSON-RPC traffic, params included, can be traced into the editor's output).
 */
export const meshKeyEnvVariable = 'PERSONA_MESH_KEY';

export class MeshKeyError extends Error {
  constructor(readonly code: 'mesh-key-missing' | 'mesh-key-weak', message: string) {
    super(message);
    this.name = 'MeshKeyError';
  }
}

export interface MeshKey {
  /** The 32-byte root secret. */
  readonly secret: Buffer;
  /** A short, non-secret fingerprint, so users can compare keys without revealing them. */
  readonly fingerprint: string;
}

export type MeshKeyPurpose = 'beacon-hmac' | 'noise-prologue' | 'event-signing' | 'fast-lane';

/**
 * Reads the key from the environment and removes it there, so the node's own child processes (the
 * llama model process) never inherit it.
 */
export function takeMeshKeyFromEnv(env: NodeJS.ProcessEnv): string {
  const key = env[meshKeyEnvVariable]?.trim() ?? '';
  delete env[meshKeyEnvVariable];
  return key;
}

export function generateMeshKey(): string {
  return generatedKeyPrefix + randomBytes(32).toString('base64url');
}

/** Checks a key's form without the (deliberately slow) passphrase stretching: for input boxes. */
export function meshKeyProblem(input: string): MeshKeyError | undefined {
  const text = input.trim();
  if (text.length === 0) {
    return new MeshKeyError(
      'mesh-key-missing',
      'the mesh key is empty: run "Persona Mesh: Set Mesh Key" in VS Code, or pass --mesh-key-file FILE or PERSONA_MESH_KEY to the CLI (every node of the team needs the same key)',
    );
  }
  if (!isGeneratedKey(text) && !isHexKey(text) && text.length < 8) {
    return new MeshKeyError('mesh-key-weak', 'the mesh key passphrase is shorter than 8 characters: choose a longer one or generate a key with "Persona Mesh: Set Mesh Key"');
  }
  return undefined;
}

function isGeneratedKey(text: string): boolean {
  return text.startsWith(generatedKeyPrefix) && Buffer.from(text.slice(generatedKeyPrefix.length), 'base64url').length === 32;
}

function isHexKey(text: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(text);
}

export function parseMeshKey(input: string): MeshKey {
  const problem = meshKeyProblem(input);
  if (problem) throw problem;
  const text = input.trim();
  let secret: Buffer;
  if (isGeneratedKey(text)) {
    secret = Buffer.from(text.slice(generatedKeyPrefix.length), 'base64url');
  } else if (isHexKey(text)) {
    secret = Buffer.from(text, 'hex');
  } else {
    // A fixed salt is deliberate: nodes must derive the same secret from the same passphrase.
    secret = scryptSync(text.normalize('NFC'), 'persona-mesh/mesh-key/v1', 32, { N: 2 ** 14, r: 8, p: 1 });
  }
  return { secret, fingerprint: createHash('sha256').update('persona-mesh/fingerprint').update(secret).digest('hex').slice(0, 8) };
}

export function deriveKey(meshKey: MeshKey, purpose: MeshKeyPurpose, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', meshKey.secret, 'persona-mesh/v1', purpose, length));
}
