/**
 * The genomes of this node: publishing, the local store (manifests in libsql, blobs on disk),
 * announcing what it holds, answering queries and piece requests from peers, and downloads.
 *
 * In-process API for other components (the evolution loop among them):
 * `query(q)` searches the mesh, `download(idOrManifest)` fetches a genome and resolves when it is
 * complete and checked, `manifest(id)` / `layerData(id, kind)` read a local genome, `remove(id)`
 * deletes the local copy, `publish(params)` builds and announces one. Applying to a persona is in
 * apply.ts.
 *
 * A facade over the parts by role: the catalog (catalog.ts: the store, publish, list, delete),
 * who holds what (holders.ts: announces), search (search.ts: queries both ways), downloads
 * (downloads.ts) and seeding (seeder.ts: serving pieces). It owns the subscriptions and routes each
 * message from the mesh to its part; start() and stop() open and free them all.
 */
import { EventEmitter } from 'node:events';
import type { Clock, Random } from '../kernel/clock';
import type { Identity } from '../kernel/identity';
import type { Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import type { PortMessage } from '../kernel/meshPort';
import { cryptoRandom } from '../kernel/random';
import {
  genomeTopics,
  type GenomeDirect,
  type GenomeLayerKind,
  type GenomeManifest,
  type GenomePieceMessage,
  type GenomeProgress,
  type GenomePublishParams,
  type GenomeQuery,
  type GenomeResult,
  type GenomeSummary,
} from '../../../protocol/genomes';
import type { Db } from '../store/database';
import type { BlobStore } from './blobStore';
import { GenomeCatalog } from './catalog';
import { GenomeDownloads } from './downloads';
import type { GenomeServiceEvents } from './events';
import { Holders } from './holders';
import { PeerLink } from './link';
import type { RequestWindowOptions } from './requestWindow';
import { GenomeSearch } from './search';
import { Seeder } from './seeder';
import type { GenomeTransport } from './transport';

export type { GenomeServiceEvents } from './events';
export { formatBytes } from './downloads';

export const defaultMaxGenomeBytes = 2 * 1024 * 1024 * 1024;

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

export class GenomeService extends EventEmitter<GenomeServiceEvents> implements Component {
  readonly name = 'genomes';
  readonly blobs: BlobStore;
  private readonly offs: (() => void)[] = [];
  private readonly link: PeerLink;
  private readonly catalog: GenomeCatalog;
  private readonly holders: Holders;
  private readonly search: GenomeSearch;
  private readonly downloads: GenomeDownloads;
  private readonly seeder: Seeder;

  constructor(private readonly options: GenomeServiceOptions) {
    super();
    const { transport, clock, logger } = options;
    this.link = new PeerLink(transport, logger);
    const link = this.link;
    // Each part gets only what it needs of the others; a closure reaches a part built after it.
    this.catalog = new GenomeCatalog({
      dataDir: options.dataDir,
      store: options.store,
      identity: options.identity,
      clock,
      logger,
      maxGenomeBytes: this.maxGenomeBytes,
      events: this,
      seeders: (id) => this.holdersOf(id).length,
      downloading: (id) => this.downloads.progressOf(id),
    });
    const catalog = this.catalog;
    this.blobs = catalog.blobs;
    this.holders = new Holders({ transport, link, held: () => (catalog.isOpen ? catalog.index.localIds() : undefined) });
    this.search = new GenomeSearch({ catalog, holders: this.holders, transport, link, clock, logger, events: this });
    this.downloads = new GenomeDownloads({
      catalog,
      transport,
      link,
      clock,
      random: options.random ?? cryptoRandom,
      logger,
      events: this,
      maxGenomeBytes: this.maxGenomeBytes,
      maxBytesPerSecond: options.maxBytesPerSecond,
      requestTimeoutMs: options.requestTimeoutMs,
      requestWindow: options.requestWindow,
      announce: () => this.holders.announce(),
    });
    this.seeder = new Seeder({ catalog, transport, link, logger });
  }

  get maxGenomeBytes(): number {
    return this.options.maxGenomeBytes ?? defaultMaxGenomeBytes;
  }

  start(): Promise<void> {
    this.catalog.open();
    const t = this.options.transport;
    const self = t.localNodeId;
    this.offs.push(
      t.subscribe(genomeTopics.announce, (m) => this.holders.onAnnounce(m)),
      t.subscribe(genomeTopics.query, (m) => this.search.onQuery(m)),
      t.subscribe(genomeTopics.direct(self), (m) => this.onDirect(m)),
      t.subscribe(genomeTopics.piece(self), (m) => this.onPiece(m)),
      t.onPeerUp((peer) => {
        this.holders.announceOnPeerUp(peer);
        this.downloads.peerUp(peer);
      }),
      t.onPeerDown((peer) => {
        this.holders.peerDown(peer);
        this.downloads.peerDown(peer);
        this.search.peerDown(peer);
      }),
    );
    this.downloads.resume();
    this.holders.announce();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.link.stop();
    for (const off of this.offs.splice(0)) off();
    this.search.stop();
    this.downloads.stop();
    await this.catalog.close();
  }

  // ------------------------------------------------------------------ API

  async publish(params: GenomePublishParams): Promise<GenomeSummary> {
    const { id, manifest } = await this.catalog.publish(params);
    this.holders.announce();
    this.emit('changed');
    return this.catalog.summary(id, manifest, true);
  }

  /** Adds a manifest received another way (a file): checked like one from the mesh. */
  importManifest(value: unknown): string {
    return this.catalog.importManifest(value);
  }

  manifest(id: string): GenomeManifest | undefined {
    return this.catalog.manifest(id);
  }

  isLocal(id: string): boolean {
    return this.catalog.isLocal(id);
  }

  /** The data of a local genome's layers of one kind. */
  layerData(id: string, kind: GenomeLayerKind): Promise<{ blob: string; path: string; data: Buffer; scale?: number }[]> {
    return this.catalog.layerData(id, kind);
  }

  /** Local genomes and those seen on the mesh. */
  list(): { local: GenomeSummary[]; network: GenomeSummary[] } {
    return this.catalog.list();
  }

  /** Searches the mesh: every up peer answers with its matching genomes, or the timeout ends it. */
  query(value: GenomeQuery): Promise<GenomeResult[]> {
    return this.search.query(value);
  }

  /** Downloads a genome by id (seen on the mesh or resuming) or from its manifest. */
  download(target: string | GenomeManifest): Promise<GenomeProgress> {
    return this.downloads.download(target);
  }

  /** Stops a download; its verified pieces stay for a later download of the same genome. */
  cancel(id: string): void {
    this.downloads.cancel(id);
  }

  /** Deletes the local copy (blobs no other stored genome uses). */
  async remove(id: string): Promise<void> {
    const stored = this.catalog.stored(id);
    this.downloads.cancel(id);
    await this.catalog.remove(id, stored);
    this.holders.announce();
    this.emit('changed');
  }

  /** Node ids that announced they hold the genome. */
  holdersOf(id: string): string[] {
    return this.holders.of(id);
  }

  // ------------------------------------------------------------------ routing

  private onDirect(message: PortMessage): void {
    const body = message.body as GenomeDirect | undefined;
    if (!body || typeof body !== 'object') return this.link.malformed(message.from, 'direct message');
    switch (body.t) {
      case 'results':
        this.search.onResults(message.from, body);
        break;
      case 'have?':
        if (typeof body.blob !== 'string') return this.link.malformed(message.from, 'have?');
        this.seeder.answerHave(message.from, body.blob);
        break;
      case 'have':
        if (typeof body.blob !== 'string') return this.link.malformed(message.from, 'have');
        this.downloads.onHave(message.from, body);
        break;
      case 'get':
        if (typeof body.blob !== 'string' || !Number.isInteger(body.piece)) return this.link.malformed(message.from, 'get');
        void this.seeder.servePiece(message.from, body.blob, body.piece);
        break;
      default:
        this.link.malformed(message.from, `direct message of type ${String((body as { t?: unknown }).t)}`);
    }
  }

  private onPiece(message: PortMessage): void {
    const body = message.body as GenomePieceMessage | undefined;
    if (!body || typeof body.blob !== 'string' || !Number.isInteger(body.piece)) return this.link.malformed(message.from, 'piece');
    this.downloads.onPiece(message.from, body);
  }
}
