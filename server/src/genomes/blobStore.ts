/**
 * The content-addressed blob store in the data dir: `genomes/blobs/{sha256}` holds complete,
 * verified blobs; `genomes/partial/{sha256}` holds blobs being downloaded, written piece by piece
 * at their offsets (which pieces are there is recorded in the database, not guessed from the file).
 * A partial blob becomes a blob only after the whole file hashes to its name.
 *
 * Files being read or written piece by piece stay open (a few at a time): a transfer reads or
 * writes hundreds of pieces of one file in a row, and an open/close pair per piece costs two
 * more trips through the thread pool.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync } from 'node:fs';
import { open, readFile, rename, rm, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../kernel/log';
import { makePrivateDir, makePrivateTree, privateFileMode } from '../kernel/privateFiles';
import { GenomeError } from './errors';
import { sha256Hex } from './pieces';

const hex64 = /^[0-9a-f]{64}$/;
/** Open files kept at most (least recently used closed first). */
const maxOpenFiles = 8;

export class BlobStore {
  private readonly blobs: string;
  private readonly partial: string;
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {
    this.blobs = join(root, 'blobs');
    this.partial = join(root, 'partial');
  }

  /** Creates the folders, and makes all it holds private to the user (synchronously: once at start). */
  open(): void {
    makePrivateTree(this.root, this.logger);
    makePrivateDir(this.blobs, this.logger);
    makePrivateDir(this.partial, this.logger);
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
    await writeFile(temporary, data, { mode: privateFileMode });
    await rename(temporary, file);
    return blob;
  }

  async read(blob: string): Promise<Buffer> {
    return readFile(this.path(blob));
  }

  /** Reads `length` bytes at `offset` from the complete blob, or else from the partial one. */
  async readRange(blob: string, offset: number, length: number, fromPartial: boolean): Promise<Buffer> {
    const handle = await this.handle(fromPartial ? this.partialPath(blob) : this.path(blob));
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    if (bytesRead !== length) throw new GenomeError('io', `blob ${blob.slice(0, 12)}… is shorter than expected (read ${bytesRead} of ${length} bytes at ${offset})`);
    return buffer;
  }

  async writePiece(blob: string, offset: number, data: Uint8Array): Promise<void> {
    const handle = await this.handle(this.partialPath(blob));
    await handle.write(data, 0, data.length, offset);
  }

  /**
   * The open file at `path`, read-write and created if missing for partial blobs ('a' would
   * ignore positions on Linux and 'w' truncates), read-only for complete ones.
   */
  private handle(path: string): Promise<FileHandle> {
    let handle = this.handles.get(path);
    if (handle) {
      // Most recently used last.
      this.handles.delete(path);
      this.handles.set(path, handle);
      return handle;
    }
    const partial = path.startsWith(this.partial);
    handle = open(path, partial ? constants.O_RDWR | constants.O_CREAT : constants.O_RDONLY, privateFileMode);
    this.handles.set(path, handle);
    handle.catch(() => this.handles.get(path) === handle && this.handles.delete(path));
    if (this.handles.size > maxOpenFiles) void this.closeFile(this.handles.keys().next().value!);
    return handle;
  }

  private async closeFile(path: string): Promise<void> {
    const handle = this.handles.get(path);
    if (!handle) return;
    this.handles.delete(path);
    // A read or write still running on it holds the descriptor until it settles (Node defers the close).
    await handle.then((h) => h.close()).catch(() => undefined);
  }

  /** Closes every open file (the service stops). */
  async close(): Promise<void> {
    await Promise.all([...this.handles.keys()].map((path) => this.closeFile(path)));
  }

  /** Moves a fully downloaded blob into place after checking the whole file's hash. */
  async complete(blob: string): Promise<void> {
    const partial = this.partialPath(blob);
    await this.closeFile(partial);
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
    await this.closeFile(this.path(blob));
    await this.closeFile(this.partialPath(blob));
    await rm(this.path(blob), { force: true });
    await rm(this.partialPath(blob), { force: true });
  }

  async removePartial(blob: string): Promise<void> {
    await this.closeFile(this.partialPath(blob));
    await rm(this.partialPath(blob), { force: true });
  }

  /** Free bytes on the file system of the store. */
  async freeBytes(): Promise<number> {
    const stats = await statfs(this.root);
    return stats.bavail * stats.bsize;
  }
}
