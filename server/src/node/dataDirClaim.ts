/**
 * Which folder a node runs in: the data dir, or with several slots the first free window folder
 * inside it (`window-2` … `window-N`), so a second VS Code window gets a node of its own instead of
 * a second node on one identity. A folder is claimed with a DataDirLock kept in the node's
 * lifecycle (released when the node stops).
 */
import { join } from 'node:path';
import type { Clock } from '../kernel/clock';
import { ComponentStartError, type Lifecycle } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { prepareDataDir } from './dataDir';
import { DataDirLock, DataDirLockedError } from './dataDirLock';

export interface DataDirClaimOptions {
  /** Folders to try: the data dir is slot 1. */
  slots: number;
  /** Who this node runs for (a VS Code window): its previous node's lock is waited for, not skipped. */
  owner?: string;
  /** How long to wait for that previous node to stop. */
  waitMs: number;
  lifecycle: Lifecycle;
  clock: Clock;
  logger: Logger;
}

export async function claimDataDir(base: string, options: DataDirClaimOptions): Promise<{ dir: string; slot: number }> {
  const slots = Math.max(1, options.slots);
  for (let slot = 1; ; slot++) {
    const dir = slot === 1 ? base : prepareDataDir(join(base, `window-${slot}`), options.logger);
    try {
      await lockDataDir(dir, options);
      return { dir, slot };
    } catch (error) {
      if (!(error instanceof DataDirLockedError)) throw error;
      if (slot < slots) continue;
      if (slots === 1) throw error;
      throw new DataDirLockedError(base, error.holderPid, error.holderOwner, `every one of the ${slots} node folders in ${base} is in use (a node per VS Code window): close a window, then run "Persona Mesh: Restart Mesh Server"`);
    }
  }
}

/** Locks one folder, waiting for this window's previous node if that is who holds it. */
async function lockDataDir(dir: string, { owner, waitMs, lifecycle, clock, logger }: DataDirClaimOptions): Promise<void> {
  const deadline = clock.monotonic() + waitMs;
  for (let waited = false; ; waited = true) {
    try {
      await lifecycle.startComponent(new DataDirLock(dir, owner ? { owner } : {}));
      if (waited) logger.info(`took over ${dir} from this window's previous node`);
      return;
    } catch (error) {
      const reason = error instanceof ComponentStartError ? error.reason : error;
      const predecessor = reason instanceof DataDirLockedError && owner !== undefined && reason.holderOwner === owner;
      if (!predecessor || clock.monotonic() >= deadline) throw reason;
      if (!waited) logger.info(`${dir} is still held by this window's previous node (process ${reason.holderPid}); waiting for it to stop`);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 100));
    }
  }
}
