import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BlobStore } from '../../../server/src/genomes/blobStore';
import { silentLogger } from '../../../server/src/kernel/log';
import { pieceHashes, sha256Hex } from '../../../server/src/genomes/pieces';
import { genomePieceBytes } from '../../../protocol/genomes';
import { useTempDir } from '../../support/tempDir';

/** Files of `root` this process has open (Linux: /proc/self/fd). */
function openFilesUnder(root: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(root)) open.push(target);
    } catch {
      // The fd of readdir itself is gone by now.
    }
  }
  return open;
}

describe('genomes/blobStore', () => {
  const temp = useTempDir('pm-blobs-');

  it('writes pieces out of order into a partial blob, completes it under its hash, reads ranges, and closes its files', async () => {
    const root = join(temp.path, 'genomes');
    const store = new BlobStore(root, silentLogger);
    store.open();
    const data = randomBytes(genomePieceBytes * 3 + 1000);
    const blob = sha256Hex(data);
    assert.equal(pieceHashes(data).length, 4);
    for (const piece of [3, 1, 0, 2]) {
      const offset = piece * genomePieceBytes;
      await store.writePiece(blob, offset, data.subarray(offset, offset + genomePieceBytes));
    }
    // A piece can be served from the partial blob before it is complete.
    assert.ok((await store.readRange(blob, genomePieceBytes, 100, true)).equals(data.subarray(genomePieceBytes, genomePieceBytes + 100)));
    await store.complete(blob);
    assert.ok(store.has(blob));
    assert.ok(readFileSync(store.path(blob)).equals(data));
    assert.ok(!existsSync(store.partialPath(blob)));
    assert.ok((await store.readRange(blob, data.length - 1000, 1000, false)).equals(data.subarray(data.length - 1000)));
    await assert.rejects(store.readRange(blob, data.length - 10, 100, false), /shorter than expected/);
    assert.ok(openFilesUnder(root).length > 0, 'the blob stays open between piece reads');
    await store.close();
    assert.deepEqual(openFilesUnder(root), []);
  });

  it('keeps its folders, partial blobs and blobs private to the user under umask 000', async () => {
    const umask = process.umask(0o000);
    const root = join(temp.path, 'genomes');
    const store = new BlobStore(root, silentLogger);
    try {
      store.open();
      const data = randomBytes(1000);
      const blob = sha256Hex(data);
      await store.writePiece(blob, 0, data);
      const mode = (path: string) => statSync(path).mode & 0o777;
      assert.equal(mode(store.partialPath(blob)), 0o600);
      await store.complete(blob);
      const put = await store.put(randomBytes(10));
      assert.deepEqual([root, join(root, 'blobs'), join(root, 'partial'), store.path(blob), store.path(put)].map(mode), [0o700, 0o700, 0o700, 0o600, 0o600]);
    } finally {
      await store.close();
      process.umask(umask);
    }
  });

  it('keeps at most a few files open however many blobs it serves, and removing a blob closes it first', async () => {
    const root = join(temp.path, 'genomes');
    const store = new BlobStore(root, silentLogger);
    store.open();
    const blobs: { blob: string; data: Buffer }[] = [];
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(1000 + i);
      blobs.push({ blob: await store.put(data), data });
    }
    for (const { blob, data } of blobs) assert.ok((await store.readRange(blob, 0, data.length, false)).equals(data));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(openFilesUnder(root).length <= 8, `open: ${openFilesUnder(root).length}`);
    const last = blobs.at(-1)!;
    await store.remove(last.blob);
    assert.ok(!store.has(last.blob));
    assert.ok(!openFilesUnder(root).some((file) => file.includes(last.blob)));
    await assert.rejects(store.readRange(last.blob, 0, 10, false), /ENOENT/);
    await store.close();
    assert.deepEqual(openFilesUnder(root), []);
  });
});
