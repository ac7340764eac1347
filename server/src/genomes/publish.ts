/**
 * Builds a genome from what a persona has: a prompt fragment, a LoRA adapter file, a folder of
 * documents. Each becomes a layer whose blob goes into the blob store; the manifest is signed with
 * the node's identity.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { Identity } from '../kernel/identity';
import { overLimit } from '../../../protocol/sizeLimit';
import { genomeManifestLimits, genomeManifestVersion, type GenomeLayer, type GenomeLayerKind, type GenomeManifest, type GenomeMetrics, type GenomePublishParams, type KnowledgeLayerData, type PromptLayerData } from '../../../protocol/genomes';
import type { BlobStore } from './blobStore';
import { GenomeError } from './errors';
import { checkLoraAdapter, modelArchitecture } from './lora';
import { metricsProblem, signManifest } from './manifest';
import { pieceHashes } from './pieces';
import { compatibilityVector } from './vector';

const documentExtensions = new Set(['.md', '.markdown', '.txt', '.rst', '.adoc', '.json', '.yaml', '.yml', '.ts', '.js', '.py', '.go', '.rs', '.java', '.c', '.h', '.cpp', '.sh']);
const maxDocuments = 2000;
const maxDocumentBytes = 1024 * 1024;

export interface PublishInput extends GenomePublishParams {
  /** Wall-clock ms. */
  now: number;
  maxBytes: number;
}

function refuse(message: string): never {
  throw new GenomeError('bad-manifest', message);
}

/**
 * Publish parameters from the editor or the CLI, where anything can arrive, checked against what
 * a manifest may hold (receivers would refuse more).
 */
export function checkPublishParams(value: unknown): GenomePublishParams {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse('publishing needs parameters: name, description, capabilities and a layer');
  const p = value as Record<string, unknown>;
  const text = (key: string, maxChars = Infinity): string | undefined => {
    const item = p[key];
    if (item === undefined) return undefined;
    if (typeof item !== 'string' || item.length > maxChars) refuse(`${key} must be text${Number.isFinite(maxChars) ? ` of at most ${maxChars} characters` : ''}`);
    return item;
  };
  const strings = (key: string, maxItems: number, maxChars: number, what: string): string[] | undefined => {
    const items = p[key];
    if (items === undefined) return undefined;
    if (!Array.isArray(items) || items.length > maxItems || !items.every((item) => typeof item === 'string' && item.length <= maxChars)) refuse(`${key} must be at most ${maxItems} ${what}`);
    return items as string[];
  };
  const scale = p.scale;
  if (scale !== undefined && (typeof scale !== 'number' || !Number.isFinite(scale) || Math.abs(scale) > genomeManifestLimits.scale)) refuse(`scale must be a number from -${genomeManifestLimits.scale} to ${genomeManifestLimits.scale}`);
  const lineage = strings('lineage', genomeManifestLimits.lineage, 64, 'genome ids');
  if (lineage && !lineage.every((id) => /^[0-9a-f]{64}$/.test(id))) refuse('lineage must be genome ids');
  const metrics = p.metrics === undefined ? undefined : metricsProblem(p.metrics);
  if (metrics) refuse(metrics);
  const optional = { prompt: text('prompt'), adapter: text('adapter'), baseModel: text('baseModel'), knowledge: text('knowledge') };
  return {
    name: text('name', genomeManifestLimits.nameChars) ?? '',
    description: text('description', genomeManifestLimits.descriptionChars) ?? '',
    capabilities: strings('capabilities', genomeManifestLimits.capabilities, genomeManifestLimits.capabilityChars, 'capabilities of text') ?? [],
    ...Object.fromEntries(Object.entries(optional).filter(([, item]) => item !== undefined)),
    ...(scale !== undefined ? { scale } : {}),
    ...(lineage ? { lineage } : {}),
    ...(p.metrics !== undefined ? { metrics: p.metrics as GenomeMetrics } : {}),
  };
}

export async function buildGenome(input: PublishInput, blobs: BlobStore, identity: Identity): Promise<{ id: string; manifest: GenomeManifest }> {
  const name = input.name?.trim();
  if (!name) throw new GenomeError('bad-layer', 'a genome needs a name');
  const capabilities = [...new Set((input.capabilities ?? []).map((c) => c.trim()).filter(Boolean))];
  const layers: GenomeLayer[] = [];
  let baseModel: GenomeManifest['baseModel'];
  const add = async (kind: GenomeLayerKind, data: Buffer, extra: Partial<GenomeLayer> = {}) => {
    const blob = await blobs.put(data);
    layers.push({ kind, blob, size: data.length, pieces: pieceHashes(data), ...extra });
  };
  if (input.prompt !== undefined && input.prompt.trim() !== '') {
    const prompt: PromptLayerData = { text: input.prompt.trim() };
    await add('prompt', Buffer.from(JSON.stringify(prompt), 'utf8'));
  }
  if (input.adapter) {
    const base = input.baseModel ? await modelArchitecture(input.baseModel) : undefined;
    const architecture = await checkLoraAdapter(input.adapter, input.adapter, base);
    baseModel = { architecture, ...(input.baseModel ? { name: input.baseModel.split(/[\\/]/).pop()! } : {}) };
    const size = (await stat(input.adapter)).size;
    if (size > input.maxBytes) throw new GenomeError('too-large', `the adapter ${input.adapter} is ${overLimit(size, input.maxBytes)} (the maximum genome size)`);
    await add('lora', await readFile(input.adapter), { architecture, ...(input.scale !== undefined ? { scale: input.scale } : {}) });
  }
  if (input.knowledge) {
    const documents = await readDocuments(input.knowledge);
    if (documents.length === 0) throw new GenomeError('bad-layer', `the folder ${input.knowledge} has no documents (${[...documentExtensions].join(' ')})`);
    const data: KnowledgeLayerData = { documents };
    await add('knowledge', Buffer.from(JSON.stringify(data), 'utf8'), { documents: documents.length });
  }
  if (layers.length === 0) throw new GenomeError('bad-layer', 'a genome needs at least one layer: a prompt, an adapter or a knowledge folder');
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);
  if (total > input.maxBytes) throw new GenomeError('too-large', `the genome is ${overLimit(total, input.maxBytes)} (the maximum genome size)`);
  const description = (input.description ?? '').trim();
  return signManifest(
    {
      v: genomeManifestVersion,
      name,
      description,
      capabilities,
      ...(baseModel ? { baseModel } : {}),
      layers,
      ...(input.metrics ? { metrics: input.metrics } : {}),
      vector: compatibilityVector(capabilities, description),
      lineage: input.lineage ?? [],
      createdAt: input.now,
    },
    identity,
  );
}

async function readDocuments(folder: string): Promise<{ path: string; text: string }[]> {
  const documents: { path: string; text: string }[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8 || documents.length >= maxDocuments) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw new GenomeError('io', `cannot read the knowledge folder ${dir}: ${(error as Error).message}`);
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (documents.length >= maxDocuments) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const file = join(dir, entry.name);
      if (entry.isDirectory()) await walk(file, depth + 1);
      else if (entry.isFile() && documentExtensions.has(extname(entry.name).toLowerCase()) && (await stat(file)).size <= maxDocumentBytes) {
        documents.push({ path: relative(folder, file).split('\\').join('/'), text: await readFile(file, 'utf8') });
      }
    }
  };
  await walk(folder, 0);
  return documents;
}
