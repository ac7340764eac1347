import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobStore } from '../../../server/src/genomes/blobStore';
import { GenomeError } from '../../../server/src/genomes/errors';
import { manifestId, verifyManifest } from '../../../server/src/genomes/manifest';
import { buildGenome, checkPublishParams } from '../../../server/src/genomes/publish';
import { compatibilityVector, cosine } from '../../../server/src/genomes/vector';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { genomePieceBytes, type GenomeManifest } from '../../../protocol/genomes';
import { buildBulkyLoraAdapter } from '../../fixtures/gguf/bulkyAdapter';
import { writeTinyFixture } from '../../fixtures/gguf/writer';
import { useTempDir } from '../../support/tempDir';

const rejects = (fn: () => unknown, code: string, pattern: RegExp) =>
  assert.throws(fn, (error: unknown) => error instanceof GenomeError && error.code === code && pattern.test(error.message));

describe('genome manifests', () => {
  const dir = useTempDir('genome-manifest-');
  const identity = generateIdentity().identity;

  async function publishPrompt(extra: Partial<Parameters<typeof buildGenome>[0]> = {}): Promise<{ id: string; manifest: GenomeManifest }> {
    const blobs = new BlobStore(join(dir.path, 'genomes'), silentLogger);
    blobs.open();
    return buildGenome({ name: 'Reviewer', description: 'Reviews TypeScript pull requests', capabilities: ['code-review', 'typescript'], prompt: 'Be terse.', now: 1_800_000_000_000, maxBytes: 1e9, ...extra }, blobs, identity);
  }

  it('has an id that is the SHA-256 of its canonical bytes and a signature that verifies', async () => {
    const { id, manifest } = await publishPrompt();
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(manifestId(manifest), id);
    // Key order does not matter: the bytes are canonical.
    const reordered = Object.fromEntries(Object.entries(manifest).reverse()) as unknown as GenomeManifest;
    assert.equal(verifyManifest(reordered), id);
    assert.equal(manifest.publisher, identity.nodeId);
    assert.equal(manifest.vector.length, 512);
  });

  it('rejects a tampered manifest: changed content, another id, a forged signature or publisher', async () => {
    const { id, manifest } = await publishPrompt();
    rejects(() => verifyManifest({ ...manifest, description: 'Steals secrets' }), 'bad-signature', /signature .* not its publisher's/);
    rejects(() => verifyManifest({ ...manifest, capabilities: ['everything'] }, id), 'bad-signature', /altered/);
    const other = generateIdentity().identity;
    rejects(() => verifyManifest({ ...manifest, publisherKey: other.publicKey.toString('base64') }), 'bad-signature', /not the key of node/);
    const signature = Buffer.from(manifest.signature, 'base64');
    signature[0]! ^= 1;
    rejects(() => verifyManifest({ ...manifest, signature: signature.toString('base64') }), 'bad-signature', /signature/);
    rejects(() => verifyManifest({ ...manifest, layers: [{ ...manifest.layers[0]!, pieces: [] }] }), 'bad-manifest', /piece hashes expected/);
    rejects(() => verifyManifest('nope'), 'bad-manifest', /not an object/);
  });

  it('splits a layer into 256 KiB pieces listed in the manifest', async () => {
    writeTinyFixture(dir.path);
    const adapter = join(dir.path, 'big.lora.gguf');
    writeFileSync(adapter, buildBulkyLoraAdapter(700_000));
    const { manifest } = await publishPrompt({ prompt: undefined, adapter, baseModel: join(dir.path, 'tiny.gguf'), scale: 0.5 });
    const layer = manifest.layers[0]!;
    assert.equal(layer.kind, 'lora');
    assert.equal(layer.architecture, 'llama');
    assert.equal(layer.pieces.length, Math.ceil(layer.size / genomePieceBytes));
    assert.ok(layer.pieces.length > 1, `${layer.size} bytes should make several pieces`);
    assert.deepEqual(manifest.baseModel, { architecture: 'llama', name: 'tiny.gguf' });
  });

  it('refuses a LoRA layer that is not an adapter or is for another architecture', async () => {
    const { modelPath } = writeTinyFixture(dir.path);
    await assert.rejects(publishPrompt({ adapter: modelPath }), (error: unknown) => error instanceof GenomeError && error.code === 'bad-adapter' && /not a LoRA adapter/.test(error.message));
    const notGguf = join(dir.path, 'x.gguf');
    writeFileSync(notGguf, 'hello world, not a model');
    await assert.rejects(publishPrompt({ adapter: notGguf }), (error: unknown) => error instanceof GenomeError && error.code === 'bad-adapter' && /not a GGUF file/.test(error.message));
  });

  it('refuses a genome over the maximum size', async () => {
    await assert.rejects(publishPrompt({ maxBytes: 4 }), (error: unknown) => error instanceof GenomeError && error.code === 'too-large');
  });

  it('checks publish parameters from outside against what a manifest may hold', () => {
    const base = { name: 'Reviewer', description: 'd', capabilities: ['review'], prompt: 'Be terse.' };
    assert.deepEqual(checkPublishParams(base), base);
    rejects(() => checkPublishParams(null), 'bad-manifest', /needs parameters/);
    rejects(() => checkPublishParams('Reviewer'), 'bad-manifest', /needs parameters/);
    rejects(() => checkPublishParams({ ...base, name: 5 }), 'bad-manifest', /name must be text/);
    rejects(() => checkPublishParams({ ...base, name: 'n'.repeat(201) }), 'bad-manifest', /at most 200 characters/);
    rejects(() => checkPublishParams({ ...base, capabilities: 'review' }), 'bad-manifest', /capabilities must be at most 64/);
    rejects(() => checkPublishParams({ ...base, prompt: 7 }), 'bad-manifest', /prompt must be text/);
    rejects(() => checkPublishParams({ ...base, lineage: ['parent'] }), 'bad-manifest', /lineage must be genome ids/);
    rejects(() => checkPublishParams({ ...base, scale: Number.NaN }), 'bad-manifest', /scale must be a number/);
    // NaN would be stored as null, which no manifest check passes after a restart.
    rejects(() => checkPublishParams({ ...base, metrics: { score: Number.NaN } }), 'bad-manifest', /metrics.score/);
  });
});

describe('genome compatibility vectors', () => {
  it('rank genomes that share capabilities and words above unrelated ones (cosine)', () => {
    const query = compatibilityVector(['code-review', 'typescript'], '');
    const reviewer = compatibilityVector(['code-review', 'typescript', 'testing'], 'reviews typescript code');
    const poet = compatibilityVector(['poetry'], 'writes sonnets about the sea');
    assert.ok(cosine(query, reviewer) > 0.5, `reviewer ${cosine(query, reviewer)}`);
    assert.ok(cosine(query, reviewer) > cosine(query, poet) + 0.3);
    assert.equal(Math.round(cosine(reviewer, reviewer) * 1000), 1000);
    assert.deepEqual(compatibilityVector(['A'], 'b c'), compatibilityVector(['a'], 'b c'));
  });
});
