/**
 * One running node per data dir. Two nodes on one identity are each the other's "restarted"
 * peer and knock each other's sessions down in a loop (two VS Code windows share the extension's
 * global storage), and both would write one database.
 *
 * The lock is a file naming its owner (pid, and the boot it belongs to). It appears whole, by a
 * hard link from a file written beforehand, so a node starting at the same moment never reads it
 * half written. A file left by a process that is gone (kill -9, a crash, a reboot) is taken over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../kernel/lifecycle';
import { privateFileMode } from '../kernel/privateFiles';

export const lockFileName = 'node.lock';

export class DataDirLockedError extends Error {
  readonly code = 'data-dir-locked';
  constructor(
    readonly dir: string,
    readonly holderPid: number,
    /** What the holder said it belongs to (a VS Code window's workspace), if anything. */
    readonly holderOwner?: string,
    message = `the data dir ${dir} is in use by another node (process ${holderPid}); stop it or choose another folder with --data-dir (if process ${holderPid} is no node of Persona Mesh, delete ${join(dir, lockFileName)})`,
  ) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

interface Owner {
  pid: number;
  boot: string;
  /** Tells apart two nodes of one process (tests, benchmarks). */
  token: string;
  /** What the node belongs to (a VS Code window's workspace), so the window's next node knows its predecessor. */
  owner?: string;
}

export interface DataDirLockOptions {
  /** Default: this process (tests name another). */
  pid?: number;
  /** Written into the lock (see Owner.owner). */
  owner?: string;
}

export class DataDirLock implements Component {
  readonly name = 'data dir lock';
  private readonly file: string;
  private readonly owner: Owner;
  private held = false;

  constructor(
    readonly dir: string,
    options: DataDirLockOptions = {},
  ) {
    this.file = join(dir, lockFileName);
    this.owner = { pid: options.pid ?? process.pid, boot: currentBootId(), token: randomBytes(8).toString('hex'), ...(options.owner ? { owner: options.owner } : {}) };
  }

  /** Takes the lock, or fails with DataDirLockedError naming the live owner. */
  start(): Promise<void> {
    try {
      this.acquire();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private acquire(): void {
    const mine = `${this.file}.${this.owner.token}.new`;
    writeFileSync(mine, this.content(), { mode: privateFileMode });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          this.place(mine);
          this.held = true;
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = this.readOwner(this.file);
        if (holder && this.ownedByOther(holder)) throw new DataDirLockedError(this.dir, holder.pid, holder.owner);
        this.takeOverStale();
      }
      throw new Error(`cannot take the lock ${this.file}: it keeps changing hands`);
    } finally {
      rmSync(mine, { force: true });
    }
  }

  /**
   * Puts the lock file in place whole, or fails with EEXIST. File systems without hard links
   * (FAT, some network shares) get an exclusive create instead: there a node starting at the very
   * same moment may read it half written and take it for stale.
   */
  private place(written: string): void {
    try {
      linkSync(written, this.file);
    } catch (error) {
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      writeFileSync(this.file, this.content(), { flag: 'wx', mode: privateFileMode });
    }
  }

  private content(): string {
    return `${JSON.stringify(this.owner)}\n`;
  }

  /** Frees the lock if it is still this node's. */
  stop(): Promise<void> {
    if (!this.held) return Promise.resolve();
    this.held = false;
    const holder = this.readOwner(this.file);
    if (holder?.token === this.owner.token) rmSync(this.file, { force: true });
    return Promise.resolve();
  }

  private ownedByOther(holder: Owner): boolean {
    if (holder.token === this.owner.token || holder.boot !== this.owner.boot) return false;
    return holder.pid === this.owner.pid || processIsAlive(holder.pid);
  }

  /**
   * Moves a stale lock aside. Another node doing the same at the same moment may have replaced it
   * with its own live lock in between: that one is put back.
   */
  private takeOverStale(): void {
    const aside = `${this.file}.${this.owner.token}.stale`;
    try {
      renameSync(this.file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const moved = this.readOwner(aside);
    if (moved && this.ownedByOther(moved)) {
      try {
        linkSync(aside, this.file);
      } catch {
        // Someone else holds it now: the next attempt reads who.
      }
    }
    rmSync(aside, { force: true });
  }

  /** The owner written in a lock file; undefined when it is gone or unreadable (stale). */
  private readOwner(file: string): Owner | undefined {
    try {
      const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
      if (typeof value.pid === 'number' && Number.isInteger(value.pid) && value.pid > 0 && typeof value.boot === 'string' && typeof value.token === 'string') {
        return { pid: value.pid, boot: value.boot, token: value.token, ...(typeof value.owner === 'string' ? { owner: value.owner } : {}) };
      }
    } catch {
      // A lock file from another program or cut short by a full disk: not an owner.
    }
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux's boot id; elsewhere empty (a stale lock is then told by its pid alone). */
function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
