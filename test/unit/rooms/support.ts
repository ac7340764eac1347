/** Test support for rooms: a manual clock, in-memory databases and a mesh of Rooms nodes. */
import Database from 'libsql';
import type { Clock, TimerHandle } from '../../../server/src/kernel/clock';
import { ManualClock } from '../../support/manualClock';
import { MemoryLog } from '../../../server/src/kernel/log';
import { MemoryHub, type MemoryMeshPort } from '../../support/memoryMeshPort';
import { Rooms, type RoomsOptions } from '../../../server/src/rooms/rooms';
import { migrate, type Db } from '../../../server/src/store/database';
import { migrations } from '../../../server/src/store/migrations';

export { ManualClock };

/** A clock of one node sharing the mesh's timers but with its own wall-clock skew. */
export class SkewedClock implements Clock {
  constructor(private readonly base: ManualClock, public skewMs: number) {}
  now(): number {
    return this.base.now() + this.skewMs;
  }
  monotonic(): number {
    return this.base.monotonic();
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(callback, ms);
  }
  setInterval(callback: () => void, ms: number): TimerHandle {
    return this.base.setInterval(callback, ms);
  }
}

export function memoryDb(): Db {
  const db = new Database(':memory:');
  migrate(db, migrations);
  return db;
}

export interface TestNode {
  id: string;
  rooms: Rooms;
  db: Db;
  transport: MemoryMeshPort;
  clock: SkewedClock;
  log: MemoryLog;
  extra: Partial<RoomsOptions>;
}

/** Several Rooms nodes on an in-memory mesh with manual delivery. */
export class TestMesh {
  readonly hub = new MemoryHub();
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, TestNode>();

  constructor(private readonly defaults: Partial<RoomsOptions> = {}) {}

  async add(id: string, skewMs = 0, db: Db = memoryDb(), extra: Partial<RoomsOptions> = {}): Promise<TestNode> {
    const transport = this.hub.attach(id);
    const clock = new SkewedClock(this.clock, skewMs);
    const log = new MemoryLog();
    const rooms = new Rooms({ store: { db }, transport, displayName: `${id}-human`, clock, logger: log.logger, sync: { intervalMs: 0 }, ...this.defaults, ...extra });
    await rooms.start();
    const node = { id, rooms, db, transport, clock, log, extra };
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): TestNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Stops a node (its links go down) and starts it again on the same database. */
  async restart(id: string): Promise<TestNode> {
    const old = this.node(id);
    await old.rooms.stop();
    this.hub.detach(id);
    return this.add(id, old.clock.skewMs, old.db, old.extra);
  }

  /** Delivers everything, letting timers (gap pulls) run, until the mesh is quiet. */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      this.hub.flush();
      this.clock.advance(1000);
      if (this.hub.pending === 0) return;
    }
    throw new Error('the mesh did not settle');
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      await node.rooms.stop();
      node.db.close();
    }
    this.nodes.clear();
    this.hub.close();
  }
}

/** The full history of a room as one array (oldest first), paging through it. */
export function fullHistory(rooms: Rooms, roomId: string, pageSize = 50): unknown[] {
  const pages: unknown[][] = [];
  let page = rooms.history({ roomId, limit: pageSize });
  pages.unshift(page.messages);
  while (page.hasMore) {
    page = rooms.history({ roomId, limit: pageSize, before: page.messages[0]!.id });
    pages.unshift(page.messages);
  }
  return pages.flat();
}
