import { strict as assert } from 'node:assert';
import { lastValue, parseArgs, UsageError } from '../../../server/src/cli/args';
import { networkSettingsFromArgs, overlayFromArgs } from '../../../server/src/cli/nodeCommand';

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

describe('cli/node: --role and --sessions', () => {
  it('sets the overlay watermarks, a hub takes hundreds, and bad values say what is expected', () => {
    assert.deepEqual(overlayFromArgs(undefined, undefined), {});
    assert.deepEqual(overlayFromArgs('hub', undefined), { overlay: { activeTarget: 6, activeMax: 500, role: 'hub' } });
    assert.deepEqual(overlayFromArgs(undefined, '2-3'), { overlay: { activeTarget: 2, activeMax: 3, role: 'node' } });
    assert.deepEqual(overlayFromArgs('node', undefined), { overlay: { activeTarget: 6, activeMax: 12, role: 'node' } });
    assert.throws(() => overlayFromArgs('king', undefined), /--role must be node or hub/);
    for (const bad of ['12-6', '0-3', 'six', '6', '6-']) assert.throws(() => overlayFromArgs(undefined, bad), /--sessions must be LOW-HIGH/);
  });
});

describe('cli/node: --cluster', () => {
  it('passes the cluster label to the network settings, and nothing without it', () => {
    const spec = { valued: ['cluster'], boolean: ['no-discovery'] };
    assert.equal(networkSettingsFromArgs(parseArgs(['node', '--cluster', 'floor-2'], spec)).cluster, 'floor-2');
    assert.equal('cluster' in networkSettingsFromArgs(parseArgs(['node'], spec)), false);
  });
});
