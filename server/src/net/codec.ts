/**
 * MessagePack codec for everything on the wire (msgpackr, `useRecords: false`: plain maps that
 * any MessagePack decoder reads). Decoding never throws: it returns a result.
 */
import { Packr } from 'msgpackr';
import type { SessionMessage } from '../../../protocol/mesh';

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

/**
 * Encodes a session message. `env` messages, the hot path, travel as a MessagePack array (see
 * `EnvelopeTuple` in protocol/mesh.ts: no keys to write or read); every other type as a map.
 */
export function encodeSessionMessage(message: SessionMessage): Buffer {
  if (message.t !== 'env') return packr.pack(message);
  const e = message.e;
  const tuple: unknown[] = ['env', e.type, e.id, e.origin, e.seq, e.ts, e.topic, e.body];
  // Optional trailing fields, each written only when it or a later one is set.
  const optional = [e.hops, e.to, e.fast, e.prio];
  let last = optional.length - 1;
  while (last >= 0 && optional[last] === undefined) last--;
  for (let i = 0; i <= last; i++) tuple.push(optional[i] ?? null);
  return packr.pack(tuple);
}

/**
 * Decodes a session message: a map (checked by the session) or an envelope tuple, returned as
 * `{t: 'env', e}` with the envelope's fields unchecked (the router checks them). Never throws.
 */
export function decodeSessionMessage(bytes: Uint8Array): Decoded<unknown> {
  const decoded = decode(bytes);
  return decoded.ok ? toSessionMessage(decoded.value) : decoded;
}

/**
 * Decodes a batch: MessagePack values back to back, each one self-delimiting (one decoder pass
 * for the whole frame). Returns the values read before any error, and the error. Never throws.
 */
export function decodeBatch(bytes: Uint8Array): { values: unknown[]; error?: string } {
  const values: unknown[] = [];
  if (bytes.length === 0) return { values };
  try {
    packr.unpackMultiple(bytes, (value: unknown) => {
      values.push(value);
    });
  } catch (error) {
    return { values, error: error instanceof Error ? error.message : String(error) };
  }
  return { values };
}

/** A decoded value as a session message: an envelope tuple becomes `{t: 'env', e}`; maps pass. */
export function toSessionMessage(value: unknown): Decoded<unknown> {
  if (!Array.isArray(value)) return { ok: true, value };
  const tuple = value as unknown[];
  if (tuple[0] !== 'env' || tuple.length < 8 || tuple.length > 12) return { ok: false, error: 'not a session message' };
  const e: Record<string, unknown> = { type: tuple[1], id: tuple[2], origin: tuple[3], seq: tuple[4], ts: tuple[5], topic: tuple[6], body: tuple[7] };
  if (tuple.length > 8 && tuple[8] !== null) e.hops = tuple[8];
  if (tuple.length > 9 && tuple[9] !== null) e.to = tuple[9];
  if (tuple.length > 10 && tuple[10] !== null) e.fast = tuple[10];
  if (tuple.length > 11 && tuple[11] !== null) e.prio = tuple[11];
  return { ok: true, value: { t: 'env', e } };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function isStringArray(value: unknown, maxItems: number, maxLength: number): value is string[] {
  return Array.isArray(value) && value.length <= maxItems && value.every((item) => typeof item === 'string' && item.length <= maxLength);
}
