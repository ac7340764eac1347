import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base32Decode } from '../../../server/src/kernel/base32';
import { displayNodeId, generateIdentity, identityFileName, IdentityError, identityFromSeed, loadOrCreateIdentity, moveIdentityAside, nodeIdFromPublicKey, verifySignature } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { useTempDir } from '../../support/tempDir';

describe('identity', () => {
  const dir = useTempDir();

  it('is created once with mode 0600 and loaded with the same node id afterwards', () => {
    const first = loadOrCreateIdentity(dir.path, silentLogger);
    assert.equal(first.created, true);
    assert.equal(statSync(join(dir.path, identityFileName)).mode & 0o777, 0o600);
    const second = loadOrCreateIdentity(dir.path, silentLogger);
    assert.equal(second.created, false);
    assert.equal(second.identity.nodeId, first.identity.nodeId);
    assert.deepEqual(second.identity.publicKey, first.identity.publicKey);
  });

  it('moves the key aside (never deleting or overwriting one) so the next start makes a new identity', () => {
    const first = loadOrCreateIdentity(dir.path, silentLogger).identity;
    const key = readFileSync(join(dir.path, identityFileName), 'utf8');
    const now = Date.UTC(2026, 11, 7, 9, 30, 15, 250);
    const aside = moveIdentityAside(dir.path, now);
    assert.equal(aside, join(dir.path, `${identityFileName}.2026-12-07T09-30-15-250Z.bak`));
    assert.equal(readFileSync(aside, 'utf8'), key);
    const second = loadOrCreateIdentity(dir.path, silentLogger);
    assert.equal(second.created, true);
    assert.notEqual(second.identity.nodeId, first.nodeId);
    // A second move in the same millisecond keeps the first one's file.
    assert.equal(moveIdentityAside(dir.path, now), join(dir.path, `${identityFileName}.2026-12-07T09-30-15-250Z-2.bak`));
    assert.equal(readFileSync(aside, 'utf8'), key);
    assert.equal(readdirSync(dir.path).filter((name) => name.endsWith('.bak')).length, 2);
  });

  it('derives the node id as base32 of SHA-256 of the raw public key', () => {
    const { identity } = loadOrCreateIdentity(dir.path, silentLogger);
    assert.match(identity.nodeId, /^[A-Z2-7]{52}$/);
    assert.equal(identity.publicKey.length, 32);
    assert.deepEqual(base32Decode(identity.nodeId), createHash('sha256').update(identity.publicKey).digest());
    assert.equal(nodeIdFromPublicKey(identity.publicKey), identity.nodeId);
    assert.match(displayNodeId(identity.nodeId), /^([A-Z2-7]{7}-){7}[A-Z2-7]{3}$/);
  });

  it('makes Ed25519 keys from 32-byte seeds as RFC 8032 does (test vector 1), and new ones at random', () => {
    const { identity, pem } = identityFromSeed(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    assert.equal(identity.publicKey.toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(
      identity.sign(Buffer.alloc(0)).toString('hex'),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.throws(() => identityFromSeed(Buffer.alloc(31)), /32 bytes/);
    const ids = new Set(Array.from({ length: 20 }, () => generateIdentity().identity.nodeId));
    assert.equal(ids.size, 20);
  });

  it('signs so that the public key verifies, and a changed message or signature fails', () => {
    const { identity } = loadOrCreateIdentity(dir.path, silentLogger);
    const message = Buffer.from('noise static key');
    const signature = identity.sign(message);
    assert.equal(verifySignature(identity.publicKey, message, signature), true);
    assert.equal(verifySignature(identity.publicKey, Buffer.from('noise static kez'), signature), false);
    const flipped = Buffer.from(signature);
    flipped[10]! ^= 1;
    assert.equal(verifySignature(identity.publicKey, message, flipped), false);
    assert.equal(verifySignature(identity.publicKey.subarray(1), message, signature), false);
  });

  it('reports a broken key file clearly and leaves it in place', () => {
    const file = join(dir.path, identityFileName);
    writeFileSync(file, 'not a key');
    assert.throws(() => loadOrCreateIdentity(dir.path, silentLogger), (error: unknown) => {
      assert.ok(error instanceof IdentityError);
      assert.match(error.message, /is not a valid Ed25519 private key/);
      assert.match(error.message, /Move it away/);
      return true;
    });
    assert.equal(statSync(file).size, 'not a key'.length);
  });
});
