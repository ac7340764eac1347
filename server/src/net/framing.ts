/**
 * Length-prefixed framing: `u32 big-endian length | payload`. The decoder checks the length
 * against the maximum before it allocates anything, and never throws: bad input puts it in a
 * failed state with a reason, and the session closes.
 */
import { overLimit } from '../../../protocol/sizeLimit';

export const frameHeaderBytes = 4;
/** Default hard maximum of a frame payload (16 MiB). */
export const defaultMaxFrameBytes = 16 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, frameHeaderBytes);
  return out;
}

export interface DecodeOutcome {
  frames: Buffer[];
  /** Set once the stream is unusable; later pushes are ignored. */
  error?: string;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failure: string | undefined;

  constructor(private maxFrameBytes = defaultMaxFrameBytes) {}

  get error(): string | undefined {
    return this.failure;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Changes the limit for the frames not yet taken (e.g. small during the handshake, then large). */
  setMaxFrameBytes(max: number): void {
    this.maxFrameBytes = max;
  }

  /** Buffers a chunk; its frames are taken with next(). */
  append(chunk: Uint8Array): void {
    if (this.failure !== undefined || chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.buffered += chunk.length;
  }

  /**
   * The next whole frame, or undefined when more bytes are needed or the stream failed (see
   * `error`). Each frame is checked against the limit in force when it is taken: a reader that
   * raises the limit after a frame (the handshake's last) reads the frames behind it with the new
   * limit, even when they came in the same chunk.
   */
  next(): Buffer | undefined {
    if (this.failure !== undefined || this.buffered < frameHeaderBytes) return undefined;
    const length = this.peekLength();
    if (length > this.maxFrameBytes) {
      this.fail(`oversized frame: ${overLimit(length, this.maxFrameBytes)}`);
      return undefined;
    }
    if (this.buffered < frameHeaderBytes + length) return undefined;
    this.consume(frameHeaderBytes);
    return this.consume(length);
  }

  /** Buffers a chunk and takes every whole frame in it, all under the current limit. */
  push(chunk: Uint8Array): DecodeOutcome {
    const frames: Buffer[] = [];
    this.append(chunk);
    // Each frame taken consumes at least a header: bounded by the input length.
    for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame);
    return this.failure === undefined ? { frames } : { frames, error: this.failure };
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.chunks = [];
    this.buffered = 0;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= frameHeaderBytes) return first.readUInt32BE(0);
    const header = Buffer.alloc(frameHeaderBytes);
    let filled = 0;
    for (const chunk of this.chunks) {
      const take = Math.min(chunk.length, frameHeaderBytes - filled);
      chunk.copy(header, filled, 0, take);
      filled += take;
      if (filled === frameHeaderBytes) break;
    }
    return header.readUInt32BE(0);
  }

  /** Removes `length` bytes from the front; no copy when they lie in one chunk. */
  private consume(length: number): Buffer {
    this.buffered -= length;
    const first = this.chunks[0];
    if (length === 0) return Buffer.alloc(0);
    if (first && first.length >= length) {
      const out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      return out;
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    return out;
  }
}
