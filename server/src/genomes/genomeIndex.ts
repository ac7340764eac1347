/**
 * The genomes part of the node's database (migration 6): manifests held or downloading,
 * downloads, and the bitmap of verified pieces of each partial blob. Every write is one
 * statement or transaction, so a kill -9 leaves either the old or the new state.
 */
import type { GenomeDownloadState, GenomeManifest } from '../../../protocol/genomes';
import type { Db } from '../store/database';
import { manifestSize } from './manifest';
import { Bitmap } from './pieces';

export interface StoredGenome {
  id: string;
  manifest: GenomeManifest;
  local: boolean;
  addedAt: number;
}

export interface StoredDownload {
  id: string;
  state: GenomeDownloadState;
  error?: string;
}

interface ManifestRow {
  id: string;
  body: string;
  local: number;
  added_at: number;
}

export class GenomeIndex {
  constructor(private readonly db: Db) {}

  /** Adds a manifest (already verified) if it is new; never lowers `local`. */
  addManifest(id: string, manifest: GenomeManifest, local: boolean, now: number): void {
    this.db
      .prepare(
        `INSERT INTO genome_manifests (id, body, name, publisher, size, local, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET local = max(local, excluded.local)`,
      )
      .run(id, JSON.stringify(manifest), manifest.name, manifest.publisher, manifestSize(manifest), local ? 1 : 0, now);
  }

  get(id: string): StoredGenome | undefined {
    const row = this.db.prepare('SELECT id, body, local, added_at FROM genome_manifests WHERE id = ?').get(id) as ManifestRow | undefined;
    return row && toStored(row);
  }

  /** Every manifest stored (held or downloading), oldest first. */
  list(): StoredGenome[] {
    return (this.db.prepare('SELECT id, body, local, added_at FROM genome_manifests ORDER BY added_at, id').all() as ManifestRow[]).map(toStored);
  }

  localIds(): string[] {
    return (this.db.prepare('SELECT id FROM genome_manifests WHERE local = 1 ORDER BY added_at, id').all() as { id: string }[]).map((row) => row.id);
  }

  markLocal(id: string): void {
    this.db.prepare('UPDATE genome_manifests SET local = 1 WHERE id = ?').run(id);
  }

  remove(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM genome_manifests WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM genome_downloads WHERE id = ?').run(id);
    })();
  }

  /** Whether another held genome still uses this blob (deleting one genome keeps shared blobs). */
  blobUsedElsewhere(blob: string, exceptId: string): boolean {
    return this.list().some((genome) => genome.id !== exceptId && genome.manifest.layers.some((layer) => layer.blob === blob));
  }

  setDownload(id: string, state: GenomeDownloadState, now: number, error?: string): void {
    this.db
      .prepare(
        `INSERT INTO genome_downloads (id, state, error, started_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, error = excluded.error, updated_at = excluded.updated_at`,
      )
      .run(id, state, error ?? null, now, now);
  }

  download(id: string): StoredDownload | undefined {
    const row = this.db.prepare('SELECT id, state, error FROM genome_downloads WHERE id = ?').get(id) as { id: string; state: GenomeDownloadState; error: string | null } | undefined;
    return row && { id: row.id, state: row.state, ...(row.error ? { error: row.error } : {}) };
  }

  /** Downloads that were running when the node stopped (or was killed). */
  activeDownloads(): string[] {
    return (this.db.prepare("SELECT id FROM genome_downloads WHERE state = 'active' ORDER BY started_at").all() as { id: string }[]).map((row) => row.id);
  }

  bitmap(blob: string, pieces: number): Bitmap {
    const row = this.db.prepare('SELECT pieces, bitmap FROM genome_blob_pieces WHERE blob = ?').get(blob) as { pieces: number; bitmap: Buffer } | undefined;
    return row && row.pieces === pieces ? new Bitmap(pieces, row.bitmap) : new Bitmap(pieces);
  }

  hasBitmap(blob: string): boolean {
    return this.db.prepare('SELECT 1 FROM genome_blob_pieces WHERE blob = ?').get(blob) !== undefined;
  }

  saveBitmap(blob: string, bitmap: Bitmap): void {
    this.db
      .prepare('INSERT INTO genome_blob_pieces (blob, pieces, bitmap) VALUES (?, ?, ?) ON CONFLICT (blob) DO UPDATE SET pieces = excluded.pieces, bitmap = excluded.bitmap')
      .run(blob, bitmap.size, bitmap.bytes);
  }

  dropBitmap(blob: string): void {
    this.db.prepare('DELETE FROM genome_blob_pieces WHERE blob = ?').run(blob);
  }
}

function toStored(row: ManifestRow): StoredGenome {
  return { id: row.id, manifest: JSON.parse(row.body) as GenomeManifest, local: row.local === 1, addedAt: row.added_at };
}
