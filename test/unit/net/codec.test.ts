import assert from 'node:assert/strict';
import { decode, decodeBatch, decodeSessionMessage, encodeSessionMessage, toSessionMessage } from '../../../server/src/net/codec';
import type { Envelope, SessionMessage } from '../../../protocol/mesh';

const origin = 'A'.repeat(52);
const base: Envelope = { type: 'event', id: 'AAAAAAAAAAAA:h3k2j', origin, seq: 1763777777123456, ts: 1763777777123, topic: '/chat/room/lobby/events/message', body: { text: 'hé', n: [1, 2.5, null] } };

describe('net/codec session messages', () => {
  it('an env message travels as an array and decodes back to the same envelope, with or without the optional fields', () => {
    const variants: Envelope[] = [
      base,
      { ...base, hops: 3 },
      { ...base, to: 'B'.repeat(52) },
      { ...base, fast: true },
      { ...base, type: 'rpc', hops: 1, to: 'C'.repeat(52), fast: false, body: undefined },
    ];
    for (const e of variants) {
      const bytes = encodeSessionMessage({ t: 'env', e });
      const raw = decode(bytes);
      assert.ok(raw.ok && Array.isArray(raw.value) && raw.value[0] === 'env', 'an array on the wire');
      const back = decodeSessionMessage(bytes);
      assert.ok(back.ok);
      const expected = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined));
      assert.deepEqual(back.value, { t: 'env', e: { body: undefined, ...expected } });
    }
  });

  it('other session messages stay maps', () => {
    const hello: SessionMessage = { t: 'hello', name: 'n', listen: '127.0.0.1:1', subs: ['/a'], multicast: false };
    const bytes = encodeSessionMessage(hello);
    assert.deepEqual(decode(bytes), { ok: true, value: hello });
    assert.deepEqual(decodeSessionMessage(bytes), { ok: true, value: hello });
  });

  it('a batch is messages back to back: one pass reads them all, and a truncated tail keeps what came before', () => {
    const messages: SessionMessage[] = [
      { t: 'ping', n: 1, ts: 2 },
      { t: 'env', e: { ...base, hops: 2 } },
      { t: 'bye', reason: 'stop' },
    ];
    const batch = Buffer.concat(messages.map(encodeSessionMessage));
    const whole = decodeBatch(batch);
    assert.equal(whole.error, undefined);
    assert.deepEqual(whole.values.map((value) => (toSessionMessage(value) as { value: { t: string } }).value.t), ['ping', 'env', 'bye']);
    const cut = decodeBatch(batch.subarray(0, batch.length - 3));
    assert.equal(cut.values.length, 2);
    assert.ok(cut.error);
    assert.deepEqual(decodeBatch(Buffer.alloc(0)), { values: [] });
  });

  it('refuses arrays that are not envelope tuples', () => {
    for (const value of [[], ['env'], ['env', 1, 2, 3, 4, 5, 6], ['px', 1, 2, 3, 4, 5, 6, 7], ['env', ...Array.from({ length: 12 }, () => 0)]]) {
      const decoded = decodeSessionMessage(encodeSessionMessage(value as unknown as SessionMessage));
      assert.equal(decoded.ok, false, JSON.stringify(value));
    }
  });
});
