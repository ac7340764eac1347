/** Piece arithmetic and piece bitmaps (bit i in byte i>>3, least significant bit first). */
import { createHash } from 'node:crypto';
import { genomePieceBytes } from '../../../protocol/genomes';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function pieceCount(size: number): number {
  return Math.ceil(size / genomePieceBytes);
}

/** Byte offset and length of piece `index` of a blob of `size` bytes. */
export function pieceRange(size: number, index: number): { offset: number; length: number } {
  const offset = index * genomePieceBytes;
  return { offset, length: Math.min(genomePieceBytes, size - offset) };
}

export function pieceHashes(data: Buffer): string[] {
  const hashes: string[] = [];
  for (let offset = 0; offset < data.length; offset += genomePieceBytes) hashes.push(sha256Hex(data.subarray(offset, offset + genomePieceBytes)));
  return hashes;
}

export class Bitmap {
  readonly bytes: Buffer;

  constructor(
    readonly size: number,
    bytes?: Uint8Array,
  ) {
    this.bytes = Buffer.alloc(Math.ceil(size / 8));
    // A bitmap from a peer or the database may be short or long: only the bits that exist count.
    if (bytes) Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, this.bytes.length)).copy(this.bytes);
    const spare = this.bytes.length * 8 - size;
    if (spare > 0) this.bytes[this.bytes.length - 1]! &= 0xff >> spare;
  }

  static full(size: number): Bitmap {
    const bitmap = new Bitmap(size);
    for (let i = 0; i < size; i++) bitmap.set(i);
    return bitmap;
  }

  has(index: number): boolean {
    return index >= 0 && index < this.size && (this.bytes[index >> 3]! & (1 << (index & 7))) !== 0;
  }

  set(index: number): void {
    this.bytes[index >> 3]! |= 1 << (index & 7);
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.has(i)) n++;
    return n;
  }

  get complete(): boolean {
    return this.count() === this.size;
  }
}
