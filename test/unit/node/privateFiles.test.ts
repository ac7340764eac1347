import { strict as assert } from 'node:assert';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLog } from '../../../server/src/kernel/log';
import { makePrivate, makePrivateFile, makePrivateTree } from '../../../server/src/kernel/privateFiles';
import { useTempDir } from '../../support/tempDir';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('private files', () => {
  const tmp = useTempDir('private-files-');
  let umask: number;
  beforeEach(() => {
    umask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(umask);
  });

  it('takes group and other bits off, keeps the owner bits, and says so once per path', () => {
    const file = join(tmp.path, 'f');
    writeFileSync(file, '', { mode: 0o464 });
    const log = new MemoryLog();
    makePrivate(file, log.logger);
    makePrivate(file, log.logger);
    assert.equal(mode(file), 0o400);
    assert.deepEqual(log.messages(), [`made ${file} private to its owner: mode 0464 → 0400 (other users of this machine could read it)`]);
  });

  it('leaves a missing path missing and a private one unlogged', () => {
    const log = new MemoryLog();
    makePrivate(join(tmp.path, 'missing'), log.logger);
    makePrivateFile(join(tmp.path, 'new'), log.logger);
    assert.equal(mode(join(tmp.path, 'new')), 0o600);
    assert.deepEqual(log.messages(), []);
  });

  it('makes a tree private at any depth without following symbolic links out of it', () => {
    const outside = join(tmp.path, 'outside');
    writeFileSync(outside, '', { mode: 0o644 });
    const tree = join(tmp.path, 'tree');
    mkdirSync(join(tree, 'a', 'b'), { recursive: true, mode: 0o777 });
    writeFileSync(join(tree, 'a', 'b', 'deep'), '', { mode: 0o666 });
    symlinkSync(outside, join(tree, 'a', 'link'));
    makePrivateTree(tree, new MemoryLog().logger);
    assert.deepEqual([tree, join(tree, 'a'), join(tree, 'a', 'b'), join(tree, 'a', 'b', 'deep'), outside].map(mode), [0o700, 0o700, 0o700, 0o600, 0o644]);
    makePrivateTree(join(tmp.path, 'created', 'inside'), new MemoryLog().logger);
    assert.deepEqual([join(tmp.path, 'created'), join(tmp.path, 'created', 'inside')].map(mode), [0o700, 0o700]);
  });
});
