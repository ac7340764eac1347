/**
 * MessagePack codec for everything on the wire (msgpackr, `useRecords: false`: plain maps that
 * any MessagePack decoder reads). Decoding never throws: it returns a result.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): Decoded<unknown> {
  if (bytes.length === 0) return { ok: false, error: 'empty' };
  try {
    return { ok: true, value: packr.unpack(bytes) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function isStringArray(value: unknown, maxItems: number, maxLength: number): value is string[] {
  return Array.isArray(value) && value.length <= maxItems && value.every((item) => typeof item === 'string' && item.length <= maxLength);
}
