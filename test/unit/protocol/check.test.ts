/** The protocol's checkers: what enters a program is typed, trimmed to its fields, or refused in one line. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { integer, list, object, oneOf, optional, refine, text, utf8Length, type Check } from '../../../protocol/check';
import { ServiceError } from '../../../protocol/errors';
import { roomLimits } from '../../../protocol/rooms';
import { roomParams } from '../../../protocol/roomsRpc';
import { checkFromWebview } from '../../../extension/src/chat/validate';

function refusal(check: Check<unknown>, value: unknown, name = 'the value'): { code: string; message: string } {
  try {
    check(value, name);
  } catch (error) {
    assert.ok(error instanceof ServiceError, `a ServiceError, not ${String(error)}`);
    return { code: error.code, message: error.message };
  }
  return assert.fail(`accepted ${JSON.stringify(value)?.slice(0, 80)}`);
}

describe('protocol/check: the checkers of what enters a program', () => {
  it('counts UTF-8 bytes as Buffer does, for any text (surrogate pairs and lone surrogates too)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (value) => utf8Length(value) === Buffer.byteLength(value, 'utf8')), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }), (value) => utf8Length(value) === Buffer.byteLength(value, 'utf8')));
  });

  it('refuses text by type, emptiness, size in its unit (too-large), control characters and pattern', () => {
    assert.deepEqual(refusal(text({ max: 5 }), 5, 'the name'), { code: 'invalid', message: 'the name must be text' });
    assert.deepEqual(refusal(text({ max: 5 }), '', 'the name'), { code: 'invalid', message: 'the name is empty' });
    assert.deepEqual(refusal(text({ max: 5 }), 'abcdef', 'the name'), { code: 'too-large', message: 'the name is 6 characters; the limit is 5 characters' });
    assert.deepEqual(refusal(text({ max: 4, bytes: true }), 'ééé', 'the message'), { code: 'too-large', message: 'the message is 6 bytes; the limit is 4 bytes' });
    assert.deepEqual(refusal(text({ max: 9, singleLine: true }), 'a\nb', 'the id'), { code: 'invalid', message: 'the id contains control characters' });
    assert.deepEqual(refusal(text({ max: 9, pattern: /^[a-z]+$/, hint: (v) => `"${v}" is no word` }), 'A1'), { code: 'invalid', message: '"A1" is no word' });
    assert.equal(text({ max: 4, bytes: true, allowEmpty: true })('', 'x'), '');
  });

  it('objects keep only their fields, leave absent optional ones out, and name the field that fails', () => {
    const check = object({ roomId: text({ max: 8 }), limit: integer(1, 10), before: optional(text({ max: 8 })) }, { limit: 'the page size' });
    assert.deepEqual(check({ roomId: 'general', limit: 3, extra: 'dropped' }, 'the request'), { roomId: 'general', limit: 3 });
    assert.deepEqual(check({ roomId: 'general', limit: 3, before: null }, 'the request'), { roomId: 'general', limit: 3 });
    assert.equal(Object.hasOwn(check({ roomId: 'g', limit: 1 }, 'r'), 'before'), false);
    assert.deepEqual(refusal(check, { roomId: 'general', limit: 11 }), { code: 'invalid', message: 'the page size must be a whole number from 1 to 10' });
    assert.deepEqual(refusal(check, [], 'the request'), { code: 'invalid', message: 'the request must be an object' });
  });

  it('lists are bounded (too-large), one-of names the choices, refine adds a rule', () => {
    assert.deepEqual(refusal(list(text({ max: 3 }), 2, 'a tag'), ['a', 'b', 'c'], 'the tags'), { code: 'too-large', message: 'the tags has 3 entries; the limit is 2 entries' });
    assert.deepEqual(refusal(list(text({ max: 3 }), 2, 'a tag'), ['a', 7], 'the tags'), { code: 'invalid', message: 'a tag must be text' });
    assert.deepEqual(refusal(oneOf(['up', 'down']), 'sideways', 'the rating'), { code: 'invalid', message: 'the rating must be one of up, down' });
    const even = refine(integer(0, 10), (value) => {
      if (value % 2) throw new ServiceError('invalid', 'odd');
    });
    assert.equal(even(4, 'n'), 4);
    assert.deepEqual(refusal(even, 3), { code: 'invalid', message: 'odd' });
  });

  it('never throws anything but a ServiceError, for any value given to the room checkers', () => {
    const checks = Object.values(roomParams) as Check<unknown>[];
    fc.assert(
      fc.property(fc.anything(), fc.constantFrom(...checks), (value, check) => {
        try {
          check(value, 'the request');
        } catch (error) {
          return error instanceof ServiceError && error.message.length > 0 && !error.message.includes('\n');
        }
        return true;
      }),
      { numRuns: 1000 },
    );
  });
});

describe('one boundary: the chat panel and the server refuse a room request with the same words', () => {
  const cases: Array<[keyof typeof roomParams, string, Record<string, unknown>]> = [
    ['send', 'send', { roomId: 'general', text: 'é'.repeat(10_000) }],
    ['send', 'send', { roomId: 'general', text: '   ' }],
    ['send', 'send', { roomId: 'Not A Room', text: 'hi' }],
    ['send', 'send', { roomId: 'general', text: 'hi', attachment: { path: '../x', language: 'ts', startLine: 1, endLine: 1, content: '' } }],
    ['send', 'send', { roomId: 'general', text: 'hi', attachment: { path: 'a.ts', language: 'ts', startLine: 1, endLine: 1, content: 'x'.repeat(roomLimits.maxAttachmentBytes + 1) } }],
    ['send', 'send', { roomId: 'general', text: 'hi', replyTo: 'not an id' }],
    ['history', 'history', { roomId: 'general', limit: 1e9 }],
    ['edit', 'edit', { roomId: 'general', messageId: 'N:1', text: ' ' }],
    ['react', 'react', { roomId: 'general', messageId: 'N:1', emoji: 'a b', add: true }],
    ['setPresence', 'setPresence', { presence: 'sleeping' }],
  ];
  for (const [check, method, params] of cases) {
    it(`${method} ${JSON.stringify(params).slice(0, 70)}`, () => {
      const server = refusal(roomParams[check], params, 'the request');
      const panel = checkFromWebview({ type: 'request', id: 1, method, params });
      assert.deepEqual(panel, { ok: false, id: 1, error: server.message });
    });
  }
});
