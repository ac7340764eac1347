/**
 * The embedded database (libsql, SQLite compatible) in the data dir. WAL with
 * synchronous=NORMAL survives kill -9 (the last transactions may roll back, never corrupt).
 * The database is private to the user: SQLite would create it 0644 whatever the umask, and gives
 * its -wal and -shm files the database's mode.
 */
import Database from 'libsql';
import { join } from 'node:path';
import type { Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { makePrivate, makePrivateFile } from '../kernel/privateFiles';
import { classifyStoreError, StoreError } from './errors';
import { migrations, schemaVersion, type Migration } from './migrations';

export const databaseFileName = 'mesh.db';

export type Db = InstanceType<typeof Database>;

export class Store implements Component {
  readonly name = 'store';
  readonly file: string;
  private database: Db | undefined;

  constructor(dataDir: string, private readonly logger: Logger, private readonly schema: readonly Migration[] = migrations) {
    this.file = join(dataDir, databaseFileName);
  }

  get db(): Db {
    if (!this.database) throw new StoreError('database-error', 'the database is not open');
    return this.database;
  }

  get isOpen(): boolean {
    return this.database !== undefined;
  }

  start(): Promise<void> {
    let database: Db | undefined;
    try {
      makePrivateFile(this.file, this.logger);
      // Left by a node killed with an older version: SQLite reuses them as they are.
      for (const companion of [`${this.file}-wal`, `${this.file}-shm`]) makePrivate(companion, this.logger);
      database = new Database(this.file, { timeout: 2000 });
      database.pragma('journal_mode = WAL');
      database.pragma('synchronous = NORMAL');
      database.pragma('foreign_keys = ON');
      const applied = migrate(database, this.schema);
      this.database = database;
      this.logger.info(`database ${this.file} at schema version ${schemaVersion}${applied > 0 ? ` (${applied} migration(s) applied)` : ''}`);
      return Promise.resolve();
    } catch (error) {
      try {
        database?.close();
      } catch {
        // The original error is the one worth reporting.
      }
      return Promise.reject(classifyStoreError(this.file, error));
    }
  }

  stop(): Promise<void> {
    const database = this.database;
    this.database = undefined;
    database?.close();
    return Promise.resolve();
  }
}

/**
 * Applies the migrations this database has not had; returns how many ran. Applied versions are
 * recorded one by one (not only the highest), so a migration that joins the list below one
 * already applied (branches merged in another order) still runs. `user_version` keeps the highest,
 * which tells an older Persona Mesh that the database is newer than it.
 */
export function migrate(database: Db, schema: readonly Migration[]): number {
  const current = Number(pragmaValue(database, 'user_version'));
  const latest = Math.max(0, ...schema.map((m) => m.version));
  if (current > latest) {
    throw new StoreError(
      'database-too-new',
      `the database was written by a newer Persona Mesh (schema ${current}, this version knows ${latest}). Update the extension, or use another data dir.`,
    );
  }
  database.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const record = database.prepare('INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const done = new Set((database.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => Number(row.version)));
  if (done.size === 0 && current > 0) {
    // Written before versions were recorded: everything up to user_version ran.
    for (const migration of schema) {
      if (migration.version > current) continue;
      done.add(migration.version);
      record.run(migration.version, Date.now());
    }
  }
  let applied = 0;
  for (const migration of [...schema].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    database.transaction(() => {
      database.exec(migration.sql);
      record.run(migration.version, Date.now());
      if (migration.version > Number(pragmaValue(database, 'user_version'))) database.pragma(`user_version = ${migration.version}`);
    })();
    applied++;
  }
  return applied;
}

/** One pragma's value. (libsql's `{ simple: true }` returns the row object, not the value.) */
export function pragmaValue(database: Db, name: string): unknown {
  const rows = database.pragma(name) as Record<string, unknown>[];
  return rows[0]?.[name];
}
