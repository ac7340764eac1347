import { strict as assert } from 'node:assert';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError, prepareDataDir } from '../../../server/src/node/dataDir';
import { silentLogger } from '../../../server/src/kernel/log';
import { useTempDir } from '../../support/tempDir';

describe('data dir', () => {
  const dir = useTempDir();

  it('creates a missing folder whose parent exists, private to the user', () => {
    const target = join(dir.path, 'node');
    assert.equal(prepareDataDir(target, silentLogger), target);
    assert.ok(statSync(target).isDirectory());
    assert.equal(statSync(target).mode & 0o777, 0o700);
  });

  it('names the folder and the fix when the parent does not exist', () => {
    const target = join(dir.path, 'missing', 'node');
    assert.throws(() => prepareDataDir(target, silentLogger), (error: unknown) => {
      assert.ok(error instanceof DataDirError);
      assert.ok(error.message.includes(target));
      assert.match(error.message, /does not exist/);
      assert.match(error.message, /--data-dir/);
      return true;
    });
  });

  it('refuses a file in place of the folder', () => {
    const target = join(dir.path, 'file');
    writeFileSync(target, 'x');
    assert.throws(() => prepareDataDir(target, silentLogger), /is a file, not a folder/);
  });
});
