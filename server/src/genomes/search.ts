/**
 * Searching the mesh for genomes, both ways: `query` asks every up peer and gathers their answers
 * (ranked here, from the manifests themselves), and `onQuery` answers a peer's query with the
 * matching genomes this node holds and can offer.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { PortMessage } from '../kernel/meshPort';
import { overLimit } from '../../../protocol/sizeLimit';
import { genomeAnswerLimits, genomeTopics, type GenomeDirect, type GenomeManifest, type GenomeQuery, type GenomeQueryMessage, type GenomeResult } from '../../../protocol/genomes';
import { answerParts, type SizedManifest } from './answer';
import type { GenomeCatalog } from './catalog';
import { GenomeError } from './errors';
import type { GenomeEvents } from './events';
import type { Holders } from './holders';
import type { PeerLink } from './link';
import { checkManifestShape, verifyManifest } from './manifest';
import { matchGenome, normaliseQuery } from './matching';
import type { GenomeTransport } from './transport';

export interface GenomeSearchOptions {
  catalog: Pick<GenomeCatalog, 'index' | 'isLocal' | 'remember'>;
  holders: Pick<Holders, 'add'>;
  transport: GenomeTransport;
  link: PeerLink;
  clock: Clock;
  logger: Logger;
  events: GenomeEvents;
}

interface PendingQuery {
  query: Required<GenomeQuery>;
  results: Map<string, GenomeResult>;
  waiting: Set<string>;
  /** Manifests taken from each peer's answer: at most `query.maxResults`, however many parts it sends. */
  taken: Map<string, number>;
  finish: () => void;
}

export class GenomeSearch {
  private readonly queries = new Map<string, PendingQuery>();
  private readonly timers = new Set<TimerHandle>();
  /** Stored genomes this node cannot offer (altered in its database, too large to send): refused once. */
  private readonly unofferable = new Set<string>();

  constructor(private readonly options: GenomeSearchOptions) {}

  /** Ends every query with what it has, and frees its timer. */
  stop(): void {
    for (const timer of this.timers) timer.cancel();
    this.timers.clear();
    for (const pending of this.queries.values()) pending.finish();
  }

  /** Searches the mesh: every up peer answers with its matching genomes, or the timeout ends it. */
  query(value: GenomeQuery): Promise<GenomeResult[]> {
    const { catalog, clock, transport, link } = this.options;
    const query = normaliseQuery(value);
    const qid = randomUUID();
    const results = new Map<string, GenomeResult>();
    for (const genome of catalog.index.list()) if (genome.local) this.addResult(results, query, genome.id, genome.manifest, undefined);
    const peers = transport.upPeers();
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
      if (peers.length === 0 || link.stopped) {
        finish();
        return;
      }
      pendingTimer.handle = clock.setTimeout(finish, query.timeoutMs);
      this.timers.add(pendingTimer.handle);
      const message: GenomeQueryMessage = { qid, query };
      transport.publish(genomeTopics.query, message);
    });
  }

  /** A peer that went down will not answer: a query waiting only for it ends now. */
  peerDown(peer: string): void {
    for (const pending of this.queries.values()) {
      pending.waiting.delete(peer);
      if (pending.waiting.size === 0) pending.finish();
    }
  }

  /** Answers a peer's query with the matching genomes held here. */
  onQuery(message: PortMessage): void {
    const { catalog, link } = this.options;
    const body = message.body as Partial<GenomeQueryMessage> | undefined;
    if (!body || typeof body.qid !== 'string' || body.qid.length > 64) return link.malformed(message.from, 'query');
    const query = normaliseQuery(body.query);
    const matches: { id: string; rank: number; manifest: GenomeManifest }[] = [];
    for (const genome of catalog.index.list()) {
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
    parts.forEach((manifests, i) => link.sendDirect(message.from, { t: 'results', qid, manifests, ...(i < parts.length - 1 ? { more: true } : {}) }));
  }

  /** A part of a peer's answer to one of this node's queries. */
  onResults(from: string, body: Extract<GenomeDirect, { t: 'results' }>): void {
    const { catalog, holders, logger, events, link } = this.options;
    const pending = this.queries.get(body.qid);
    if (!pending) return;
    if (body.more !== true) pending.waiting.delete(from);
    if (!Array.isArray(body.manifests)) link.malformed(from, 'results');
    const taken = pending.taken.get(from) ?? 0;
    const manifests = Array.isArray(body.manifests) ? body.manifests.slice(0, Math.max(0, pending.query.maxResults - taken)) : [];
    pending.taken.set(from, taken + manifests.length);
    for (const manifest of manifests) {
      let id: string;
      try {
        id = verifyManifest(manifest);
      } catch (error) {
        const code = error instanceof GenomeError ? error.code : 'bad-manifest';
        logger.warn(`dropped a genome manifest from ${from.slice(0, 7)}: ${(error as Error).message}`);
        events.emit('rejected', { from, reason: (error as Error).message, code });
        continue;
      }
      catalog.remember(id, manifest);
      holders.add(id, from);
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
    results.set(id, { id, manifest, compatibility: match.compatibility, rank: match.rank, holders: holder ? [holder] : [], local: this.options.catalog.isLocal(id) });
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
    this.options.events.emit('rejected', { from: this.options.transport.localNodeId, code: error instanceof GenomeError ? error.code : 'bad-manifest', reason });
  }
}
