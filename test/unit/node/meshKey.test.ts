import { strict as assert } from 'node:assert';
import { deriveKey, generateMeshKey, MeshKeyError, meshKeyProblem, parseMeshKey, takeMeshKeyFromEnv } from '../../../server/src/kernel/meshKey';

describe('mesh key', () => {
  it('refuses an empty key with a message that says what to do', () => {
    for (const empty of ['', '   ', '\n']) {
      assert.throws(() => parseMeshKey(empty), (error: unknown) => {
        assert.ok(error instanceof MeshKeyError);
        assert.equal(error.code, 'mesh-key-missing');
        assert.match(error.message, /Set Mesh Key/);
        assert.match(error.message, /--mesh-key-file/);
        return true;
      });
    }
  });

  it('refuses a passphrase shorter than 8 characters', () => {
    assert.equal(meshKeyProblem('short')?.code, 'mesh-key-weak');
  });

  it('stretches the same passphrase to the same secret on every node, and another to another', () => {
    const a = parseMeshKey('correct horse battery');
    const b = parseMeshKey('  correct horse battery ');
    const c = parseMeshKey('correct horse battery!');
    assert.deepEqual(a.secret, b.secret);
    assert.notDeepEqual(a.secret, c.secret);
    assert.equal(a.secret.length, 32);
    assert.equal(a.fingerprint, b.fingerprint);
  });

  it('uses generated and hex keys as they are', () => {
    const generated = generateMeshKey();
    assert.match(generated, /^pmk1-[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseMeshKey(generated).secret, Buffer.from(generated.slice(5), 'base64url'));
    const hex = 'ab'.repeat(32);
    assert.deepEqual(parseMeshKey(hex).secret, Buffer.from(hex, 'hex'));
    assert.notEqual(generateMeshKey(), generated);
  });

  it('derives a different key per purpose', () => {
    const key = parseMeshKey(generateMeshKey());
    const beacon = deriveKey(key, 'beacon-hmac');
    const prologue = deriveKey(key, 'noise-prologue');
    assert.equal(beacon.length, 32);
    assert.notDeepEqual(beacon, prologue);
    assert.notDeepEqual(beacon, key.secret);
    assert.deepEqual(deriveKey(key, 'beacon-hmac'), beacon);
  });

  it('takes the key out of the environment, so child processes do not inherit it', () => {
    const env: NodeJS.ProcessEnv = { PATH: '/bin', PERSONA_MESH_KEY: '  team passphrase \n' };
    assert.equal(takeMeshKeyFromEnv(env), 'team passphrase');
    assert.deepEqual(env, { PATH: '/bin' });
    assert.equal(takeMeshKeyFromEnv(env), '');
  });
});
