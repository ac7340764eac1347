/**
 * What the node keeps in its data dir (its private key, every room's history, training data) is
 * for its user alone: folders 0700, files 0600. New ones get those modes explicitly, not from the
 * umask (under umask 000 a plain mkdir is 0777); existing ones that others can read (an older
 * version made mesh.db 0644, a data dir may have been created 0755) lose their group and other
 * bits, and the log names each path fixed with its old and new mode.
 */
import { chmodSync, closeSync, constants, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './log';

export const privateDirMode = 0o700;
export const privateFileMode = 0o600;

/** Takes group and other permissions off an existing file or folder; a missing one is left missing. */
export function makePrivate(path: string, logger: Logger): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((mode & 0o077) === 0) return;
  const tightened = mode & 0o700;
  try {
    chmodSync(path, tightened);
  } catch (error) {
    // Not fatal (a file another user owns): the node works, the user is told.
    logger.warn(`cannot make ${path} private to its owner (mode ${octal(mode)}): ${(error as Error).message}`);
    return;
  }
  logger.warn(`made ${path} private to its owner: mode ${octal(mode)} → ${octal(tightened)} (other users of this machine could read it)`);
}

/** Creates a folder (and missing parents) private, or makes an existing one private. */
export function makePrivateDir(dir: string, logger: Logger): void {
  mkdirSync(dir, { recursive: true, mode: privateDirMode });
  makePrivate(dir, logger);
}

/** A folder and everything in it, at any depth; symbolic links are not followed. */
export function makePrivateTree(dir: string, logger: Logger): void {
  makePrivateDir(dir, logger);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makePrivateTree(path, logger);
    else if (entry.isFile()) makePrivate(path, logger);
  }
}

/** Creates an empty file private unless it exists; an existing one is made private. */
export function makePrivateFile(file: string, logger: Logger): void {
  // Read-only: an existing file is neither changed nor needs to be writable here.
  closeSync(openSync(file, constants.O_CREAT | constants.O_RDONLY, privateFileMode));
  makePrivate(file, logger);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
