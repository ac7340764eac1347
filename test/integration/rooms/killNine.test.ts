import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { useTempDir } from '../../support/tempDir';
import { RoomsNode, waitFor } from './support';

interface Child {
  process: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<void>;
}

function startChild(dir: string, name: string, peers: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'roomsProcess.ts'), dir, name, ...peers], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { process: child, lines, exited };
}

describe('rooms: a node killed with kill -9 mid-conversation', function () {
  this.timeout(60_000);
  const temp = useTempDir('persona-mesh-rooms-kill-');

  it('keeps every acknowledged message and catches up after a restart', async () => {
    mkdirSync(join(temp.path, 'alice'));
    mkdirSync(join(temp.path, 'carol'));
    // Carol writes far above the limit people have: alice must store it all.
    const alice = await RoomsNode.start('alice', join(temp.path, 'alice'), { maxMessagesPerMinute: 1_000_000 });
    let child: Child | undefined;
    try {
      await alice.connect();
      child = startChild(join(temp.path, 'carol'), 'carol', [alice.address]);
      await waitFor('carol ready', () => child!.lines.some((l) => l.ready), 20_000);
      const carolId = child.lines.find((l) => l.ready)!.ready as string;
      await waitFor('carol connected', () => alice.transport.upPeers().includes(carolId), 10_000);

      child.process.stdin!.write('send 100000\n');
      for (let i = 0; i < 20; i++) alice.rooms.send({ roomId: 'general', text: `alice ${i}` });
      await waitFor('carol mid-conversation', () => child!.lines.filter((l) => l.acked).length >= 200, 20_000);
      child.process.kill('SIGKILL');
      await child.exited;
      const acked = child.lines.filter((l) => l.acked).map((l) => l.acked as string);
      for (let i = 20; i < 50; i++) alice.rooms.send({ roomId: 'general', text: `alice while carol is down ${i}` });

      child = startChild(join(temp.path, 'carol'), 'carol', [alice.address]);
      await waitFor('carol ready again', () => child!.lines.some((l) => l.ready), 20_000);
      assert.equal(child.lines.find((l) => l.ready)!.ready, carolId, 'same node id from the same data dir');
      await waitFor('alice holds every acknowledged message of carol', () => acked.every((id) => alice.rooms.message('general', id) !== undefined), 20_000);
      // Carol may have committed a few messages after the last one it acknowledged: they count too.
      let expected: string[] = [];
      let history: Record<string, unknown> | undefined;
      await waitFor(
        'carol caught up',
        () => {
          expected = alice.history().map((m) => m.id);
          child!.process.stdin!.write('history\n');
          history = child!.lines.filter((l) => l.history).at(-1);
          return (history?.history as string[] | undefined)?.length === expected.length;
        },
        20_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: alice holds ${expected.length}, carol ${(history?.history as string[] | undefined)?.length}; gaps ${JSON.stringify(history?.gaps)}`);
      });
      assert.deepEqual(history!.history, expected);
      assert.deepEqual(history!.gaps, []);
      assert.deepEqual(alice.rooms.gaps('general'), []);
      // Carol's own numbering is contiguous: nothing lost below what was acknowledged.
      const carolSeqs = expected.filter((id) => id.startsWith(`${carolId}:`)).map((id) => Number(id.split(':')[1]));
      assert.deepEqual(carolSeqs, carolSeqs.map((_, i) => i + 2), 'roomSeq 1 is the joined event, then 2, 3, ...');
    } finally {
      child?.process.stdin?.end();
      if (child && child.process.exitCode === null && child.process.signalCode === null) await child.exited;
      await alice.stop();
    }
  });
});
