import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportTrainingData, type ExportSource } from '../../../server/src/academy/export';
import { exportArgSpec, runExportCommand } from '../../../server/src/cli/exportCommand';
import { parseArgs } from '../../../server/src/cli/args';
import type { CliOutput } from '../../../server/src/cli/output';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import type { Signal } from '../../../protocol/academy';
import type { ChatMessage } from '../../../protocol/rooms';
import { Store } from '../../../server/src/store/database';
import { useTempDir } from '../../support/tempDir';
import { AcademyMesh, exchange, persona, signed } from './support';

const t0 = 1_800_000_000_000;

/** A fixture history: one question, answers by two personas, ratings from two nodes. */
function fixture(): { source: ExportSource; nodeA: string } {
  const alice = generateIdentity().identity;
  const bob = generateIdentity().identity;
  const good = persona('NODE1', 'good', 'Good');
  const bad = persona('NODE2', 'bad', 'Bad');
  const message = (id: string, text: string, author: ChatMessage['author'], replyTo?: string, extra: Partial<ChatMessage> = {}): ChatMessage => {
    const [origin, seq] = id.split(':') as [string, string];
    return { id, roomId: 'general', origin, roomSeq: Number(seq), author, text, mentions: [], hlc: { wall: t0, logical: 0 }, reactions: {}, ...(replyTo ? { replyTo } : {}), ...extra };
  };
  const human = { nodeId: 'NODE0', participantId: 'user', displayName: 'Ann', kind: 'human' as const };
  const messages = [
    message('NODE0:1', 'How do I reverse a list?', human),
    message('NODE1:1', 'Use list.reverse().', { nodeId: 'NODE1', participantId: 'good', displayName: 'Good', kind: 'persona' }, 'NODE0:1'),
    message('NODE2:1', 'Lists cannot be reversed.', { nodeId: 'NODE2', participantId: 'bad', displayName: 'Bad', kind: 'persona' }, 'NODE0:1'),
    message('NODE0:2', 'Gone', human),
    message('NODE1:2', 'deleted answer', { nodeId: 'NODE1', participantId: 'good', displayName: 'Good', kind: 'persona' }, 'NODE0:2', { deleted: true }),
  ];
  const signals: Signal[] = [
    signed(alice, { persona: good, messageId: 'NODE1:1', promptId: 'NODE0:1', value: 1, ts: t0 + 1, slot: 'thumbs:general/NODE1:1' }),
    signed(bob, { persona: good, messageId: 'NODE1:1', promptId: 'NODE0:1', value: 1, ts: t0 + 2, slot: 'thumbs:general/NODE1:1' }),
    signed(alice, { persona: bad, messageId: 'NODE2:1', promptId: 'NODE0:1', value: -1, ts: t0 + 3, slot: 'thumbs:general/NODE2:1' }),
    signed(alice, { persona: good, messageId: 'NODE1:2', promptId: 'NODE0:2', value: 1, ts: t0 + 4 }),
    // Not in this node's history: the texts come from the signal.
    signed(bob, { persona: good, room: 'elsewhere', messageId: 'NODE1:9', promptId: 'NODE3:1', value: 1, ts: t0 + 5, context: { input: 'What is 2+2?', actual: '4' } }),
    // Rated then taken back: counts for nothing.
    signed(bob, { persona: bad, room: 'elsewhere', messageId: 'NODE2:9', promptId: 'NODE3:1', value: -1, ts: t0 + 6, slot: 's', context: { input: 'What is 2+2?', actual: '5' } }),
    signed(bob, { persona: bad, room: 'elsewhere', messageId: 'NODE2:9', promptId: 'NODE3:1', value: 0, withdrawn: true, ts: t0 + 7, slot: 's', context: { input: 'What is 2+2?', actual: '5' } }),
  ];
  const byId = new Map(messages.map((m) => [m.id, m]));
  return {
    nodeA: alice.nodeId,
    source: { signals: () => [...signals].reverse(), message: (roomId, id) => (roomId === 'general' ? byId.get(id) : undefined) },
  };
}

const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('academy/export', () => {
  it('openai: {"messages":[system, user, assistant]} for answers rated up overall', () => {
    const { lines, summary } = exportTrainingData(fixture().source, 'openai');
    const rows = parse(lines);
    assert.equal(rows.length, 2);
    for (const row of rows) {
      const messages = row['messages'] as { role: string; content: string }[];
      assert.deepEqual(messages.map((m) => m.role), ['system', 'user', 'assistant']);
      assert.ok(messages.every((m) => typeof m.content === 'string' && m.content.length > 0));
    }
    assert.deepEqual(rows[0], {
      messages: [
        { role: 'system', content: 'You are Good.' },
        { role: 'user', content: 'How do I reverse a list?' },
        { role: 'assistant', content: 'Use list.reverse().' },
      ],
    });
    assert.equal((rows[1]!['messages'] as { content: string }[])[2]!.content, '4');
    assert.deepEqual(summary, { format: 'openai', written: 2, skipped: { 'not rated positively overall': 1, 'the answer was deleted': 1 } });
  });

  it('dpo: {"prompt","chosen","rejected"} from two answers to one prompt rated oppositely', () => {
    const { lines, summary } = exportTrainingData(fixture().source, 'dpo');
    assert.deepEqual(parse(lines), [{ prompt: 'How do I reverse a list?', chosen: 'Use list.reverse().', rejected: 'Lists cannot be reversed.' }]);
    assert.equal(summary.skipped['no opposite-rated answer to the same prompt'], 1);
  });

  it('kto: {"prompt","completion","label"} for every rated answer', () => {
    const rows = parse(exportTrainingData(fixture().source, 'kto').lines);
    assert.deepEqual(
      rows.map((r) => [r['completion'], r['label']]),
      [
        ['Use list.reverse().', true],
        ['Lists cannot be reversed.', false],
        ['4', true],
      ],
    );
    for (const row of rows) assert.deepEqual(Object.keys(row).sort(), ['completion', 'label', 'prompt']);
  });

  it('filters by persona (key, id or name), room and since', () => {
    const { source } = fixture();
    assert.equal(exportTrainingData(source, 'kto', { persona: 'bad' }).lines.length, 1);
    assert.equal(exportTrainingData(source, 'kto', { persona: 'NODE1/good' }).lines.length, 2);
    assert.equal(exportTrainingData(source, 'kto', { persona: 'GOOD' }).lines.length, 2);
    assert.equal(exportTrainingData(source, 'kto', { room: 'elsewhere' }).lines.length, 1);
    assert.equal(exportTrainingData(source, 'kto', { since: t0 + 3 }).lines.length, 2);
    assert.equal(exportTrainingData(source, 'dpo', { persona: 'bad' }).lines.length, 1);
  });

  describe('persona-mesh export', () => {
    const dir = useTempDir('persona-mesh-export-');
    const output = () => {
      const errors: string[] = [];
      const events: Record<string, unknown>[] = [];
      const logs: string[] = [];
      const cli: CliOutput = { event: (e) => events.push(e), log: (r) => logs.push(r.message), error: (m) => errors.push(m) };
      return { cli, errors, events, logs };
    };

    it('exports from the database of a running node (WAL), with a summary', async () => {
      const store = new Store(dir.path, silentLogger);
      await store.start();
      const mesh = new AcademyMesh();
      try {
        const a = await mesh.add(store.db);
        const { reply } = exchange(a, 'What is a monad?', 'A monoid in the category of endofunctors.');
        a.academy.rate({ roomId: 'general', messageId: reply.id, persona: `${a.id}/helper`, rating: 'down' });
        const out = join(dir.path, 'kto.jsonl');
        const io = output();
        const code = await runExportCommand(parseArgs(['export', '--format', 'kto', '--data-dir', dir.path, '--out', out, '--since', '2020-01-01T00:00:00Z'], exportArgSpec), { output: io.cli });
        assert.equal(code, 0, io.errors.join('\n'));
        assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ prompt: 'What is a monad?', completion: 'A monoid in the category of endofunctors.', label: false }]);
        assert.deepEqual(io.events, [{ event: 'export', format: 'kto', written: 1, skipped: {}, out }]);
        assert.match(io.logs[0]!, /wrote 1 kto line/);
        // Through the component (what mesh/academy/export does) too.
        const viaNode = join(dir.path, 'openai.jsonl');
        assert.deepEqual(a.academy.exportTo({ format: 'openai', path: viaNode }), { format: 'openai', written: 0, skipped: { 'not rated positively overall': 1 } });
        assert.equal(readFileSync(viaNode, 'utf8'), '');
      } finally {
        await mesh.close();
        await store.stop();
      }
    });

    it('says what is wrong: no database, bad format, bad date', async () => {
      const io = output();
      assert.equal(await runExportCommand(parseArgs(['export', '--format', 'dpo', '--data-dir', dir.path, '--out', join(dir.path, 'x.jsonl')], exportArgSpec), { output: io.cli }), 2);
      assert.match(io.errors[0]!, /no database/);
      assert.equal(existsSync(join(dir.path, 'mesh.db')), false, 'no empty database is created');
      await assert.rejects(runExportCommand(parseArgs(['export', '--format', 'csv', '--out', 'x'], exportArgSpec), { output: io.cli }), /--format must be one of openai, dpo, kto/);
      await assert.rejects(runExportCommand(parseArgs(['export', '--format', 'kto', '--out', 'x', '--since', 'yesterday'], exportArgSpec), { output: io.cli }), /not a date/);
      await assert.rejects(runExportCommand(parseArgs(['export', '--format', 'kto'], exportArgSpec), { output: io.cli }), /--out FILE is required/);
    });
  });
});
