import assert from 'node:assert/strict';
import { Counters } from '../../../server/src/net/counters';
import { RemoteCallError, RemoteCommands, rpcTimeoutCode } from '../../../server/src/net/remoteCommands';
import { silentLogger } from '../../../server/src/kernel/log';
import { rpcNotAllowedCode, type Envelope } from '../../../protocol/mesh';
import { FakeClock } from './support/fakeClock';

const A = 'A'.repeat(52);
const B = 'B'.repeat(52);

/** Two endpoints wired through a lossy/duplicating link the test controls. */
function setup(link: { drop?: (body: unknown) => boolean; duplicate?: boolean } = {}) {
  const clock = new FakeClock();
  const counters = new Counters();
  const endpoints = new Map<string, RemoteCommands>();
  let seq = 0;
  const make = (nodeId: string) =>
    new RemoteCommands({
      nodeId,
      instance: nodeId.slice(0, 4),
      clock,
      logger: silentLogger,
      counters,
      send: (to, topic, body) => {
        const envelope: Envelope = { type: 'rpc', id: String(++seq), origin: nodeId, seq, ts: 0, topic, body, to };
        if (link.drop?.(body)) return true;
        queueMicrotask(() => {
          endpoints.get(to)!.receive(envelope, nodeId);
          if (link.duplicate) endpoints.get(to)!.receive(envelope, nodeId);
        });
        return true;
      },
    });
  endpoints.set(A, make(A));
  endpoints.set(B, make(B));
  return { clock, counters, a: endpoints.get(A)!, b: endpoints.get(B)! };
}

describe('net/remoteCommands (JSON-RPC 2.0 in envelopes)', () => {
  it('answers an allowed method and refuses others with "not allowed"', async () => {
    const { a, b } = setup();
    b.registerMethod('rooms.list', () => ['lobby']);
    b.registerMethod('secret', () => 'leak');
    assert.deepEqual(await a.call(B, 'rooms.list', {}), ['lobby']);
    await assert.rejects(a.call(B, 'secret', {}), (error: RemoteCallError) => error.code === rpcNotAllowedCode && error.message === 'not allowed');
    b.allow(A, ['secret']);
    assert.equal(await a.call(B, 'secret', {}), 'leak');
  });

  it('runs a method at most once even when the request arrives twice', async () => {
    const { a, b, counters } = setup({ duplicate: true });
    let runs = 0;
    b.registerMethod('ping', () => ++runs);
    assert.equal(await a.call(B, 'ping', {}), 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 1);
    assert.equal(counters.get('rpc.repeated'), 1);
  });

  it('times out on the injected clock; retries only idempotent methods, with the same id', async () => {
    let requests = 0;
    const { a, b, clock } = setup({ drop: (body) => (body as { method?: string }).method !== undefined && ++requests <= 2 });
    let runs = 0;
    b.registerMethod('node.info', () => ++runs);
    const idempotent = a.call(B, 'node.info', {}, { timeoutMs: 100, retries: 2 });
    clock.advance(100);
    clock.advance(100);
    assert.equal(await idempotent, 1);
    assert.equal(requests, 3);

    requests = 0;
    b.allow(A, ['persona.ask']);
    b.registerMethod('persona.ask', () => 'answer');
    const once = a.call(B, 'persona.ask', {}, { timeoutMs: 100, retries: 5 });
    clock.advance(100);
    await assert.rejects(once, (error: RemoteCallError) => error.code === rpcTimeoutCode);
    assert.equal(requests, 1);
  });

  it('ignores answers from a node other than the one called', async () => {
    const { a, b, counters, clock } = setup({ drop: () => true });
    const call = a.call(B, 'ping', {}, { timeoutMs: 50, retries: 0 });
    a.receive({ type: 'rpc', id: 'x', origin: 'C'.repeat(52), seq: 1, ts: 0, topic: `/remote/${A}/replies`, body: { jsonrpc: '2.0', id: `${A.slice(0, 4)}-1`, result: 'forged' }, to: A }, 'C'.repeat(52));
    assert.equal(counters.get('rpc.unexpected-response'), 1);
    clock.advance(50);
    await assert.rejects(call, RemoteCallError);
    void b;
  });
});
