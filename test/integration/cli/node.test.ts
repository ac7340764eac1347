import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'libsql';
import { useTempDir } from '../../support/tempDir';
import { CliProcess, cliPath } from './support';

const meshEnv = { PERSONA_MESH_KEY: 'integration test mesh key' };
/** These tests are about one node: no discovery, sessions on loopback only. */
const local = ['--no-discovery', '--listen', '127.0.0.1:0'];

describe('persona-mesh CLI', () => {
  const dir = useTempDir();
  const running: CliProcess[] = [];
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      cli.kill();
      await cli.exited;
    }
  });
  function start(args: string[], env: NodeJS.ProcessEnv = meshEnv): CliProcess {
    const cli = new CliProcess([...args, ...local], env);
    running.push(cli);
    return cli;
  }

  it('prints usage for --help', () => {
    const result = spawnSync(process.execPath, [cliPath, '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.match(result.stdout, /Usage:\s+persona-mesh node \[options\]/);
    assert.match(result.stdout, /--data-dir DIR/);
  });

  it('starts a node that prints ready with its node id and stops cleanly on SIGTERM', async () => {
    const cli = start(['node', '--data-dir', join(dir.path, 'a'), '--name', 'alpha', '--jsonl']);
    const ready = await cli.waitFor('ready');
    assert.match(String(ready.nodeId), /^[A-Z2-7]{52}$/);
    assert.equal(ready.name, 'alpha');
    cli.kill('SIGTERM');
    assert.deepEqual(await cli.exited, { code: 0, signal: null });
    assert.deepEqual(cli.events.at(-1), { event: 'stopped', reason: 'SIGTERM' });
    assert.doesNotMatch(cli.stderr, /handles still open/);
  });

  it('answers status on stdin, reports a bad line, and stops on {"op":"quit"} keeping its identity', async () => {
    const dataDir = join(dir.path, 'b');
    const first = start(['node', '--data-dir', dataDir, '--jsonl']);
    const ready = await first.waitFor('ready');
    first.send({ op: 'status' });
    const status = await first.waitFor('status');
    assert.equal(status.nodeId, ready.nodeId);
    assert.equal(status.state, 'running');
    assert.equal(status.meshKeySet, true);
    first.send({ op: 'stats' });
    const stats = await first.waitFor('stats');
    assert.equal(stats.nodeId, ready.nodeId, 'stats name the node');
    assert.equal(typeof stats.counters, 'object', 'stats carry the counters');
    assert.equal((stats.overlay as { active?: unknown } | undefined)?.active, 0, `a node alone has an empty active view: ${JSON.stringify(stats.overlay)}`);
    first.child.stdin.write('{not json\n');
    const error = await first.waitFor('error');
    assert.match(String(error.reason), /not a JSON line/);
    first.send({ op: 'quit' });
    assert.equal((await first.exited).code, 0);

    const second = start(['node', '--data-dir', dataDir, '--jsonl']);
    assert.equal((await second.waitFor('ready')).nodeId, ready.nodeId);
  });

  it('answers every stdin line that is not a command with an error event and keeps running', async () => {
    const cli = start(['node', '--data-dir', join(dir.path, 'lines'), '--jsonl']);
    await cli.waitFor('ready');
    const lines = ['null', '[]', '42', 'true', '"quit"', '{}', '{"op":null}', '{"op":{"op":"quit"}}', '{"op":"nope"}'];
    for (const line of lines) cli.child.stdin.write(`${line}\n`);
    cli.send({ op: 'status' });
    assert.equal((await cli.waitFor('status')).state, 'running');
    const errors = cli.events.filter((e) => e.event === 'error');
    assert.equal(errors.length, lines.length, JSON.stringify(errors));
    for (const error of errors) assert.match(String(error.reason), /^stdin: /);
    cli.send({ op: 'quit' });
    assert.equal((await cli.exited).code, 0);
  });

  it('survives kill -9: the restarted node has the same id and its database kept every committed start', async () => {
    const dataDir = join(dir.path, 'c');
    const first = start(['node', '--data-dir', dataDir, '--jsonl']);
    const ready = await first.waitFor('ready');
    first.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    const second = start(['node', '--data-dir', dataDir, '--jsonl']);
    assert.equal((await second.waitFor('ready')).nodeId, ready.nodeId);
    second.send({ op: 'quit' });
    await second.exited;
    const db = new Database(join(dataDir, 'mesh.db'), { readonly: true });
    const row = db.prepare("SELECT value FROM node_meta WHERE key = 'start_count'").get() as { value: string };
    db.close();
    assert.equal(row.value, '2');
  });

  it('never prints the mesh key, from the environment or a file, even at --log-level trace', async () => {
    const fromEnv = 'cli env key 7f3a9c41e2';
    const fromFile = 'cli file key 0b8d52e6a7';
    const keyFile = join(dir.path, 'mesh.key');
    writeFileSync(keyFile, `${fromFile}\n`, { mode: 0o600 });
    for (const [args, key] of [
      [[], fromEnv],
      [['--mesh-key-file', keyFile], fromFile],
    ] as const) {
      const cli = start(['node', '--data-dir', join(dir.path, 'k'), '--jsonl', '--log-level', 'trace', ...args], { PERSONA_MESH_KEY: fromEnv });
      await cli.waitFor('ready');
      cli.send({ op: 'status' });
      assert.equal((await cli.waitFor('status')).meshKeySet, true);
      cli.send({ op: 'quit' });
      assert.equal((await cli.exited).code, 0);
      assert.match(cli.stderr, /mesh key set \(fingerprint [0-9a-f]{8}\)/);
      const printed = `${cli.stderr}\n${JSON.stringify(cli.events)}`;
      assert.ok(!printed.includes(key), `the node printed its mesh key:\n${printed}`);
    }
  });

  describe('bad input gives one clear line and exit code 2', () => {
    function runToEnd(args: string[], env: NodeJS.ProcessEnv) {
      return spawnSync(process.execPath, [cliPath, ...args, ...local], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 15_000, input: '{"op":"quit"}\n' });
    }
    function errorLines(stderr: string): string[] {
      return stderr.split('\n').filter((line) => /error/.test(line));
    }

    it('an empty mesh key', () => {
      const result = runToEnd(['node', '--data-dir', join(dir.path, 'd')], { PERSONA_MESH_KEY: '  ' });
      assert.equal(result.status, 2);
      const lines = errorLines(result.stderr);
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /mesh key is empty: run "Persona Mesh: Set Mesh Key".*--mesh-key-file/);
    });

    it('an unreadable mesh key file', () => {
      const result = runToEnd(['node', '--data-dir', join(dir.path, 'd'), '--mesh-key-file', join(dir.path, 'nope')], {});
      assert.equal(result.status, 2);
      assert.match(result.stderr, /cannot read the mesh key file .*nope: ENOENT/);
    });

    it('a data dir whose parent is missing', () => {
      const missing = join(dir.path, 'no', 'such', 'dir');
      const result = runToEnd(['node', '--data-dir', missing], meshEnv);
      assert.equal(result.status, 2);
      const lines = errorLines(result.stderr);
      assert.equal(lines.length, 1);
      assert.ok(lines[0]!.includes(missing));
      assert.match(lines[0]!, /does not exist/);
    });

    it('a data dir another running node uses', async () => {
      const dataDir = join(dir.path, 'shared');
      const first = start(['node', '--data-dir', dataDir, '--jsonl']);
      const ready = await first.waitFor('ready');
      const result = runToEnd(['node', '--data-dir', dataDir, '--jsonl'], meshEnv);
      assert.equal(result.status, 2);
      const lines = errorLines(result.stderr);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`data dir .*shared is in use by another node \\(process ${String(ready.pid)}\\).*--data-dir .*delete .*shared/node\\.lock`));
      assert.match(result.stdout, /"code":"data-dir-locked"/);
      first.send({ op: 'status' });
      assert.equal((await first.waitFor('status')).state, 'running', 'the first node is untouched');
    });

    it('a corrupt database file, which is left in place', () => {
      const dataDir = join(dir.path, 'e');
      const first = runToEnd(['node', '--data-dir', dataDir, '--jsonl'], { ...meshEnv });
      assert.equal(first.status, 0, first.stderr);
      const garbage = 'garbage, not SQLite '.repeat(300);
      writeFileSync(join(dataDir, 'mesh.db'), garbage);
      const result = runToEnd(['node', '--data-dir', dataDir, '--jsonl'], meshEnv);
      assert.equal(result.status, 2);
      const lines = errorLines(result.stderr);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /database .*mesh\.db is corrupt .*move the file/);
      assert.match(result.stdout, /"code":"database-corrupt"/);
    });
  });
});
