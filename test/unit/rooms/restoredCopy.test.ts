import { strict as assert } from 'node:assert';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { migrate, type Db } from '../../../server/src/store/database';
import { migrations } from '../../../server/src/store/migrations';
import { useTempDir } from '../../support/tempDir';
import { TestMesh } from './support';

function fileDb(path: string): Db {
  const db = new Database(path);
  migrate(db, migrations);
  return db;
}

describe('rooms: a node restarted from an older copy of its database', () => {
  const temp = useTempDir('persona-mesh-restored-');
  let mesh: TestMesh;
  const open: Db[] = [];
  afterEach(async () => {
    await mesh.close();
    for (const db of open.splice(0)) if (db.open) db.close();
  });

  it('never sends a number the mesh already holds for other content: its new events wait for a peer, then are numbered after the mesh’s', async () => {
    mesh = new TestMesh();
    const live = join(temp.path, 'a.db');
    const backup = join(temp.path, 'a-backup.db');
    const aDb = fileDb(live);
    open.push(aDb);
    const a = await mesh.add('A', 0, aDb);
    const b = await mesh.add('B');
    mesh.settle();
    aDb.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(live, backup);
    for (let i = 1; i <= 3; i++) a.rooms.send({ roomId: 'general', text: `after the backup ${i}` });
    mesh.settle();
    assert.equal(b.rooms.history({ roomId: 'general', limit: 10 }).messages.length, 3);

    // A's machine is restored from the backup: same identity, older database.
    await a.rooms.stop();
    mesh.hub.detach('A');
    const restoredDb = fileDb(backup);
    open.push(restoredDb);
    const restored = await mesh.add('A', 0, restoredDb);
    const written = restored.rooms.send({ roomId: 'general', text: 'after the restore' });
    assert.equal(written.roomSeq, 2, 'the old copy numbered it 2, a number the mesh holds');

    mesh.settle();
    const texts = (node: typeof b) => node.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text);
    const expected = ['after the backup 1', 'after the backup 2', 'after the backup 3', 'after the restore'];
    assert.deepEqual(texts(b), expected);
    assert.deepEqual(texts(restored), expected);
    assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.id), restored.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.id));
    assert.equal(b.rooms.history({ roomId: 'general', limit: 10 }).messages.at(-1)!.roomSeq, 5, 'numbered after the mesh’s newest');
    assert.equal(restored.rooms.renumbered, 1);
    assert.deepEqual(b.rooms.gaps('general'), []);
    assert.ok(restored.log.messages('warn').some((line) => line.includes('its database is older than what it wrote')));
  });

  it('alone, a node sends its held events after a short wait', async () => {
    mesh = new TestMesh();
    const a = await mesh.add('A');
    a.rooms.send({ roomId: 'general', text: 'alone' });
    const b = await mesh.add('B');
    mesh.hub.flush();
    // B came after A's wait began; B's pull answers A anyway, so the event goes out.
    mesh.settle();
    assert.deepEqual(b.rooms.history({ roomId: 'general', limit: 10 }).messages.map((m) => m.text), ['alone']);
  });
});
