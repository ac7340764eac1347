/** Database failures turned into one line that names the problem and what to do. */
export type StoreErrorCode = 'database-corrupt' | 'database-locked' | 'database-unwritable' | 'database-too-new' | 'database-error';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'StoreError';
  }
}

/** Maps a raw SQLite/libsql error on `file` to a StoreError with advice. */
export function classifyStoreError(file: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code ?? '';
  if (/not a database|malformed|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(raw + code)) {
    return new StoreError(
      'database-corrupt',
      `the database ${file} is corrupt (${raw}). Stop the node, move the file (and its -wal/-shm files) away, and start again: a new empty database is created; rooms will re-sync from peers.`,
      error,
    );
  }
  if (/locked|SQLITE_BUSY|SQLITE_LOCKED/i.test(raw + code)) {
    return new StoreError(
      'database-locked',
      `the database ${file} is locked by another process (${raw}). Another Persona Mesh node is probably using the same data dir: stop it, or give this node its own --data-dir.`,
      error,
    );
  }
  if (/readonly|read-only|unable to open|permission|SQLITE_CANTOPEN|SQLITE_READONLY|EACCES/i.test(raw + code)) {
    return new StoreError(
      'database-unwritable',
      `cannot open the database ${file} for writing (${raw}). Check that the data dir exists and is writable by this user.`,
      error,
    );
  }
  return new StoreError('database-error', `database ${file}: ${raw}`, error);
}
