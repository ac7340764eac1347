/**
 * A copied data folder (restored backup, cloned VM, a folder synced to a second machine) started
 * while the original runs: real CLI processes on loopback. The copy must stop with exit code 2 and
 * say what to do; the original keeps its peers without a single peer.down. A copy started after
 * the original is gone is a plain restart. Then the same under VS Code (MeshNode in process): the
 * problem and the way out, a new identity.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockFileName } from '../../../server/src/node/dataDirLock';
import { identityFileName } from '../../../server/src/kernel/identity';
import { duplicateIdentityProblem } from '../../../protocol/status';
import { CliProcess } from '../cli/support';
import { useTempDir } from '../../support/tempDir';
import { until, waitPast } from '../../support/until';
import { loopbackNetwork, useMeshNodes } from '../support/meshNodes';
import { rpc, upIds } from './support/cliNodes';

const group = '239.255.77.77';
const meshKey = 'cloned data dir tests mesh key';
let nextPort = 42000 + Math.floor(Math.random() * 6000) + 3;
function freshPort(): number {
  nextPort += 13;
  return nextPort;
}

/** The promise's value, or undefined after `ms` (the timer is cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const downs = (cli: CliProcess) => cli.events.filter((e) => e.event === 'peer.down');

describe('a cloned data folder (CLI processes on loopback)', function () {
  this.timeout(60_000);
  let dir = '';
  const running: CliProcess[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-clone-'));
  });
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      cli.kill();
      await cli.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** `discovery` is a multicast port, or false for static peers only. */
  function start(name: string, dataDir: string, discovery: number | false, peers: string[] = []): CliProcess {
    const args = ['node', '--name', name, '--data-dir', join(dir, dataDir), '--jsonl', '--listen', '127.0.0.1:0'];
    if (discovery === false) args.push('--no-discovery');
    else args.push('--interface', '127.0.0.1', '--multicast', `${group}:${discovery}`, '--interval-ms', '500');
    for (const peer of peers) args.push('--peer', peer);
    const cli = new CliProcess(args, { PERSONA_MESH_KEY: meshKey });
    running.push(cli);
    return cli;
  }

  /**
   * Copies a data folder as another machine would have it. The lock is left out: on the other
   * machine (another boot id) the original's lock would be taken for a stale one anyway, while here
   * on one machine it would name a live process and stop the copy before it reached the mesh.
   */
  function copyDataDir(from: string, to: string): void {
    cpSync(join(dir, from), join(dir, to), { recursive: true, filter: (source) => !source.endsWith(lockFileName) });
  }

  async function ready(cli: CliProcess): Promise<{ nodeId: string; listen: string }> {
    const event = await cli.waitFor('ready');
    return { nodeId: String(event.nodeId), listen: String(event.listen) };
  }

  /** The copy exits 2 naming the folder, the original's short id and address; the original and its peers see no peer.down for 5 s. */
  async function expectCopyRefused(copy: CliProcess, copyDir: string, original: { nodeId: string; listen: string }, stayUp: CliProcess[]): Promise<void> {
    const marks = stayUp.map((cli) => downs(cli).length);
    const started = Date.now();
    const exit = await within(copy.exited, 15_000);
    assert.ok(exit, `the copy did not stop within 15 s; stderr:\n${copy.stderr}`);
    const detectionMs = Date.now() - started;
    assert.equal(exit.code, 2, copy.stderr);
    const error = copy.events.find((e) => e.event === 'error' && e.code === 'identity-duplicate');
    assert.ok(error, `no error event; events: ${JSON.stringify(copy.events)}`);
    const reason = String(error.reason);
    assert.ok(reason.includes(join(dir, copyDir)), reason);
    assert.ok(reason.includes(`${original.nodeId.slice(0, 7)}, at ${original.listen}`), reason);
    assert.match(reason, /is a copy of a running node's/);
    assert.match(reason, /--data-dir/);
    assert.match(copy.stderr, /persona-mesh: error: this data folder .* is a copy of a running node's/);
    // A wall-time wait: the promise under test is "no peer.down for 5 s" after the copy stops. A
    // peer that was probing the original when the copy's session came decides when its duplicate
    // probe (1 s) runs out; no event says that nothing came of it.
    await waitPast(5000, 'the 5 s without peer.down that the nodes that stay are promised (the duplicate probe is 1 s)');
    stayUp.forEach((cli, i) => assert.deepEqual(downs(cli).slice(marks[i]), [], `peer.down events on a node that stays; stderr:\n${cli.stderr}`));
    // The copy never got a session with anyone.
    assert.equal(copy.events.filter((e) => e.event === 'peer.up').length, 0);
    process.stdout.write(`      (the copy exited ${detectionMs} ms after it was started)\n`);
  }

  it('with multicast: the copy exits 2 with the reason; the original keeps both peers; whoever noticed warns once', async () => {
    const port = freshPort();
    const [a, b, c] = [start('a', 'a', port), start('b', 'b', port), start('c', 'c', port)];
    const [idA, idB, idC] = await Promise.all([ready(a), ready(b), ready(c)]);
    await until('all pairs up', () => (upIds(a.events).size === 2 && upIds(b.events).size === 2 && upIds(c.events).size === 2 ? true : undefined), 15_000);
    copyDataDir('a', 'a-copy');
    const copy = start('a-copy', 'a-copy', port);
    await expectCopyRefused(copy, 'a-copy', idA, [a, b, c]);
    assert.deepEqual(upIds(a.events), new Set([idB.nodeId, idC.nodeId]));
    assert.ok(upIds(b.events).has(idA.nodeId) && upIds(c.events).has(idA.nodeId));
    // The original hears the copy's beacons and tells it itself, or a peer refuses it first: one warning each at most.
    const warnings = [a, b, c].map((cli) => cli.stderr.split('\n').filter((line) => line.includes('[warn]') && line.includes(idA.nodeId.slice(0, 7)) && /two live instances|another instance of this node/.test(line)));
    for (const lines of warnings) assert.ok(lines.length <= 1, lines.join('\n'));
    assert.ok(warnings.some((lines) => lines.length === 1), 'nobody warned');
  });

  it('without multicast (static peers): a third node notices, the copy exits 2; the original keeps its session', async () => {
    const hub = start('hub', 'hub', false);
    const idHub = await ready(hub);
    const a = start('a', 'a', false, [idHub.listen]);
    const idA = await ready(a);
    await until('a and the hub up', () => (upIds(a.events).has(idHub.nodeId) && upIds(hub.events).has(idA.nodeId) ? true : undefined), 15_000);
    copyDataDir('a', 'a-copy');
    const copy = start('a-copy', 'a-copy', false, [idHub.listen]);
    await expectCopyRefused(copy, 'a-copy', idA, [a, hub]);
    assert.ok(upIds(hub.events).has(idA.nodeId));
    const warnings = hub.stderr.split('\n').filter((line) => line.includes('two live instances'));
    assert.equal(warnings.length, 1, hub.stderr);
    assert.ok(warnings[0]!.includes(`${idA.nodeId.slice(0, 7)} has two live instances`), warnings[0]);
    assert.match(warnings[0]!, new RegExp(`kept the one at ${idA.listen} .*refused the one at 127\\.0\\.0\\.1`), 'both addresses');
  });

  it('the original is killed, then the copy starts: a plain restart, no error', async () => {
    const port = freshPort();
    const [a, b] = [start('a', 'a', port), start('b', 'b', port)];
    const [idA, idB] = await Promise.all([ready(a), ready(b)]);
    await until('pair up', () => (upIds(b.events).has(idA.nodeId) ? true : undefined), 15_000);
    copyDataDir('a', 'a-copy');
    a.kill('SIGKILL');
    await a.exited;
    await until('b sees a go', () => (upIds(b.events).has(idA.nodeId) ? undefined : true), 5000);
    const copy = start('a-copy', 'a-copy', port);
    assert.equal((await ready(copy)).nodeId, idA.nodeId);
    await until('the copy and b up', () => (upIds(copy.events).has(idB.nodeId) && upIds(b.events).has(idA.nodeId) ? true : undefined), 15_000);
    // The session works both ways (b took it, no instance to arbitrate): a refusal would have come
    // on it before the answers, and an error event before the copy's answer on its stdout.
    for (const [from, to, id] of [[copy, idB.nodeId, 'copy-to-b'], [b, idA.nodeId, 'b-to-copy']] as const) {
      const answer = await rpc(from, to, 'ping', id);
      assert.equal((answer.result as { pong?: boolean } | undefined)?.pong, true, JSON.stringify(answer));
    }
    assert.equal(copy.child.exitCode, null, copy.stderr);
    assert.ok(!copy.events.some((e) => e.event === 'error'), JSON.stringify(copy.events));
  });
});

describe('a node refused as a copy, under VS Code (MeshNode)', function () {
  this.timeout(30_000);
  const dir = useTempDir('duplicate-identity-');
  const nodes = useMeshNodes();

  it('reports the problem with the way out; a new identity (the old key kept aside) joins the mesh', async () => {
    const meshKey = 'duplicate identity test key';
    const hub = await nodes.start({ dataDir: join(dir.path, 'hub'), meshKey, network: loopbackNetwork(), name: 'hub' });
    const hubAddress = hub.network!.listenAddress;
    const original = await nodes.start({ dataDir: join(dir.path, 'original'), meshKey, network: loopbackNetwork([hubAddress]), name: 'original' });
    await until('original up at the hub', () => (hub.network!.upPeers().includes(original.identity.nodeId) ? true : undefined), 10_000);
    const copyDir = join(dir.path, 'copy');
    mkdirSync(copyDir);
    cpSync(join(dir.path, 'original', identityFileName), join(copyDir, identityFileName));

    const copy = await nodes.start({ dataDir: copyDir, meshKey, network: loopbackNetwork([hubAddress]), name: 'copy', headless: false });
    assert.equal(copy.identity.nodeId, original.identity.nodeId);
    const problem = await until('the copy reports the problem', () => copy.status().problems.find((p) => p.code === duplicateIdentityProblem), 10_000);
    assert.equal(copy.status().state, 'degraded');
    assert.equal(copy.network, undefined, 'it left the mesh');
    assert.match(problem.message, new RegExp(`^this data folder \\(${copyDir.replace(/[/\\]/g, '.')}\\) is a copy of a running node's \\(${original.identity.nodeId.slice(0, 7)}, at ${original.network!.listenAddress}\\)`));
    assert.match(problem.message, /create a new identity for this window's node/);
    assert.doesNotMatch(problem.message, /--data-dir/, 'no CLI flags under VS Code');

    const aside = copy.moveIdentityAside();
    assert.match(aside, /identity\.pem\..*\.bak$/);
    assert.ok(!existsSync(join(copyDir, identityFileName)));
    await copy.stop();
    const renewed = await nodes.start({ dataDir: copyDir, meshKey, network: loopbackNetwork([hubAddress]), name: 'copy', headless: false });
    assert.notEqual(renewed.identity.nodeId, original.identity.nodeId);
    await until('both up at the hub', () => (hub.network!.upPeers().length === 2 ? true : undefined), 10_000);
    assert.deepEqual(renewed.status().problems, []);
    assert.ok(readdirSync(copyDir).some((name) => name.endsWith('.bak')), 'the old key is kept');
  });
});
