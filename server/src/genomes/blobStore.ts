/**
 * The content-addressed blob store in the data dir: `genomes/blobs/{sha256}` holds complete,
 * verified blobs; `genomes/partial/{sha256}` holds blobs being downloaded, written piece by piece
 * at their offsets (which pieces are there is recorded in the database, not guessed from the file).
 * A partial blob becomes a blob only after the whole file hashes to its name.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync, mkdirSync } from 'node:fs';
import { open, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GenomeError } from './errors';
import { sha256Hex } from './pieces';

const hex64 = /^[0-9a-f]{64}$/;

export class BlobStore {
  private readonly blobs: string;
  private readonly partial: string;

  constructor(readonly root: string) {
    this.blobs = join(root, 'blobs');
    this.partial = join(root, 'partial');
  }

  /** Creates the folders (synchronously: once at start). */
  open(): void {
    mkdirSync(this.blobs, { recursive: true });
    mkdirSync(this.partial, { recursive: true });
  }

  path(blob: string): string {
    if (!hex64.test(blob)) throw new GenomeError('bad-manifest', `not a blob name: ${blob.slice(0, 80)}`);
    return join(this.blobs, blob);
  }

  partialPath(blob: string): string {
    if (!hex64.test(blob)) throw new GenomeError('bad-manifest', `not a blob name: ${blob.slice(0, 80)}`);
    return join(this.partial, blob);
  }

  has(blob: string): boolean {
    return existsSync(this.path(blob));
  }

  /** Stores data under its hash (write then rename: never a half-written blob). */
  async put(data: Buffer): Promise<string> {
    const blob = sha256Hex(data);
    const file = this.path(blob);
    if (existsSync(file)) return blob;
    const temporary = `${file}.tmp-${process.pid}`;
    await writeFile(temporary, data);
    await rename(temporary, file);
    return blob;
  }

  async read(blob: string): Promise<Buffer> {
    return readFile(this.path(blob));
  }

  /** Reads `length` bytes at `offset` from the complete blob, or else from the partial one. */
  async readRange(blob: string, offset: number, length: number, fromPartial: boolean): Promise<Buffer> {
    const handle = await open(fromPartial ? this.partialPath(blob) : this.path(blob), 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new GenomeError('io', `blob ${blob.slice(0, 12)}… is shorter than expected (read ${bytesRead} of ${length} bytes at ${offset})`);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  async writePiece(blob: string, offset: number, data: Uint8Array): Promise<void> {
    // 'a' would ignore the position on Linux and 'w' truncates: read-write, created once.
    const handle = await open(this.partialPath(blob), constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      await handle.write(data, 0, data.length, offset);
    } finally {
      await handle.close();
    }
  }

  /** Moves a fully downloaded blob into place after checking the whole file's hash. */
  async complete(blob: string): Promise<void> {
    const partial = this.partialPath(blob);
    const hash = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      createReadStream(partial)
        .on('data', (chunk) => hash.update(chunk))
        .on('error', reject)
        .on('end', resolve);
    });
    const actual = hash.digest('hex');
    if (actual !== blob) throw new GenomeError('io', `blob ${blob.slice(0, 12)}… hashes to ${actual.slice(0, 12)}… after download (the partial file was changed on disk)`);
    await rename(partial, this.path(blob));
  }

  async remove(blob: string): Promise<void> {
    await rm(this.path(blob), { force: true });
    await rm(this.partialPath(blob), { force: true });
  }

  async removePartial(blob: string): Promise<void> {
    await rm(this.partialPath(blob), { force: true });
  }

  /** Free bytes on the file system of the store. */
  async freeBytes(): Promise<number> {
    const stats = await statfs(this.root);
    return stats.bavail * stats.bsize;
  }
}
