/** Small values of the node itself (`node_meta`: key → text), read and written by key. */
import type { Db } from './database';

export function readNodeMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM node_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function writeNodeMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
