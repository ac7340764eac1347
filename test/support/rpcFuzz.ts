/**
 * Fuzzing the server's `mesh/...` handlers: a fake connection keeps what a register* function
 * registers, and each request is fed arbitrary params (anything at all, and records with the
 * method's own keys holding anything or a plausible value). A request must answer, or refuse with a
 * ResponseError that is not an internal error (an exception the handler did not mean, a TypeError
 * among them, comes back as one) and says why in one line; a notification must not throw; nothing
 * may reject unhandled.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CancellationTokenSource, ErrorCodes, ResponseError, type Connection } from 'vscode-languageserver';

type RequestHandler = (params: unknown, token: unknown) => unknown;
type NotificationHandler = (params: unknown) => unknown;

export interface FakeConnection {
  /** Typed as the real one so every register* function takes it; only the methods below exist. */
  connection: Connection;
  requests: Map<string, RequestHandler>;
  notifications: Map<string, NotificationHandler>;
}

export function fakeConnection(): FakeConnection {
  const requests = new Map<string, RequestHandler>();
  const notifications = new Map<string, NotificationHandler>();
  return {
    requests,
    notifications,
    connection: {
      onRequest: (type: { method: string }, handler: RequestHandler) => {
        requests.set(type.method, handler);
        return { dispose: () => requests.delete(type.method) };
      },
      onNotification: (type: { method: string }, handler: NotificationHandler) => {
        notifications.set(type.method, handler);
        return { dispose: () => notifications.delete(type.method) };
      },
      sendNotification: () => Promise.resolve(),
    } as unknown as Connection,
  };
}

/** Params for one method: anything, or its own keys each holding a plausible value or anything. */
export function paramsOf(keys: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(Object.entries(keys).map(([key, plausible]) => [key, fc.oneof(plausible, fc.anything())]));
  return fc.oneof(fc.anything(), fc.record(fields, { requiredKeys: [] }), fc.record(fields));
}

export interface FuzzOptions {
  numRuns?: number;
  /** Turns generated params into ones safe to run (e.g. file paths kept inside a temporary folder). */
  confine?: (params: unknown) => unknown;
}

async function checkRequest(method: string, handler: RequestHandler, params: unknown): Promise<void> {
  const tokens = new CancellationTokenSource();
  let failure: unknown;
  try {
    await handler(params, tokens.token);
    return;
  } catch (error) {
    failure = error;
  } finally {
    tokens.dispose();
  }
  const shown = fc.stringify(params).slice(0, 300);
  assert.ok(failure instanceof ResponseError, `${method} threw ${String(failure)} instead of a ResponseError, for ${shown}`);
  assert.notEqual(failure.code, ErrorCodes.InternalError, `${method} failed inside (${failure.message}), for ${shown}`);
  assert.ok(failure.message.trim() !== '' && !failure.message.includes('\n'), `${method}: the message is not one line: ${JSON.stringify(failure.message)}`);
}

/**
 * Fuzzes every registered request and notification, each with its params (a method without an
 * entry fails the test: a new handler is fuzzed too). Deterministic: a fixed seed per method.
 */
export async function fuzzHandlers(fake: FakeConnection, params: Record<string, fc.Arbitrary<unknown>>, options: FuzzOptions = {}): Promise<void> {
  assert.deepEqual([...fake.requests.keys(), ...fake.notifications.keys()].sort(), Object.keys(params).sort(), 'every registered method has params to fuzz');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (const [method, arbitrary] of Object.entries(params)) {
      const request = fake.requests.get(method);
      const notification = fake.notifications.get(method);
      const confined = options.confine ? arbitrary.map(options.confine) : arbitrary;
      await fc.assert(
        fc.asyncProperty(confined, async (value) => {
          if (request) await checkRequest(method, request, value);
          else assert.doesNotThrow(() => notification!(value), `${method} threw, for ${fc.stringify(value).slice(0, 300)}`);
        }),
        { numRuns: options.numRuns ?? 150, seed: 13, includeErrorInReport: true },
      );
    }
    // Rejections are reported after the turn they happen in.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled.map(String), [], 'no handler left a rejection unhandled');
}
