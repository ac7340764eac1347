/**
 * Checkers for what enters a program: the webview's messages at the extension, the extension's
 * requests at the server. A checker takes an unknown value and returns it typed, as a fresh value
 * with only the known fields, or throws a ServiceError ('invalid', or 'too-large' for a size) whose
 * message is one line for the user. Each protocol file declares the checkers of its messages
 * beside their types, so both ends use the same code and the same limits table.
 *
 * Hand-written rather than a schema library (zod, valibot): the protocol folder imports nothing, so
 * the webview bundle and the server share it at no cost; the messages must name limits in their own
 * unit ("16,385 bytes; the limit is 16,384 bytes", sizeLimit.ts), and a chat message is checked on
 * every keystroke-driven request, where a closure per field is as fast as it gets.
 *
 *   const join = object({ roomId: text({ max: 64, pattern: roomIdPattern, hint: '…' }) });
 *   join(params, 'the request')   // { roomId } or throws ServiceError('invalid', '…')
 */
import { ServiceError } from './errors';
import { overLimit } from './sizeLimit';

/** `name` says what the value is in a message ("the message", "the room id"). */
export type Check<T> = (value: unknown, name: string) => T;

export type Checked<C> = C extends Check<infer T> ? T : never;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** UTF-8 length without encoding (the webview has no Buffer): 1-4 bytes per code point. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair is one code point
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export interface TextOptions {
  /** Most characters (UTF-16 code units), or with `bytes` most UTF-8 bytes. */
  max: number;
  bytes?: boolean;
  /** Empty text is refused unless allowed. */
  allowEmpty?: boolean;
  /** No control characters (ids, names, one-line fields). */
  singleLine?: boolean;
  /** The whole text must match; `hint` is the message when it does not (given the text, to quote it). */
  pattern?: RegExp;
  hint?: string | ((value: string) => string);
}

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;

export function text(options: TextOptions): Check<string> {
  return (value, name) => {
    if (typeof value !== 'string') throw new ServiceError('invalid', `${name} must be text`);
    if (value.length === 0 && options.allowEmpty !== true) throw new ServiceError('invalid', `${name} is empty`);
    if (options.bytes === true) {
      // Cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes.
      const size = value.length * 3 > options.max ? utf8Length(value) : 0;
      if (size > options.max) throw new ServiceError('too-large', `${name} is ${overLimit(size, options.max)}`);
    } else if (value.length > options.max) {
      throw new ServiceError('too-large', `${name} is ${overLimit(value.length, options.max, 'characters')}`);
    }
    if (options.singleLine === true && controlCharacters.test(value)) throw new ServiceError('invalid', `${name} contains control characters`);
    if (options.pattern && !options.pattern.test(value)) {
      const hint = options.hint;
      throw new ServiceError('invalid', typeof hint === 'function' ? hint(value) : (hint ?? `${name} is not valid`));
    }
    return value;
  };
}

export function integer(min: number, max: number): Check<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw new ServiceError('invalid', `${name} must be a whole number from ${min} to ${max}`);
    return value;
  };
}

export const boolean: Check<boolean> = (value, name) => {
  if (typeof value !== 'boolean') throw new ServiceError('invalid', `${name} must be true or false`);
  return value;
};

export function oneOf<T extends string>(values: readonly T[], hint?: string): Check<T> {
  const allowed: ReadonlySet<string> = new Set(values);
  return (value, name) => {
    if (typeof value !== 'string' || !allowed.has(value)) throw new ServiceError('invalid', hint ?? `${name} must be one of ${values.join(', ')}`);
    return value as T;
  };
}

/** Absent (undefined or null, as JSON may carry it) is undefined; anything else must pass `check`. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, name) => (value === undefined || value === null ? undefined : check(value, name));
}

export function list<T>(item: Check<T>, max: number, itemName: string): Check<T[]> {
  return (value, name) => {
    if (!Array.isArray(value)) throw new ServiceError('invalid', `${name} must be a list`);
    if (value.length > max) throw new ServiceError('too-large', `${name} has ${overLimit(value.length, max, 'entries')}`);
    return value.map((entry) => item(entry, itemName));
  };
}

type Shape = Record<string, Check<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredFields<S extends Shape> = { [K in keyof S as undefined extends Checked<S[K]> ? never : K]: Checked<S[K]> };
type OptionalFields<S extends Shape> = { [K in keyof S as undefined extends Checked<S[K]> ? K : never]?: Exclude<Checked<S[K]>, undefined> };
export type ObjectOf<S extends Shape> = Simplify<RequiredFields<S> & OptionalFields<S>>;

/**
 * An object with these fields (each checked under its own name: `names.roomId` or "roomId"); other
 * fields are dropped and absent optional ones left out, so what comes out is exactly the type.
 */
export function object<S extends Shape>(shape: S, names: Partial<Record<keyof S, string>> = {}): Check<ObjectOf<S>> {
  const fields = Object.entries(shape);
  return (value, name) => {
    if (!isRecord(value)) throw new ServiceError('invalid', `${name} must be an object`);
    const out: Record<string, unknown> = {};
    for (const [key, check] of fields) {
      const field = check(value[key], names[key] ?? key);
      if (field !== undefined) out[key] = field;
    }
    return out as ObjectOf<S>;
  };
}

/** The token of LSP work-done progress (`workDoneToken`): an integer or a short string. */
export const progressToken: Check<number | string> = (value, name) => {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 200) return value;
  throw new ServiceError('invalid', `${name} must be an integer or a short text`);
};

/** A further rule over a checked value (e.g. "a message has text or an attachment"); `rule` throws. */
export function refine<T>(check: Check<T>, rule: (value: T, name: string) => void): Check<T> {
  return (value, name) => {
    const checked = check(value, name);
    rule(checked, name);
    return checked;
  };
}
