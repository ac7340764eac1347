import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataDirLock, DataDirLockedError, lockFileName } from '../../../server/src/node/dataDirLock';
import { useTempDir } from '../../support/tempDir';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('data dir lock', () => {
  const tmp = useTempDir('data-dir-lock-');
  const lockFile = () => join(tmp.path, lockFileName);
  const holderPid = () => (JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number }).pid;

  it('lets one node hold a data dir; another live process is refused, naming it, until the first stops', async () => {
    const first = new DataDirLock(tmp.path);
    await first.start();
    const other = new DataDirLock(tmp.path, { pid: process.ppid });
    await assert.rejects(other.start(), (error: unknown) => error instanceof DataDirLockedError && error.holderPid === process.pid && /in use by another node \(process \d+\)/.test(error.message));
    assert.deepEqual(readdirSync(tmp.path), [lockFileName], 'the refused node leaves no file behind');
    await first.stop();
    assert.equal(existsSync(lockFile()), false);
    await other.start();
    assert.equal(holderPid(), process.ppid);
    await other.stop();
  });

  it('two nodes of one process are two owners', async () => {
    const first = new DataDirLock(tmp.path);
    await first.start();
    await assert.rejects(new DataDirLock(tmp.path).start(), DataDirLockedError);
    await first.stop();
  });

  it('takes over a lock left by a process that is gone, by another boot, or unreadable', async () => {
    const boot = readBootId();
    for (const stale of [{ pid: deadPid(), boot, token: 'a' }, { pid: process.ppid, boot: 'a boot before the last reboot', token: 'b' }, 'not json']) {
      writeFileSync(lockFile(), typeof stale === 'string' ? stale : JSON.stringify(stale));
      const lock = new DataDirLock(tmp.path);
      await lock.start();
      assert.equal(holderPid(), process.pid, `took over ${JSON.stringify(stale)}`);
      await lock.stop();
    }
  });

  it('leaves alone a lock that another node took after this one', async () => {
    const lock = new DataDirLock(tmp.path);
    await lock.start();
    const theirs = JSON.stringify({ pid: process.ppid, boot: readBootId(), token: 'theirs' });
    writeFileSync(lockFile(), theirs);
    await lock.stop();
    assert.equal(readFileSync(lockFile(), 'utf8'), theirs);
  });

  it('of eight processes racing for a stale lock, exactly one wins', async function () {
    this.timeout(60_000);
    writeFileSync(lockFile(), JSON.stringify({ pid: deadPid(), boot: readBootId(), token: 'stale' }));
    const script = `
      const { DataDirLock } = require(${JSON.stringify(resolve(__dirname, '../../../server/src/node/dataDirLock.ts'))});
      const lock = new DataDirLock(process.argv[1]);
      const go = Number(process.argv[2]);
      setTimeout(() => lock.start().then(() => console.log('won'), (e) => console.log(e.code ?? e.message)).then(() => setTimeout(() => {}, 1500)), go - Date.now());
    `;
    const go = Date.now() + 1500;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => new Promise<string>((done, fail) => execFile(process.execPath, ['--require', 'tsx/cjs', '-e', script, tmp.path, String(go)], (error, stdout) => (error ? fail(new Error(error.message)) : done(stdout.trim()))))),
    );
    assert.deepEqual(outcomes.filter((o) => o === 'won').length, 1, outcomes.join(', '));
    assert.deepEqual(outcomes.filter((o) => o !== 'won'), Array<string>(7).fill('data-dir-locked'));
  });
});

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
