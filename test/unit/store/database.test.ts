import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { databaseFileName, pragmaValue, Store } from '../../../server/src/store/database';
import { StoreError } from '../../../server/src/store/errors';
import { migrations, schemaVersion } from '../../../server/src/store/migrations';
import { MemoryLog } from '../../../server/src/kernel/log';
import { useTempDir } from '../../support/tempDir';

async function expectStoreError(store: Store, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(store.start(), (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
  assert.equal(store.isOpen, false);
}

describe('store', () => {
  const dir = useTempDir();

  it('opens in WAL mode with synchronous=NORMAL and applies every migration once', async () => {
    const store = new Store(dir.path, new MemoryLog().logger);
    await store.start();
    assert.equal(pragmaValue(store.db, 'journal_mode'), 'wal');
    assert.equal(pragmaValue(store.db, 'synchronous'), 1);
    assert.equal(pragmaValue(store.db, 'user_version'), schemaVersion);
    store.db.prepare('INSERT INTO node_meta (key, value) VALUES (?, ?)').run('k', 'v');
    await store.stop();

    const log = new MemoryLog();
    const again = new Store(dir.path, log.logger);
    await again.start();
    assert.equal((again.db.prepare('SELECT value FROM node_meta WHERE key = ?').get('k') as { value: string }).value, 'v');
    assert.ok(log.messages('info').some((m) => m.includes(`schema version ${schemaVersion}`) && !m.includes('applied')));
    await again.stop();
  });

  it('applies only the new migrations to an older database', async () => {
    const store = new Store(dir.path, new MemoryLog().logger, migrations);
    await store.start();
    await store.stop();
    const next = [...migrations, { version: schemaVersion + 1, name: 'test', sql: 'CREATE TABLE extra (id INTEGER PRIMARY KEY) STRICT;' }];
    const upgraded = new Store(dir.path, new MemoryLog().logger, next);
    await upgraded.start();
    assert.equal(pragmaValue(upgraded.db, 'user_version'), schemaVersion + 1);
    upgraded.db.prepare('INSERT INTO extra (id) VALUES (1)').run();
    await upgraded.stop();
  });

  it('applies a migration that joined the list below one already applied (branches merged in another order)', async () => {
    const without = migrations.filter((m) => m.version !== 6);
    const store = new Store(dir.path, new MemoryLog().logger, without);
    await store.start();
    const tables = () => (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
    const before = tables();
    await store.stop();
    const log = new MemoryLog();
    const full = new Store(dir.path, log.logger);
    await full.start();
    const added = (full.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name).filter((name) => !before.includes(name));
    assert.ok(added.length > 0, 'migration 6 created its tables');
    assert.ok(log.messages('info').some((m) => m.includes('(1 migration(s) applied)')));
    assert.equal(pragmaValue(full.db, 'user_version'), schemaVersion);
    await full.stop();
  });

  it('refuses a database written by a newer version and leaves it untouched', async () => {
    const store = new Store(dir.path, new MemoryLog().logger, [...migrations, { version: 99, name: 'future', sql: 'SELECT 1;' }]);
    await store.start();
    await store.stop();
    await expectStoreError(new Store(dir.path, new MemoryLog().logger), 'database-too-new', /newer Persona Mesh \(schema 99/);
  });

  it('reports a corrupt file as corrupt, with what to do, and does not overwrite it', async () => {
    const file = join(dir.path, databaseFileName);
    writeFileSync(file, 'this is not an SQLite database, it is a text file of some length.'.repeat(20));
    await expectStoreError(new Store(dir.path, new MemoryLog().logger), 'database-corrupt', /is corrupt .*move the file/i);
  });

  it('reports a database locked by another process as locked', async () => {
    const file = join(dir.path, databaseFileName);
    const other = new Database(file);
    other.exec('CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);');
    try {
      await expectStoreError(new Store(dir.path, new MemoryLog().logger), 'database-locked', /locked by another process/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});
