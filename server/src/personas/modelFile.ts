/**
 * The persona parser's first check of a GGUF model or adapter file, in pure JS and without loading it: the magic,
 * the version and sane tensor and metadata counts. A file that fails here would make llama.cpp
 * fail (or abort); node-llama-cpp's readGgufFileInfo checks the rest before a model is opened.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface GgufHeader {
  version: number;
  tensorCount: number;
  kvCount: number;
}

const headerBytes = 24;

/** The header, or a one-line reason the file is not a usable GGUF file. */
export function readGgufHeader(file: string): GgufHeader | string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    if (size < headerBytes) return `${file} is not a GGUF model: it is only ${size} bytes`;
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(headerBytes);
    readSync(fd, buffer, 0, headerBytes, 0);
    if (buffer.toString('latin1', 0, 4) !== 'GGUF') return `${file} is not a GGUF model (it does not start with "GGUF")`;
    const version = buffer.readUInt32LE(4);
    if (version < 2 || version > 3) return `${file} is GGUF version ${version}; llama.cpp reads versions 2 and 3`;
    const tensorCount = buffer.readBigUInt64LE(8);
    const kvCount = buffer.readBigUInt64LE(16);
    if (tensorCount > 1_000_000n || kvCount > 1_000_000n) return `${file} is a corrupt GGUF model (implausible counts: ${tensorCount} tensors, ${kvCount} keys)`;
    if (tensorCount === 0n) return `${file} is a GGUF file without tensors`;
    return { version, tensorCount: Number(tensorCount), kvCount: Number(kvCount) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `the model file ${file} does not exist`;
    return `cannot read the model file ${file}: ${(error as Error).message}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
