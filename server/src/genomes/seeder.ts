/**
 * Serving this node's genomes to peers: which pieces of a blob it has (`have?`), and the pieces
 * themselves (`get`), from complete blobs and from the verified pieces of partial ones, so a node
 * still downloading a genome is already a source for it. A peer gets at most
 * {@link maxServingPerPeer} piece reads queued at once.
 */
import type { Logger } from '../kernel/log';
import { genomeTopics, type GenomePieceMessage } from '../../../protocol/genomes';
import type { GenomeCatalog } from './catalog';
import type { PeerLink } from './link';
import { pieceCount, pieceRange } from './pieces';
import type { GenomeTransport } from './transport';

/** Piece reads queued at once for one peer: downloaders keep a few in flight, more is abuse. */
const maxServingPerPeer = 32;
const hex64 = /^[0-9a-f]{64}$/;

export interface SeederOptions {
  catalog: Pick<GenomeCatalog, 'index' | 'blobs'>;
  transport: GenomeTransport;
  link: PeerLink;
  logger: Logger;
}

export class Seeder {
  private readonly serving = new Map<string, number>();
  private readonly blobSizes = new Map<string, number>();

  constructor(private readonly options: SeederOptions) {}

  /** Answers `have?`: the whole blob, the verified pieces of a partial one, or nothing. */
  answerHave(peer: string, blob: string): void {
    const { catalog, link } = this.options;
    if (!hex64.test(blob)) return link.malformed(peer, 'have?');
    if (catalog.blobs.has(blob)) return link.sendDirect(peer, { t: 'have', blob, complete: true });
    const size = this.blobSize(blob);
    if (size !== undefined && catalog.index.hasBitmap(blob)) {
      // A downloader shares the pieces it has verified: more sources for the rarest pieces.
      return link.sendDirect(peer, { t: 'have', blob, bitmap: catalog.index.bitmap(blob, pieceCount(size)).bytes });
    }
    link.sendDirect(peer, { t: 'have', blob });
  }

  /** Answers `get` with the piece, or an error saying why not. */
  async servePiece(peer: string, blob: string, piece: number): Promise<void> {
    const { catalog, link, logger, transport } = this.options;
    // Addressed to the asker: a publish would be a broadcast that the overlay relays to every node.
    const reply = (message: GenomePieceMessage) => transport.sendTo(peer, genomeTopics.piece(peer), message, { priority: 'bulk' });
    const size = hex64.test(blob) ? this.blobSize(blob) : undefined;
    if (size === undefined || piece < 0 || piece >= pieceCount(size)) return reply({ blob, piece, error: 'no such piece here' });
    const busy = this.serving.get(peer) ?? 0;
    if (busy >= maxServingPerPeer) return reply({ blob, piece, error: 'busy' });
    this.serving.set(peer, busy + 1);
    try {
      const complete = catalog.blobs.has(blob);
      if (!complete && !catalog.index.bitmap(blob, pieceCount(size)).has(piece)) return reply({ blob, piece, error: 'no such piece here' });
      const { offset, length } = pieceRange(size, piece);
      const data = await catalog.blobs.readRange(blob, offset, length, !complete);
      if (!link.stopped) reply({ blob, piece, data });
    } catch (error) {
      logger.warn(`cannot serve piece ${piece} of blob ${blob.slice(0, 12)}… to ${peer.slice(0, 7)}: ${(error as Error).message}`);
      if (!link.stopped) reply({ blob, piece, error: 'read error' });
    } finally {
      const left = (this.serving.get(peer) ?? 1) - 1;
      if (left <= 0) this.serving.delete(peer);
      else this.serving.set(peer, left);
    }
  }

  private blobSize(blob: string): number | undefined {
    let size = this.blobSizes.get(blob);
    if (size === undefined) {
      // Rebuilt on a miss only: pieces of one blob are asked for many times in a row.
      this.blobSizes.clear();
      for (const genome of this.options.catalog.index.list()) for (const layer of genome.manifest.layers) this.blobSizes.set(layer.blob, layer.size);
      size = this.blobSizes.get(blob);
    }
    return size;
  }
}
