/**
 * Genome manifests: canonical bytes, id, signature and the shape check every received manifest
 * goes through. The id is the hex SHA-256 of the canonical JSON of everything but the signature,
 * so changing any field changes the id; the publisher signs the id, and its key must hash to its
 * node id, so a manifest cannot be altered or passed off as another node's.
 */
import { createHash } from 'node:crypto';
import { nodeIdFromPublicKey, verifySignature, type Identity } from '../kernel/identity';
import { formatCount } from '../../../protocol/sizeLimit';
import {
  genomeLayerKinds,
  genomeManifestLimits,
  genomeManifestVersion,
  genomePieceBytes,
  genomeVectorDimensions,
  type GenomeLayer,
  type GenomeManifest,
  type GenomeManifestContent,
} from '../../../protocol/genomes';
import { canonicalJson } from '../kernel/canonicalJson';
import { GenomeError } from './errors';

const signatureContext = 'persona-mesh/genome/v1\n';

/** What a manifest may hold: receivers refuse more, so publishing checks the same. */
const hex64 = /^[0-9a-f]{64}$/;

export function contentOf(manifest: GenomeManifest | GenomeManifestContent): GenomeManifestContent {
  const { signature: _signature, ...content } = manifest as GenomeManifest;
  return content;
}

export function canonicalManifestBytes(manifest: GenomeManifest | GenomeManifestContent): Buffer {
  return Buffer.from(canonicalJson(contentOf(manifest)), 'utf8');
}

export function manifestId(manifest: GenomeManifest | GenomeManifestContent): string {
  return createHash('sha256').update(canonicalManifestBytes(manifest)).digest('hex');
}

/** Fills in the publisher and signs. */
export function signManifest(content: Omit<GenomeManifestContent, 'publisher' | 'publisherKey'>, identity: Identity): { id: string; manifest: GenomeManifest } {
  const full: GenomeManifestContent = { ...content, publisher: identity.nodeId, publisherKey: identity.publicKey.toString('base64') };
  const id = manifestId(full);
  const signature = identity.sign(Buffer.from(signatureContext + id, 'utf8')).toString('base64');
  return { id, manifest: { ...full, signature } };
}

/** Total bytes of a genome's blobs. */
export function manifestSize(manifest: GenomeManifestContent): number {
  return manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
}

/**
 * Checks a manifest from anywhere (the mesh, a file, the database) and returns its id. Throws a
 * GenomeError saying what is wrong: `bad-manifest` for the shape, `bad-signature` for authorship.
 */
export function verifyManifest(value: unknown, expectedId?: string): string {
  const manifest = checkManifestShape(value);
  const id = manifestId(manifest);
  if (expectedId !== undefined && id !== expectedId) throw new GenomeError('bad-signature', `the manifest does not match its id ${expectedId.slice(0, 12)}… (its content hashes to ${id.slice(0, 12)}…): it was altered`);
  const key = Buffer.from(manifest.publisherKey, 'base64');
  if (key.length !== 32 || nodeIdFromPublicKey(key) !== manifest.publisher) throw new GenomeError('bad-signature', `the publisher key of genome ${id.slice(0, 12)}… is not the key of node ${manifest.publisher.slice(0, 7)}`);
  const signature = Buffer.from(manifest.signature, 'base64');
  if (!verifySignature(key, Buffer.from(signatureContext + id, 'utf8'), signature)) {
    throw new GenomeError('bad-signature', `the signature of genome "${manifest.name}" (${id.slice(0, 12)}…) is not its publisher's: the manifest was altered or forged`);
  }
  return id;
}

function fail(message: string): never {
  throw new GenomeError('bad-manifest', `malformed genome manifest: ${message}`);
}

const isString = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;
const isStrings = (value: unknown, count: number, max: number): value is string[] => Array.isArray(value) && value.length <= count && value.every((item) => isString(item, max));

/** The shape check alone (no hashing, no signature): cheap enough for every stored manifest a query looks at. */
export function checkManifestShape(value: unknown): GenomeManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object');
  const m = value as Record<string, unknown>;
  if (m.v !== genomeManifestVersion) fail(`version ${String(m.v)} (this node reads ${genomeManifestVersion})`);
  if (!isString(m.name, genomeManifestLimits.nameChars) || m.name.trim() === '') fail(`name must be a non-empty string of at most ${genomeManifestLimits.nameChars} characters`);
  if (!isString(m.description, genomeManifestLimits.descriptionChars)) fail(`description must be a string of at most ${genomeManifestLimits.descriptionChars} characters`);
  if (!isStrings(m.capabilities, genomeManifestLimits.capabilities, genomeManifestLimits.capabilityChars)) fail(`capabilities must be at most ${genomeManifestLimits.capabilities} strings`);
  if (!isStrings(m.lineage, genomeManifestLimits.lineage, 64) || !m.lineage.every((id) => hex64.test(id))) fail('lineage must be genome ids');
  if (!isString(m.publisher, 64) || !isString(m.publisherKey, 64) || !isString(m.signature, 128)) fail('publisher, publisherKey and signature must be strings');
  if (typeof m.createdAt !== 'number' || !Number.isFinite(m.createdAt)) fail('createdAt must be a number');
  if (!Array.isArray(m.vector) || m.vector.length !== genomeVectorDimensions || !m.vector.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(`vector must be ${genomeVectorDimensions} numbers${Array.isArray(m.vector) ? ` (it has ${formatCount(m.vector.length)})` : ''}`);
  if (m.baseModel !== undefined) {
    const base = m.baseModel as Record<string, unknown>;
    if (typeof base !== 'object' || base === null || !isString(base.architecture, 64) || (base.name !== undefined && !isString(base.name, 200))) fail('baseModel must be {architecture, name?}');
  }
  if (m.metrics !== undefined) {
    const problem = metricsProblem(m.metrics);
    if (problem) fail(problem);
  }
  if (!Array.isArray(m.layers) || m.layers.length === 0 || m.layers.length > 16) fail('layers must be 1 to 16 layers');
  m.layers.forEach((layer, i) => checkLayer(layer, i));
  return value as GenomeManifest;
}

/** What is wrong with a manifest's `metrics`, if anything. */
export function metricsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'metrics must be an object';
  const metrics = value as Record<string, unknown>;
  // Finite numbers only: the stored JSON turns NaN and Infinity into null, which no check passes.
  const number = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (metrics.score !== undefined && (!number(metrics.score) || (metrics.score as number) < 0 || (metrics.score as number) > 1)) return 'metrics.score must be between 0 and 1';
  if (metrics.signals !== undefined && (!number(metrics.signals) || (metrics.signals as number) < 0)) return 'metrics.signals must be a count';
  if (metrics.measuredBy !== undefined && !isString(metrics.measuredBy, 64)) return 'metrics.measuredBy must be a node id';
  return undefined;
}

function checkLayer(value: unknown, index: number): asserts value is GenomeLayer {
  const where = `layer ${index}`;
  if (typeof value !== 'object' || value === null) fail(`${where} is not an object`);
  const layer = value as Record<string, unknown>;
  if (!genomeLayerKinds.includes(layer.kind as never)) fail(`${where} has kind ${String(layer.kind)} (known: ${genomeLayerKinds.join(', ')})`);
  if (!isString(layer.blob, 64) || !hex64.test(layer.blob)) fail(`${where}: blob must be a hex SHA-256`);
  if (typeof layer.size !== 'number' || !Number.isSafeInteger(layer.size) || layer.size <= 0) fail(`${where}: size must be a positive whole number`);
  const expected = Math.ceil(layer.size / genomePieceBytes);
  if (!Array.isArray(layer.pieces) || layer.pieces.length !== expected || !layer.pieces.every((p) => typeof p === 'string' && hex64.test(p))) {
    fail(`${where}: ${formatCount(expected)} piece hashes expected for ${formatCount(layer.size)} bytes`);
  }
  if (layer.kind === 'lora' && !isString(layer.architecture, 64)) fail(`${where}: a lora layer names its architecture`);
  if (layer.scale !== undefined && (typeof layer.scale !== 'number' || !Number.isFinite(layer.scale) || Math.abs(layer.scale) > genomeManifestLimits.scale)) fail(`${where}: scale must be a number`);
}
