/**
 * The downloads of this node: at most one `Download` (download.ts) per genome, started by id or
 * manifest, resumed at start from the database, cancelled on request or at stop. It checks what
 * must hold before any piece is fetched (size, base model, disk space) and what only the whole
 * genome can show after (LoRA adapters), and routes peers' `have` answers and pieces to the
 * downloads that want their blob.
 */
import type { Clock, Random } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { overLimit } from '../../../protocol/sizeLimit';
import { genomeTopics, type GenomeDirect, type GenomeManifest, type GenomePieceMessage, type GenomeProgress } from '../../../protocol/genomes';
import type { GenomeCatalog } from './catalog';
import { Download } from './download';
import { GenomeError } from './errors';
import type { GenomeEvents } from './events';
import type { PeerLink } from './link';
import { checkLoraAdapter } from './lora';
import { manifestSize, verifyManifest } from './manifest';
import type { RequestWindowOptions } from './requestWindow';
import type { GenomeTransport } from './transport';

/** Kept free on the disk after a download, so a genome never fills it. */
const diskReserveBytes = 64 * 1024 * 1024;

export interface GenomeDownloadsOptions {
  catalog: Pick<GenomeCatalog, 'index' | 'blobs' | 'manifest'>;
  transport: GenomeTransport;
  link: PeerLink;
  clock: Clock;
  random: Random;
  logger: Logger;
  events: GenomeEvents;
  maxGenomeBytes: number;
  /** Download rate limit in bytes per second (0 or undefined: none). */
  maxBytesPerSecond?: number | undefined;
  requestTimeoutMs?: number | undefined;
  requestWindow?: RequestWindowOptions | undefined;
  /** A genome arrived complete: the mesh hears this node holds it now. */
  announce(): void;
}

export class GenomeDownloads {
  /** `end` settles the download's promise when it is stopped from outside (cancel, the node stopping). */
  private readonly running = new Map<string, { download: Download; promise: Promise<GenomeProgress>; end: (error: GenomeError) => void }>();

  constructor(private readonly options: GenomeDownloadsOptions) {}

  /** Downloads that were running when the node stopped (or was killed) go on from their bitmaps. */
  resume(): void {
    const { catalog, logger } = this.options;
    for (const id of catalog.index.activeDownloads()) {
      const stored = catalog.index.get(id);
      if (!stored) continue;
      logger.info(`resuming the download of genome "${stored.manifest.name}" (${id.slice(0, 12)}…)`);
      this.download(id).catch((error: Error) => {
        if (!(error instanceof GenomeError && error.code === 'cancelled')) logger.warn(`genome ${id.slice(0, 12)}…: ${error.message}`);
      });
    }
  }

  /** Stops every download (their verified pieces stay) and frees their timers. */
  stop(): void {
    for (const { download, end } of this.running.values()) {
      download.stop();
      end(new GenomeError('cancelled', 'the node is stopping'));
    }
    this.running.clear();
  }

  /** Downloads a genome by id (seen on the mesh or resuming) or from its manifest. */
  download(target: string | GenomeManifest): Promise<GenomeProgress> {
    const { catalog } = this.options;
    let id: string;
    let manifest: GenomeManifest | undefined;
    try {
      if (typeof target === 'string') {
        id = target;
        manifest = catalog.manifest(id);
        if (!manifest) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is unknown here: query the mesh for it first`);
        verifyManifest(manifest, id);
      } else {
        id = verifyManifest(target);
        manifest = target;
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const running = this.running.get(id);
    if (running) return running.promise;
    if (catalog.index.get(id)?.local) {
      return Promise.resolve({ id, state: 'complete', bytes: manifestSize(manifest), totalBytes: manifestSize(manifest), piecesDone: 0, pieces: 0, sources: [] });
    }
    return this.startDownload(id, manifest);
  }

  /** Stops a download; its verified pieces stay for a later download of the same genome. */
  cancel(id: string): void {
    const running = this.running.get(id);
    if (!running) return;
    this.running.delete(id);
    this.options.catalog.index.setDownload(id, 'cancelled', this.options.clock.now());
    const progress = running.download.progress('cancelled', 'the download was cancelled');
    running.download.stop();
    // Whoever waits on the download (the editor's request, evolution) hears why it ended.
    running.end(new GenomeError('cancelled', 'the download was cancelled'));
    this.options.events.emit('progress', progress);
  }

  /** How far the running download of a genome has come, if one runs. */
  progressOf(id: string): GenomeProgress | undefined {
    return this.running.get(id)?.download.progress('active');
  }

  peerUp(peer: string): void {
    for (const { download } of this.running.values()) download.peerUp(peer);
  }

  peerDown(peer: string): void {
    for (const { download } of this.running.values()) download.peerDown(peer);
  }

  /** A peer's answer to `have?`, for every download that wants the blob (its fields unchecked but the blob's type). */
  onHave(from: string, have: Extract<GenomeDirect, { t: 'have' }>): void {
    for (const { download } of this.running.values()) {
      if (download.blobsWanted().includes(have.blob)) download.onHave(from, have.blob, have.bitmap instanceof Uint8Array ? have.bitmap : undefined, have.complete === true);
    }
  }

  onPiece(from: string, piece: GenomePieceMessage): void {
    for (const { download } of this.running.values()) if (download.blobsWanted().includes(piece.blob)) download.onPiece(from, piece);
  }

  private async startDownload(id: string, manifest: GenomeManifest): Promise<GenomeProgress> {
    const { catalog, clock, logger, events, transport, maxGenomeBytes } = this.options;
    const size = manifestSize(manifest);
    if (size > maxGenomeBytes) throw new GenomeError('too-large', `genome "${manifest.name}" is ${overLimit(size, maxGenomeBytes)} (the maximum genome size here: setting personaMesh.genomes.maxSizeMB, CLI --genome-max-mb)`);
    if (manifest.layers.some((layer) => layer.kind === 'lora') && !manifest.baseModel) throw new GenomeError('bad-manifest', `genome "${manifest.name}" has a LoRA layer but names no base model`);
    const free = await catalog.blobs.freeBytes();
    if (free - size < diskReserveBytes) throw new GenomeError('no-space', `not enough disk space for genome "${manifest.name}": it needs ${formatBytes(size)}, ${formatBytes(free)} are free in ${catalog.blobs.root} (and ${formatBytes(diskReserveBytes)} stay free)`);
    if (this.options.link.stopped) throw new GenomeError('cancelled', 'the node is stopping');
    catalog.index.addManifest(id, manifest, false, clock.now());
    catalog.index.setDownload(id, 'active', clock.now());
    const download = new Download({
      id,
      manifest,
      index: catalog.index,
      blobs: catalog.blobs,
      clock,
      random: this.options.random,
      logger,
      send: (peer, message) => transport.sendTo(peer, genomeTopics.direct(peer), message),
      upPeers: () => transport.upPeers(),
      ...(this.options.maxBytesPerSecond ? { maxBytesPerSecond: this.options.maxBytesPerSecond } : {}),
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      ...(this.options.requestWindow ? { requestWindow: this.options.requestWindow } : {}),
    });
    let end: (error: GenomeError) => void = () => undefined;
    const promise = new Promise<GenomeProgress>((resolve, reject) => {
      end = reject;
      // Active states only: a download is complete once completeDownload's checks pass, which emit it.
      download.on('progress', (progress) => {
        if (progress.state === 'active') events.emit('progress', progress);
      });
      download.on('piece', (piece) => events.emit('piece', { id, ...piece }));
      download.on('bad-piece', (piece) => events.emit('bad-piece', { id, ...piece }));
      download.on('done', () => {
        void this.completeDownload(id, manifest, download).then(resolve, reject);
      });
      download.on('failed', (error) => {
        this.running.delete(id);
        catalog.index.setDownload(id, 'failed', clock.now(), error.message);
        download.stop();
        reject(error);
      });
    });
    // A download nobody waits on (resumed at start) may end by cancel or stop: not an unhandled rejection.
    promise.catch(() => undefined);
    this.running.set(id, { download, promise, end });
    logger.info(`downloading genome "${manifest.name}" (${id.slice(0, 12)}…, ${formatBytes(size)}, ${download.piecesDone} pieces already here)`);
    download.start();
    return promise;
  }

  private async completeDownload(id: string, manifest: GenomeManifest, download: Download): Promise<GenomeProgress> {
    const { catalog, clock, logger, events } = this.options;
    this.running.delete(id);
    download.stop();
    try {
      for (const layer of manifest.layers) {
        if (layer.kind !== 'lora') continue;
        await checkLoraAdapter(catalog.blobs.path(layer.blob), `the LoRA layer of genome "${manifest.name}"`, manifest.baseModel?.architecture);
      }
    } catch (error) {
      const message = (error as Error).message;
      catalog.index.setDownload(id, 'failed', clock.now(), message);
      const progress = download.progress('failed', message);
      events.emit('progress', progress);
      throw error;
    }
    catalog.index.markLocal(id);
    catalog.index.setDownload(id, 'complete', clock.now());
    const progress = download.progress('complete');
    logger.info(`genome "${manifest.name}" (${id.slice(0, 12)}…) downloaded from ${progress.sources.length} peer(s)`);
    events.emit('progress', progress);
    this.options.announce();
    events.emit('changed');
    return progress;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
