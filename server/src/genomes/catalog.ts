/**
 * The genomes of this node: the blob store on disk and the index in the database (open between
 * the service's start and stop), the manifests seen on the mesh, and publishing, reading, listing
 * and deleting them. It neither announces nor emits `changed`: the service does, once the other
 * parts have had their say (a deletion stops its download first).
 */
import { join } from 'node:path';
import type { Clock } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import type { Logger } from '../kernel/log';
import type { GenomeLayerKind, GenomeManifest, GenomeProgress, GenomePublishParams, GenomeSummary } from '../../../protocol/genomes';
import type { Db } from '../store/database';
import { BlobStore } from './blobStore';
import { GenomeError } from './errors';
import type { GenomeEvents } from './events';
import { GenomeIndex, type StoredGenome } from './genomeIndex';
import { manifestSize, verifyManifest } from './manifest';
import { buildGenome, checkPublishParams } from './publish';

export interface GenomeCatalogOptions {
  dataDir: string;
  store: { db: Db };
  identity: Identity;
  clock: Clock;
  logger: Logger;
  maxGenomeBytes: number;
  events: GenomeEvents;
  /** What a summary shows beyond the manifest: how many nodes hold the genome... */
  seeders(id: string): number;
  /** ...and how far its download has come, while one runs. */
  downloading(id: string): GenomeProgress | undefined;
}

export class GenomeCatalog {
  readonly blobs: BlobStore;
  private indexValue: GenomeIndex | undefined;
  /** Verified manifests seen on the mesh (query results), by id. */
  private readonly seen = new Map<string, GenomeManifest>();

  constructor(private readonly options: GenomeCatalogOptions) {
    this.blobs = new BlobStore(join(options.dataDir, 'genomes'), options.logger);
  }

  get index(): GenomeIndex {
    if (!this.indexValue) throw new GenomeError('io', 'the genome store is not open');
    return this.indexValue;
  }

  get isOpen(): boolean {
    return this.indexValue !== undefined;
  }

  open(): void {
    this.blobs.open();
    this.indexValue = new GenomeIndex(this.options.store.db);
  }

  async close(): Promise<void> {
    this.indexValue = undefined;
    await this.blobs.close();
  }

  /** Builds and stores a genome; the service announces it. */
  async publish(params: GenomePublishParams): Promise<{ id: string; manifest: GenomeManifest }> {
    const { clock, identity, logger, maxGenomeBytes } = this.options;
    const { id, manifest } = await buildGenome({ ...checkPublishParams(params), now: clock.now(), maxBytes: maxGenomeBytes }, this.blobs, identity);
    this.index.addManifest(id, manifest, true, clock.now());
    logger.info(`published genome "${manifest.name}" (${id.slice(0, 12)}…, ${manifestSize(manifest)} bytes)`);
    return { id, manifest };
  }

  /** Adds a manifest received another way (a file): checked like one from the mesh. */
  importManifest(value: unknown): string {
    const id = verifyManifest(value);
    this.remember(id, value as GenomeManifest);
    return id;
  }

  /** Keeps a verified manifest from the mesh; one not known before is news (`seen`). */
  remember(id: string, manifest: GenomeManifest): void {
    const known = this.seen.has(id) || this.index.get(id) !== undefined;
    this.seen.set(id, manifest);
    if (!known) this.options.events.emit('seen', id);
  }

  manifest(id: string): GenomeManifest | undefined {
    return this.index.get(id)?.manifest ?? this.seen.get(id);
  }

  isLocal(id: string): boolean {
    return this.index.get(id)?.local ?? false;
  }

  /** The data of a local genome's layers of one kind. */
  async layerData(id: string, kind: GenomeLayerKind): Promise<{ blob: string; path: string; data: Buffer; scale?: number }[]> {
    const stored = this.index.get(id);
    if (!stored?.local) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is not held on this node (download it first)`);
    const layers = stored.manifest.layers.filter((layer) => layer.kind === kind);
    return Promise.all(
      // A LoRA layer is read by llama.cpp from its path: its bytes are not loaded here.
      layers.map(async (layer) => ({ blob: layer.blob, path: this.blobs.path(layer.blob), data: kind === 'lora' ? Buffer.alloc(0) : await this.blobs.read(layer.blob), ...(layer.scale !== undefined ? { scale: layer.scale } : {}) })),
    );
  }

  /** Local genomes and those seen on the mesh. */
  list(): { local: GenomeSummary[]; network: GenomeSummary[] } {
    const stored = this.index.list();
    const storedIds = new Set(stored.map((genome) => genome.id));
    const local = stored.map((genome) => this.summary(genome.id, genome.manifest, genome.local));
    const network = [...this.seen].filter(([id]) => !storedIds.has(id)).map(([id, manifest]) => this.summary(id, manifest, false));
    return { local, network };
  }

  /** The stored genome (held or downloading), or `not-found`. */
  stored(id: string): StoredGenome {
    const stored = this.index.get(id);
    if (!stored) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is not stored here`);
    return stored;
  }

  /** Deletes a stored genome and its blobs no other stored genome uses; it stays known as seen. */
  async remove(id: string, stored: StoredGenome): Promise<void> {
    for (const layer of stored.manifest.layers) {
      if (this.index.blobUsedElsewhere(layer.blob, id)) continue;
      await this.blobs.remove(layer.blob);
      this.index.dropBitmap(layer.blob);
    }
    this.index.remove(id);
    this.seen.set(id, stored.manifest);
  }

  summary(id: string, manifest: GenomeManifest, local: boolean): GenomeSummary {
    const progress = this.options.downloading(id);
    return {
      id,
      name: manifest.name,
      description: manifest.description,
      capabilities: manifest.capabilities,
      size: manifestSize(manifest),
      layers: manifest.layers.map((layer) => layer.kind),
      publisher: manifest.publisher,
      ...(manifest.metrics?.score !== undefined ? { score: manifest.metrics.score } : {}),
      seeders: this.options.seeders(id),
      local,
      ...(progress ? { progress: progress.totalBytes > 0 ? progress.bytes / progress.totalBytes : 0 } : {}),
    };
  }
}
