/**
 * The genomes of this node: publishing, the local store (manifests in libsql, blobs on disk),
 * announcing what it holds, answering queries and piece requests from peers, and downloads.
 *
 * In-process API for other components (the evolution loop among them):
 * `query(q)` searches the mesh, `download(idOrManifest)` fetches a genome and resolves when it is
 * complete and checked, `manifest(id)` / `layerData(id, kind)` read a local genome, `remove(id)`
 * deletes the local copy, `publish(params)` builds and announces one. Applying to a persona is in
 * apply.ts.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Clock, Random, TimerHandle } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import type { Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { cryptoRandom } from '../kernel/random';
import { overLimit } from '../../../protocol/sizeLimit';
import {
  genomeAnswerLimits,
  genomeTopics,
  type GenomeAnnounce,
  type GenomeDirect,
  type GenomeLayerKind,
  type GenomeManifest,
  type GenomePieceMessage,
  type GenomeProgress,
  type GenomePublishParams,
  type GenomeQuery,
  type GenomeQueryMessage,
  type GenomeRejected,
  type GenomeResult,
  type GenomeSummary,
} from '../../../protocol/genomes';
import type { PortMessage } from '../kernel/meshPort';
import type { Db } from '../store/database';
import { answerParts, type SizedManifest } from './answer';
import { BlobStore } from './blobStore';
import { Download } from './download';
import { GenomeError } from './errors';
import { GenomeIndex } from './genomeIndex';
import { checkLoraAdapter } from './lora';
import { checkManifestShape, manifestSize, verifyManifest } from './manifest';
import { matchGenome, normaliseQuery } from './matching';
import { pieceCount, pieceRange } from './pieces';
import { buildGenome, checkPublishParams } from './publish';
import type { RequestWindowOptions } from './requestWindow';
import type { GenomeTransport } from './transport';

export const defaultMaxGenomeBytes = 2 * 1024 * 1024 * 1024;
/** Kept free on the disk after a download, so a genome never fills it. */
const diskReserveBytes = 64 * 1024 * 1024;
/** Piece reads queued at once for one peer: downloaders keep a few in flight, more is abuse. */
const maxServingPerPeer = 32;

export interface GenomeServiceOptions {
  dataDir: string;
  store: { db: Db };
  identity: Identity;
  transport: GenomeTransport;
  clock: Clock;
  random?: Random;
  logger: Logger;
  maxGenomeBytes?: number;
  /** Download rate limit in bytes per second (0: none). */
  maxBytesPerSecond?: number;
  requestTimeoutMs?: number;
  /** How each peer's request window adapts (requestWindow.ts defaults). */
  requestWindow?: RequestWindowOptions;
}

export interface GenomeServiceEvents {
  progress: [GenomeProgress];
  piece: [{ id: string; blob: string; piece: number; from: string }];
  'bad-piece': [{ id: string; blob: string; piece: number; from: string; reason: string }];
  /** A manifest failed its checks and was refused alone: from a peer's answer, or this node's own store. */
  rejected: [GenomeRejected];
  /** Local genomes changed (published, downloaded, deleted). */
  changed: [];
  /** A manifest not known before arrived (a query's answer or an import): one more genome id is known. */
  seen: [id: string];
}

interface PendingQuery {
  query: Required<GenomeQuery>;
  results: Map<string, GenomeResult>;
  waiting: Set<string>;
  /** Manifests taken from each peer's answer: at most `query.maxResults`, however many parts it sends. */
  taken: Map<string, number>;
  finish: () => void;
}

export class GenomeService extends EventEmitter<GenomeServiceEvents> implements Component {
  readonly name = 'genomes';
  readonly blobs: BlobStore;
  private indexValue: GenomeIndex | undefined;
  private readonly offs: (() => void)[] = [];
  private readonly holders = new Map<string, Set<string>>();
  /** Verified manifests seen on the mesh (query results), by id. */
  private readonly seen = new Map<string, GenomeManifest>();
  private readonly downloads = new Map<string, { download: Download; promise: Promise<GenomeProgress> }>();
  private readonly queries = new Map<string, PendingQuery>();
  private readonly serving = new Map<string, number>();
  private readonly blobSizes = new Map<string, number>();
  /** Stored genomes this node cannot offer (altered in its database, too large to send): refused once. */
  private readonly unofferable = new Set<string>();
  private readonly timers = new Set<TimerHandle>();
  private readonly random: Random;
  private stopped = false;

  constructor(private readonly options: GenomeServiceOptions) {
    super();
    this.blobs = new BlobStore(join(options.dataDir, 'genomes'), options.logger);
    this.random = options.random ?? cryptoRandom;
  }

  get maxGenomeBytes(): number {
    return this.options.maxGenomeBytes ?? defaultMaxGenomeBytes;
  }

  private get index(): GenomeIndex {
    if (!this.indexValue) throw new GenomeError('io', 'the genome store is not open');
    return this.indexValue;
  }

  start(): Promise<void> {
    this.blobs.open();
    this.indexValue = new GenomeIndex(this.options.store.db);
    const t = this.options.transport;
    const self = t.localNodeId;
    this.offs.push(
      t.subscribe(genomeTopics.announce, (m) => this.onAnnounce(m)),
      t.subscribe(genomeTopics.query, (m) => this.onQuery(m)),
      t.subscribe(genomeTopics.direct(self), (m) => this.onDirect(m)),
      t.subscribe(genomeTopics.piece(self), (m) => this.onPiece(m)),
      t.onPeerUp((peer) => {
        this.announceOnPeerUp(peer);
        for (const { download } of this.downloads.values()) download.peerUp(peer);
      }),
      t.onPeerDown((peer) => {
        for (const set of this.holders.values()) set.delete(peer);
        for (const { download } of this.downloads.values()) download.peerDown(peer);
        for (const pending of this.queries.values()) {
          pending.waiting.delete(peer);
          if (pending.waiting.size === 0) pending.finish();
        }
      }),
    );
    // Downloads that were running when the node stopped (or was killed) go on from their bitmaps.
    for (const id of this.index.activeDownloads()) {
      const stored = this.index.get(id);
      if (!stored) continue;
      this.options.logger.info(`resuming the download of genome "${stored.manifest.name}" (${id.slice(0, 12)}…)`);
      this.download(id).catch((error: Error) => this.options.logger.warn(`genome ${id.slice(0, 12)}…: ${error.message}`));
    }
    this.announce();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    for (const { download } of this.downloads.values()) download.stop();
    this.downloads.clear();
    for (const pending of this.queries.values()) pending.finish();
    this.indexValue = undefined;
    await this.blobs.close();
  }

  // ------------------------------------------------------------------ API

  async publish(params: GenomePublishParams): Promise<GenomeSummary> {
    const { id, manifest } = await buildGenome({ ...checkPublishParams(params), now: this.options.clock.now(), maxBytes: this.maxGenomeBytes }, this.blobs, this.options.identity);
    this.index.addManifest(id, manifest, true, this.options.clock.now());
    this.options.logger.info(`published genome "${manifest.name}" (${id.slice(0, 12)}…, ${manifestSize(manifest)} bytes)`);
    this.announce();
    this.emit('changed');
    return this.summary(id, manifest, true);
  }

  /** Adds a manifest received another way (a file): checked like one from the mesh. */
  importManifest(value: unknown): string {
    const id = verifyManifest(value);
    this.remember(id, value as GenomeManifest);
    return id;
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

  /** Searches the mesh: every up peer answers with its matching genomes, or the timeout ends it. */
  query(value: GenomeQuery): Promise<GenomeResult[]> {
    const query = normaliseQuery(value);
    const qid = randomUUID();
    const results = new Map<string, GenomeResult>();
    for (const genome of this.index.list()) if (genome.local) this.addResult(results, query, genome.id, genome.manifest, undefined);
    const peers = this.options.transport.upPeers();
    return new Promise<GenomeResult[]>((resolve) => {
      const pendingTimer: { handle?: TimerHandle } = {};
      const finish = () => {
        if (!this.queries.delete(qid)) return;
        if (pendingTimer.handle) {
          pendingTimer.handle.cancel();
          this.timers.delete(pendingTimer.handle);
        }
        resolve([...results.values()].sort((a, b) => b.rank - a.rank || a.id.localeCompare(b.id)).slice(0, query.maxResults));
      };
      this.queries.set(qid, { query, results, waiting: new Set(peers), taken: new Map(), finish });
      if (peers.length === 0 || this.stopped) {
        finish();
        return;
      }
      pendingTimer.handle = this.options.clock.setTimeout(finish, query.timeoutMs);
      this.timers.add(pendingTimer.handle);
      const message: GenomeQueryMessage = { qid, query };
      this.options.transport.publish(genomeTopics.query, message);
    });
  }

  /** Downloads a genome by id (seen on the mesh or resuming) or from its manifest. */
  download(target: string | GenomeManifest): Promise<GenomeProgress> {
    let id: string;
    let manifest: GenomeManifest | undefined;
    try {
      if (typeof target === 'string') {
        id = target;
        manifest = this.index.get(id)?.manifest ?? this.seen.get(id);
        if (!manifest) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is unknown here: query the mesh for it first`);
        verifyManifest(manifest, id);
      } else {
        id = verifyManifest(target);
        manifest = target;
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const running = this.downloads.get(id);
    if (running) return running.promise;
    if (this.index.get(id)?.local) {
      return Promise.resolve({ id, state: 'complete', bytes: manifestSize(manifest), totalBytes: manifestSize(manifest), piecesDone: 0, pieces: 0, sources: [] });
    }
    const promise = this.startDownload(id, manifest);
    return promise;
  }

  /** Stops a download; its verified pieces stay for a later download of the same genome. */
  cancel(id: string): void {
    const running = this.downloads.get(id);
    if (!running) return;
    this.downloads.delete(id);
    this.index.setDownload(id, 'cancelled', this.options.clock.now());
    const progress = running.download.progress('cancelled', 'the download was cancelled');
    running.download.stop();
    this.emit('progress', progress);
  }

  /** Deletes the local copy (blobs no other stored genome uses). */
  async remove(id: string): Promise<void> {
    const stored = this.index.get(id);
    if (!stored) throw new GenomeError('not-found', `genome ${id.slice(0, 12)}… is not stored here`);
    this.cancel(id);
    for (const layer of stored.manifest.layers) {
      if (this.index.blobUsedElsewhere(layer.blob, id)) continue;
      await this.blobs.remove(layer.blob);
      this.index.dropBitmap(layer.blob);
    }
    this.index.remove(id);
    this.seen.set(id, stored.manifest);
    this.announce();
    this.emit('changed');
  }

  /** Node ids that announced they hold the genome. */
  holdersOf(id: string): string[] {
    return [...(this.holders.get(id) ?? [])];
  }

  // ------------------------------------------------------------------ downloads

  private async startDownload(id: string, manifest: GenomeManifest): Promise<GenomeProgress> {
    const size = manifestSize(manifest);
    if (size > this.maxGenomeBytes) throw new GenomeError('too-large', `genome "${manifest.name}" is ${overLimit(size, this.maxGenomeBytes)} (the maximum genome size here: setting personaMesh.genomes.maxSizeMB, CLI --genome-max-mb)`);
    if (manifest.layers.some((layer) => layer.kind === 'lora') && !manifest.baseModel) throw new GenomeError('bad-manifest', `genome "${manifest.name}" has a LoRA layer but names no base model`);
    const free = await this.blobs.freeBytes();
    if (free - size < diskReserveBytes) throw new GenomeError('no-space', `not enough disk space for genome "${manifest.name}": it needs ${formatBytes(size)}, ${formatBytes(free)} are free in ${this.blobs.root} (and ${formatBytes(diskReserveBytes)} stay free)`);
    if (this.stopped) throw new GenomeError('cancelled', 'the node is stopping');
    this.index.addManifest(id, manifest, false, this.options.clock.now());
    this.index.setDownload(id, 'active', this.options.clock.now());
    const download = new Download({
      id,
      manifest,
      index: this.index,
      blobs: this.blobs,
      clock: this.options.clock,
      random: this.random,
      logger: this.options.logger,
      send: (peer, message) => this.options.transport.sendTo(peer, genomeTopics.direct(peer), message),
      upPeers: () => this.options.transport.upPeers(),
      ...(this.options.maxBytesPerSecond ? { maxBytesPerSecond: this.options.maxBytesPerSecond } : {}),
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
      ...(this.options.requestWindow ? { requestWindow: this.options.requestWindow } : {}),
    });
    const promise = new Promise<GenomeProgress>((resolve, reject) => {
      download.on('progress', (progress) => {
        if (progress.state === 'active') this.emit('progress', progress);
      });
      download.on('piece', (piece) => this.emit('piece', { id, ...piece }));
      download.on('bad-piece', (piece) => this.emit('bad-piece', { id, ...piece }));
      download.on('done', () => {
        void this.completeDownload(id, manifest, download).then(resolve, reject);
      });
      download.on('failed', (error) => {
        this.downloads.delete(id);
        this.index.setDownload(id, 'failed', this.options.clock.now(), error.message);
        download.stop();
        reject(error);
      });
    });
    this.downloads.set(id, { download, promise });
    this.options.logger.info(`downloading genome "${manifest.name}" (${id.slice(0, 12)}…, ${formatBytes(size)}, ${download.piecesDone} pieces already here)`);
    download.start();
    return promise;
  }

  private async completeDownload(id: string, manifest: GenomeManifest, download: Download): Promise<GenomeProgress> {
    this.downloads.delete(id);
    download.stop();
    try {
      for (const layer of manifest.layers) {
        if (layer.kind !== 'lora') continue;
        await checkLoraAdapter(this.blobs.path(layer.blob), `the LoRA layer of genome "${manifest.name}"`, manifest.baseModel?.architecture);
      }
    } catch (error) {
      const message = (error as Error).message;
      this.index.setDownload(id, 'failed', this.options.clock.now(), message);
      const progress = download.progress('failed', message);
      this.emit('progress', progress);
      throw error;
    }
    this.index.markLocal(id);
    this.index.setDownload(id, 'complete', this.options.clock.now());
    const progress = download.progress('complete');
    this.options.logger.info(`genome "${manifest.name}" (${id.slice(0, 12)}…) downloaded from ${progress.sources.length} peer(s)`);
    this.emit('progress', progress);
    this.announce();
    this.emit('changed');
    return progress;
  }

  // ------------------------------------------------------------------ mesh

  private announce(): void {
    if (this.stopped || !this.indexValue) return;
    const message: GenomeAnnounce = { genomes: this.index.localIds() };
    this.options.transport.publish(genomeTopics.announce, message);
  }

  /**
   * A node that (re)joins the mesh with its first peer tells everyone what it holds; a further
   * peer only needs telling itself. A mesh-wide announce on every session up made session churn
   * a broadcast storm (far over the origin's budget), and those broadcasts overtook the node's
   * chat messages, which a receiver then dropped as late.
   */
  private announceOnPeerUp(peer: string): void {
    if (this.stopped || !this.indexValue) return;
    if (this.options.transport.upPeers().length <= 1) return this.announce();
    const message: GenomeAnnounce = { genomes: this.index.localIds() };
    this.options.transport.sendTo(peer, genomeTopics.announce, message);
  }

  private onAnnounce(message: PortMessage): void {
    const body = message.body as Partial<GenomeAnnounce> | undefined;
    if (!body || !Array.isArray(body.genomes)) return this.malformed(message.from, 'announce');
    for (const set of this.holders.values()) set.delete(message.from);
    for (const id of body.genomes.slice(0, 10_000)) {
      if (typeof id !== 'string' || id.length !== 64) continue;
      const set = this.holders.get(id) ?? new Set<string>();
      set.add(message.from);
      this.holders.set(id, set);
    }
  }

  private onQuery(message: PortMessage): void {
    const body = message.body as Partial<GenomeQueryMessage> | undefined;
    if (!body || typeof body.qid !== 'string' || body.qid.length > 64) return this.malformed(message.from, 'query');
    const query = normaliseQuery(body.query);
    const matches: { id: string; rank: number; manifest: GenomeManifest }[] = [];
    for (const genome of this.index.list()) {
      if (!genome.local || !this.offerable(genome.id, genome.manifest)) continue;
      const match = matchGenome(query, genome.manifest);
      if (match) matches.push({ id: genome.id, rank: match.rank, manifest: genome.manifest });
    }
    matches.sort((a, b) => b.rank - a.rank);
    const offered: SizedManifest[] = [];
    for (const { id, manifest } of matches.slice(0, query.maxResults)) {
      const bytes = Buffer.byteLength(JSON.stringify(manifest));
      if (bytes <= genomeAnswerLimits.maxManifestBytes) offered.push({ manifest, bytes });
      else this.refuseOwn(id, new GenomeError('too-large', `genome "${manifest.name}" (${id.slice(0, 12)}…): the manifest is ${overLimit(bytes, genomeAnswerLimits.maxManifestBytes)}`));
    }
    // Every node answers, even with nothing, so the asker can stop waiting once all have; one
    // oversized message would be dropped whole, so a long answer goes in parts.
    const qid = body.qid;
    const parts = answerParts(offered);
    parts.forEach((manifests, i) => this.sendDirect(message.from, { t: 'results', qid, manifests, ...(i < parts.length - 1 ? { more: true } : {}) }));
  }

  /** A stored manifest passes the shape check before it goes in an answer (the database may have been altered). */
  private offerable(id: string, manifest: GenomeManifest): boolean {
    if (this.unofferable.has(id)) return false;
    try {
      checkManifestShape(manifest);
      return true;
    } catch (error) {
      this.refuseOwn(id, error);
      return false;
    }
  }

  private refuseOwn(id: string, error: unknown): void {
    if (this.unofferable.has(id)) return;
    this.unofferable.add(id);
    const reason = (error as Error).message;
    this.options.logger.warn(`genome ${id.slice(0, 12)}… of this node's store is not offered to the mesh: ${reason}`);
    this.emit('rejected', { from: this.options.transport.localNodeId, code: error instanceof GenomeError ? error.code : 'bad-manifest', reason });
  }

  private onDirect(message: PortMessage): void {
    const body = message.body as GenomeDirect | undefined;
    if (!body || typeof body !== 'object') return this.malformed(message.from, 'direct message');
    switch (body.t) {
      case 'results':
        this.onResults(message.from, body);
        break;
      case 'have?':
        if (typeof body.blob !== 'string') return this.malformed(message.from, 'have?');
        this.answerHave(message.from, body.blob);
        break;
      case 'have':
        if (typeof body.blob !== 'string') return this.malformed(message.from, 'have');
        for (const { download } of this.downloads.values()) {
          if (download.blobsWanted().includes(body.blob)) download.onHave(message.from, body.blob, body.bitmap instanceof Uint8Array ? body.bitmap : undefined, body.complete === true);
        }
        break;
      case 'get':
        if (typeof body.blob !== 'string' || !Number.isInteger(body.piece)) return this.malformed(message.from, 'get');
        void this.servePiece(message.from, body.blob, body.piece);
        break;
      default:
        this.malformed(message.from, `direct message of type ${String((body as { t?: unknown }).t)}`);
    }
  }

  private remember(id: string, manifest: GenomeManifest): void {
    const known = this.seen.has(id) || this.index.get(id) !== undefined;
    this.seen.set(id, manifest);
    if (!known) this.emit('seen', id);
  }

  private onResults(from: string, body: Extract<GenomeDirect, { t: 'results' }>): void {
    const pending = this.queries.get(body.qid);
    if (!pending) return;
    if (body.more !== true) pending.waiting.delete(from);
    if (!Array.isArray(body.manifests)) this.malformed(from, 'results');
    const taken = pending.taken.get(from) ?? 0;
    const manifests = Array.isArray(body.manifests) ? body.manifests.slice(0, Math.max(0, pending.query.maxResults - taken)) : [];
    pending.taken.set(from, taken + manifests.length);
    for (const manifest of manifests) {
      let id: string;
      try {
        id = verifyManifest(manifest);
      } catch (error) {
        const code = error instanceof GenomeError ? error.code : 'bad-manifest';
        this.options.logger.warn(`dropped a genome manifest from ${from.slice(0, 7)}: ${(error as Error).message}`);
        this.emit('rejected', { from, reason: (error as Error).message, code });
        continue;
      }
      this.remember(id, manifest);
      const holders = this.holders.get(id) ?? new Set<string>();
      holders.add(from);
      this.holders.set(id, holders);
      this.addResult(pending.results, pending.query, id, manifest, from);
    }
    if (pending.waiting.size === 0) pending.finish();
  }

  private addResult(results: Map<string, GenomeResult>, query: Required<GenomeQuery>, id: string, manifest: GenomeManifest, holder: string | undefined): void {
    // Ranked here from the manifest itself: a peer's claim of a match is not trusted.
    const match = matchGenome(query, manifest);
    if (!match) return;
    const existing = results.get(id);
    if (existing) {
      if (holder && !existing.holders.includes(holder)) existing.holders.push(holder);
      return;
    }
    results.set(id, { id, manifest, compatibility: match.compatibility, rank: match.rank, holders: holder ? [holder] : [], local: this.index.get(id)?.local ?? false });
  }

  private answerHave(peer: string, blob: string): void {
    if (!/^[0-9a-f]{64}$/.test(blob)) return this.malformed(peer, 'have?');
    if (this.blobs.has(blob)) return this.sendDirect(peer, { t: 'have', blob, complete: true });
    const size = this.blobSize(blob);
    if (size !== undefined && this.index.hasBitmap(blob)) {
      // A downloader shares the pieces it has verified: more sources for the rarest pieces.
      return this.sendDirect(peer, { t: 'have', blob, bitmap: this.index.bitmap(blob, pieceCount(size)).bytes });
    }
    this.sendDirect(peer, { t: 'have', blob });
  }

  private async servePiece(peer: string, blob: string, piece: number): Promise<void> {
    // Addressed to the asker: a publish would be a broadcast that the overlay relays to every node.
    const reply = (message: GenomePieceMessage) => this.options.transport.sendTo(peer, genomeTopics.piece(peer), message, { priority: 'bulk' });
    const size = /^[0-9a-f]{64}$/.test(blob) ? this.blobSize(blob) : undefined;
    if (size === undefined || piece < 0 || piece >= pieceCount(size)) return reply({ blob, piece, error: 'no such piece here' });
    const busy = this.serving.get(peer) ?? 0;
    if (busy >= maxServingPerPeer) return reply({ blob, piece, error: 'busy' });
    this.serving.set(peer, busy + 1);
    try {
      const complete = this.blobs.has(blob);
      if (!complete && !this.index.bitmap(blob, pieceCount(size)).has(piece)) return reply({ blob, piece, error: 'no such piece here' });
      const { offset, length } = pieceRange(size, piece);
      const data = await this.blobs.readRange(blob, offset, length, !complete);
      if (!this.stopped) reply({ blob, piece, data });
    } catch (error) {
      this.options.logger.warn(`cannot serve piece ${piece} of blob ${blob.slice(0, 12)}… to ${peer.slice(0, 7)}: ${(error as Error).message}`);
      if (!this.stopped) reply({ blob, piece, error: 'read error' });
    } finally {
      const left = (this.serving.get(peer) ?? 1) - 1;
      if (left <= 0) this.serving.delete(peer);
      else this.serving.set(peer, left);
    }
  }

  private onPiece(message: PortMessage): void {
    const body = message.body as GenomePieceMessage | undefined;
    if (!body || typeof body.blob !== 'string' || !Number.isInteger(body.piece)) return this.malformed(message.from, 'piece');
    for (const { download } of this.downloads.values()) if (download.blobsWanted().includes(body.blob)) download.onPiece(message.from, body);
  }

  private blobSize(blob: string): number | undefined {
    let size = this.blobSizes.get(blob);
    if (size === undefined) {
      // Rebuilt on a miss only: pieces of one blob are asked for many times in a row.
      this.blobSizes.clear();
      for (const genome of this.index.list()) for (const layer of genome.manifest.layers) this.blobSizes.set(layer.blob, layer.size);
      size = this.blobSizes.get(blob);
    }
    return size;
  }

  private sendDirect(peer: string, message: GenomeDirect): void {
    if (!this.stopped) this.options.transport.sendTo(peer, genomeTopics.direct(peer), message);
  }

  private malformed(from: string, what: string): void {
    this.options.logger.debug(`dropped a malformed genome ${what} from ${from.slice(0, 7)}`);
  }

  private summary(id: string, manifest: GenomeManifest, local: boolean): GenomeSummary {
    const running = this.downloads.get(id);
    const progress = running?.download.progress('active');
    return {
      id,
      name: manifest.name,
      description: manifest.description,
      capabilities: manifest.capabilities,
      size: manifestSize(manifest),
      layers: manifest.layers.map((layer) => layer.kind),
      publisher: manifest.publisher,
      ...(manifest.metrics?.score !== undefined ? { score: manifest.metrics.score } : {}),
      seeders: this.holdersOf(id).length,
      local,
      ...(progress ? { progress: progress.totalBytes > 0 ? progress.bytes / progress.totalBytes : 0 } : {}),
    };
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

