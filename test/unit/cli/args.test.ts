import { strict as assert } from 'node:assert';
import { lastValue, parseArgs, UsageError } from '../../../server/src/cli/args';

const spec = { valued: ['data-dir', 'peer'], boolean: ['jsonl'] };

describe('cli args', () => {
  it('parses the command, values in both forms, repeatable values and flags', () => {
    const args = parseArgs(['node', '--data-dir', '/d', '--peer=a:1', '--peer', 'b:2', '--jsonl'], spec);
    assert.equal(args.command, 'node');
    assert.equal(lastValue(args, 'data-dir'), '/d');
    assert.deepEqual(args.values.get('peer'), ['a:1', 'b:2']);
    assert.ok(args.flags.has('jsonl'));
  });

  it('names the unknown option and the missing value', () => {
    assert.throws(() => parseArgs(['node', '--dta-dir', 'x'], spec), (e: unknown) => e instanceof UsageError && /unknown option --dta-dir/.test(e.message));
    assert.throws(() => parseArgs(['node', '--data-dir'], spec), /--data-dir needs a value/);
    assert.throws(() => parseArgs(['node', '--data-dir', '--jsonl'], spec), /--data-dir needs a value/);
    assert.throws(() => parseArgs(['node', '--jsonl=1'], spec), /--jsonl takes no value/);
  });
});
