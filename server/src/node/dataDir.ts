/**
 * The data dir holds identity, database and blobs. A missing dir is created when its parent
 * exists (first start), private to the user, and an existing one is made private; anything else
 * wrong is one clear error naming the folder.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../kernel/log';
import { makePrivate, privateDirMode } from '../kernel/privateFiles';

export class DataDirError extends Error {
  readonly code = 'data-dir-unusable';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'DataDirError';
  }
}

export function prepareDataDir(path: string, logger: Logger): string {
  const dir = resolve(path);
  let stats;
  try {
    stats = statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(`cannot read the data dir ${dir}: ${(error as Error).message}`, { cause: error });
    }
    const parent = dirname(dir);
    if (!isDirectory(parent)) {
      throw new DataDirError(`the data dir ${dir} does not exist and its parent ${parent} does not exist either: create it, or pass an existing folder with --data-dir`);
    }
    try {
      mkdirSync(dir, { mode: privateDirMode });
    } catch (mkdirError) {
      throw new DataDirError(`cannot create the data dir ${dir}: ${(mkdirError as Error).message}. Choose a writable folder with --data-dir`, { cause: mkdirError });
    }
    return dir;
  }
  if (!stats.isDirectory()) {
    throw new DataDirError(`the data dir ${dir} is a file, not a folder: pass a folder with --data-dir`);
  }
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new DataDirError(`the data dir ${dir} is not readable and writable by this user: fix its permissions (chmod u+rwx) or choose another folder with --data-dir`);
  }
  makePrivate(dir, logger);
  return dir;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
