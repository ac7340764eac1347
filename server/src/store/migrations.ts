/**
 * The schema, owned here and nowhere else. Each migration runs once, in order, inside a
 * transaction, and bumps `PRAGMA user_version`. Never edit a released migration: append one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'node metadata and known peers',
    sql: `
      CREATE TABLE node_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      CREATE TABLE known_peers (
        node_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL,
        last_seen INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

export const schemaVersion = migrations[migrations.length - 1]!.version;
