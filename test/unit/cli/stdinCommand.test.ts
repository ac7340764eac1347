import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseStdinLine, stdinOpNames, type ParsedLine } from '../../../server/src/cli/stdinCommand';

/** A parse is either a command with a known op, or one line of reason for the error event. */
function assertWellFormed(parsed: ParsedLine): void {
  if (parsed.ok) {
    assert.equal(typeof parsed.command, 'object');
    assert.ok(parsed.command !== null && !Array.isArray(parsed.command));
    assert.ok(stdinOpNames.includes(parsed.command.op), `op ${String(parsed.command.op)}`);
  } else {
    assert.match(parsed.reason, /^stdin: \S/);
    assert.ok(!parsed.reason.includes('\n'), parsed.reason);
    assert.ok(parsed.reason.length < 1000, 'the reason quotes the input shortly');
  }
}

describe('cli: stdin lines of `persona-mesh node`', () => {
  it('refuses every JSON value that is not an object with a known op, saying why', () => {
    const refused: [string, RegExp][] = [
      ['null', /not null/],
      ['[]', /not an array/],
      ['[{"op":"quit"}]', /not an array/],
      ['42', /not a number/],
      ['true', /not a boolean/],
      ['"quit"', /not a string/],
      ['{}', /has no "op"/],
      ['{"op":null}', /has no "op"/],
      ['{"op":{"op":"quit"}}', /has no "op"/],
      ['{"op":"nope"}', /unknown op "nope" \(known: status, peers/],
      ['{"op":"__proto__"}', /unknown op "__proto__"/],
      ['{not json', /not a JSON line: "\{not json"/],
    ];
    for (const [line, reason] of refused) {
      const parsed = parseStdinLine(line);
      assert.equal(parsed.ok, false, line);
      if (!parsed.ok) assert.match(parsed.reason, reason, line);
    }
    assert.deepEqual(parseStdinLine('{"op":"send","room":"general","text":"hi"}'), { ok: true, command: { op: 'send', room: 'general', text: 'hi' } });
  });

  it('never throws, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseStdinLine(JSON.stringify(value));
        assertWellFormed(parsed);
        const isCommand = typeof value === 'object' && value !== null && !Array.isArray(value) && stdinOpNames.includes((value as { op?: unknown }).op as string);
        assert.equal(parsed.ok, isCommand);
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('never throws, for any text (and any bytes as readline decodes them)', () => {
    const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8'));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 200 }), bytes), (text) => {
        assertWellFormed(parseStdinLine(text));
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('accepts every known op with any other fields, and quotes an unknown one', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }), fc.constantFrom(...stdinOpNames), fc.string(), (fields, op, other) => {
        const known = parseStdinLine(JSON.stringify({ ...fields, op }));
        assert.ok(known.ok);
        assert.equal(known.command.op, op);
        const unknown = parseStdinLine(JSON.stringify({ ...fields, op: `x${other}` }));
        assertWellFormed(unknown);
        assert.equal(unknown.ok, false);
      }),
      { numRuns: 500, seed: 13 },
    );
  });
});
