/**
 * Mesh nodes as real processes (`persona-mesh node --jsonl`, server/out/cli.js from `npm run
 * build`): loopback only (`--listen 127.0.0.1:0`, multicast named on 127.0.0.1, TTL 1), a
 * random discovery port per test. Then the same CLI nodes in three network namespaces on a
 * bridge (root; CI is root): discovery and messaging across them, one link cut and restored.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { CliProcess, cliPath } from '../cli/support';
import { until } from '../../support/until';
import { counters, rpc, upIds, type Event } from './support/cliNodes';
import { NamespaceLab, namespacesAvailable } from './support/netns';

const group = '239.255.77.77';
const meshKey = 'process tests mesh key';
let nextPort = 42000 + Math.floor(Math.random() * 6000);
/** A discovery port of its own per test (random base, stepped so tests in a run differ). */
function freshPort(): number {
  nextPort += 11;
  return nextPort;
}

describe('mesh nodes as processes on loopback (CLI)', function () {
  this.timeout(60_000);
  let dir = '';
  const running: CliProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-processes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const cli of running.splice(0)) {
      cli.kill();
      await cli.exited;
    }
  });

  function start(name: string, port: number, options: { key?: string; peers?: string[]; logLevel?: string } = {}): CliProcess {
    const args = ['node', '--name', name, '--data-dir', join(dir, name), '--jsonl', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--multicast', `${group}:${port}`, '--interval-ms', '500'];
    for (const peer of options.peers ?? []) args.push('--peer', peer);
    if (options.logLevel) args.push('--log-level', options.logLevel);
    const cli = new CliProcess(args, { PERSONA_MESH_KEY: options.key ?? meshKey });
    running.push(cli);
    return cli;
  }

  it('5 nodes come up and every pair sees peer.up', async () => {
    const port = freshPort();
    const clis = Array.from({ length: 5 }, (_, i) => start(`n${i}`, port));
    const ids = (await Promise.all(clis.map((cli) => cli.waitFor('ready')))).map((ready) => String(ready.nodeId));
    assert.equal(new Set(ids).size, 5);
    await until(
      'every node sees the 4 others up',
      () => clis.every((cli, i) => ids.every((id, j) => i === j || upIds(cli.events).has(id))) || undefined,
      20_000,
      () => clis.map((cli, i) => `n${i}: ${[...upIds(cli.events)].map((id) => id.slice(0, 6)).join(',')}`).join('\n'),
    );
    // peer.up names the peer and its address on loopback.
    for (const cli of clis) {
      for (const event of cli.events.filter((e) => e.event === 'peer.up')) {
        assert.match(String(event.addr), /^127\.0\.0\.1:\d+$/);
        assert.match(String(event.name), /^n[0-4]$/);
      }
    }
    // The peers op agrees with the events.
    clis[0]!.send({ op: 'peers' });
    const peers = (await clis[0]!.waitFor('peers')).peers as { nodeId: string; state: string }[];
    assert.deepEqual(new Set(peers.filter((p) => p.state === 'up').map((p) => p.nodeId)), new Set(ids.slice(1)));
  });

  it('kill -9 one node: the others see peer.down within 3 s; restarted with its data dir it rejoins with the same node id', async () => {
    const port = freshPort();
    const clis = Array.from({ length: 3 }, (_, i) => start(`k${i}`, port));
    const ids = (await Promise.all(clis.map((cli) => cli.waitFor('ready')))).map((ready) => String(ready.nodeId));
    await until('all pairs up', () => clis.every((cli, i) => upIds(cli.events).size === 2 && !upIds(cli.events).has(ids[i]!)) || undefined, 15_000);
    const victim = clis[2]!;
    const victimId = ids[2]!;
    const marks = [clis[0]!.events.length, clis[1]!.events.length];
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const downSeen = (i: number) => clis[i]!.events.slice(marks[i]).some((e) => e.event === 'peer.down' && e.nodeId === victimId);
    await until('peer.down on both survivors', () => (downSeen(0) && downSeen(1)) || undefined, 3000);
    assert.ok(Date.now() - killedAt <= 3000);

    const restarted = start('k2', port);
    const ready = await restarted.waitFor('ready');
    assert.equal(ready.nodeId, victimId, 'same data dir, same identity');
    const upAgain = (i: number) => {
      const after = clis[i]!.events.slice(marks[i]);
      const down = after.findIndex((e) => e.event === 'peer.down' && e.nodeId === victimId);
      return down >= 0 && after.slice(down + 1).some((e) => e.event === 'peer.up' && e.nodeId === victimId);
    };
    await until('both survivors see it come back (peer.down then peer.up)', () => (upAgain(0) && upAgain(1)) || undefined, 15_000, () => restarted.stderr);
    await until('the restarted node sees both', () => upIds(restarted.events).size === 2 || undefined, 10_000);
    assert.deepEqual(upIds(restarted.events), new Set(ids.slice(0, 2)));
  });

  it('a node with a different mesh key gets zero sessions and logs the refused handshake', async () => {
    const port = freshPort();
    const good = [start('g0', port), start('g1', port)];
    const goodIds = (await Promise.all(good.map((cli) => cli.waitFor('ready')))).map((ready) => String(ready.nodeId));
    await until('the two good nodes pair', () => good.every((cli) => upIds(cli.events).size === 1) || undefined, 15_000);
    const goodListen = String(good[0]!.events.find((e) => e.event === 'ready')!.listen);
    // The outsider hears the beacons (and knows an address directly), so it keeps trying.
    const outsider = start('outsider', port, { key: 'some other mesh key', peers: [goodListen], logLevel: 'trace' });
    const outsiderId = String((await outsider.waitFor('ready')).nodeId);
    await until('the outsider logs a refused handshake and a rejected beacon', () => (/handshake-failed/.test(outsider.stderr) && /rejected: bad-hmac/.test(outsider.stderr)) || undefined, 10_000, () => outsider.stderr);
    // The good nodes refuse the outsider's beacons too. Their answers to `stats` (and the
    // outsider's to `status`) come after every event they emitted before: a peer.up from any of
    // the refused attempts would be among the events by then.
    for (const cli of good) await until('a good node to refuse the outsider beacons', async () => ((await counters(cli))['discovery.rejected.bad-hmac'] ?? 0) > 0 || undefined, 10_000, () => cli.stderr);
    outsider.send({ op: 'status' });
    assert.equal((await outsider.waitFor('status')).peers, 0);
    assert.equal(outsider.events.filter((e) => e.event === 'peer.up').length, 0, 'the outsider saw a peer.up');
    for (const cli of good) assert.ok(!cli.events.some((e) => e.event === 'peer.up' && e.nodeId === outsiderId));
    // The good pair is undisturbed.
    assert.ok(good.every((cli, i) => upIds(cli.events).has(goodIds[1 - i]!)));
  });

  it('rpc outside the allow-list answers "not allowed"; ping answers', async () => {
    const port = freshPort();
    const [a, b] = [start('r0', port), start('r1', port)];
    const [, bReady] = await Promise.all([a.waitFor('ready'), b.waitFor('ready')]);
    const bId = String(bReady.nodeId);
    await until('pair up', () => upIds(a.events).has(bId) || undefined, 15_000);
    const pong = await rpc(a, bId, 'ping', 'p1');
    assert.equal((pong.result as { pong?: boolean }).pong, true, JSON.stringify(pong));
    const refused = await rpc(a, bId, 'node.shutdown', 'x1');
    assert.equal(refused.result, undefined);
    assert.match(String(refused.error), /not allowed/);
  });
});

/** A CLI node inside a namespace, with its JSONL events. */
class NamespacedNode {
  readonly events: Event[] = [];
  stderr = '';
  constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as Event);
      } catch {
        this.stderr += `(not JSON) ${line}\n`;
      }
    });
  }
  send(command: Event): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }
  ready(): Event | undefined {
    return this.events.find((e) => e.event === 'ready');
  }
}

describe('mesh nodes as processes in network namespaces (root)', function () {
  this.timeout(150_000);

  before(function () {
    // No skip: CI is root and must run this. Say clearly what is missing instead.
    if (!namespacesAvailable()) {
      throw new Error(`network namespace tests need root and a working "ip netns" (uid ${process.getuid?.() ?? '?'}); run them as root (CI does)`);
    }
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first`);
  });

  it('3 namespaces on a bridge: nodes discover each other, answer rpc across, and reconnect after a link is cut and restored', async () => {
    const lab = await NamespaceLab.create(3);
    const dir = mkdtempSync(join(tmpdir(), 'pm-netns-'));
    const port = 47000 + Math.floor(Math.random() * 1000);
    try {
      const nodes = [0, 1, 2].map((i) => {
        const address = lab.address(i);
        const args = [cliPath, 'node', '--name', `ns${i}`, '--data-dir', join(dir, `ns${i}`), '--jsonl', '--listen', `${address}:0`, '--interface', address, '--multicast', `${group}:${port}`, '--interval-ms', '500'];
        return new NamespacedNode(lab.spawn(i, process.execPath, args, { env: { PATH: process.env.PATH, PERSONA_MESH_KEY: meshKey } }));
      });
      const dump = () => nodes.map((n, i) => `--- ns${i}\n${JSON.stringify(n.events)}\n${n.stderr}`).join('\n');
      await until('3 nodes ready', () => nodes.every((n) => n.ready()) || undefined, 20_000, dump);
      const ids = nodes.map((n) => String(n.ready()!.nodeId));
      nodes.forEach((n, i) => assert.match(String(n.ready()!.listen), new RegExp(`^${lab.address(i).replace(/\./g, '\\.')}:\\d+$`)));
      await until('all pairs up across namespaces', () => nodes.every((n, i) => ids.every((id, j) => i === j || upIds(n.events).has(id))) || undefined, 20_000, dump);
      for (const [i, n] of nodes.entries()) {
        for (const event of n.events.filter((e) => e.event === 'peer.up')) assert.match(String(event.addr), /^10\.\d+\.0\.[1-3]:\d+$/, `ns${i} peer.up ${JSON.stringify(event)}`);
      }

      // Messaging across namespaces: every node pings every other over its session.
      let call = 0;
      const ping = async (from: number, to: number) => {
        const id = `ping-${from}-${to}-${++call}`;
        nodes[from]!.send({ op: 'rpc', node: ids[to], method: 'ping', params: {}, id });
        return until(`rpc ${id}`, () => nodes[from]!.events.find((e) => e.event === 'rpc.result' && e.id === id), 10_000, dump);
      };
      for (let from = 0; from < 3; from++) {
        for (let to = 0; to < 3; to++) {
          if (from === to) continue;
          const answer = await ping(from, to);
          assert.equal((answer.result as { pong?: boolean } | undefined)?.pong, true, JSON.stringify(answer));
        }
      }

      // Cut namespace 1 off the bridge: the others notice by keepalive, a ping after 15 s of quiet
      // left unanswered for 15 s (a quiet link costs one ping per 15 s, not one per 750 ms).
      const marks = nodes.map((n) => n.events.length);
      await lab.cut(1);
      const sawDown = (i: number, id: string) => nodes[i]!.events.slice(marks[i]).some((e) => e.event === 'peer.down' && e.nodeId === id);
      await until('peer.down for the cut node on both sides', () => (sawDown(0, ids[1]!) && sawDown(2, ids[1]!) && sawDown(1, ids[0]!) && sawDown(1, ids[2]!)) || undefined, 40_000, dump);
      // The two still connected stay up.
      assert.ok(upIds(nodes[0]!.events).has(ids[2]!) && upIds(nodes[2]!.events).has(ids[0]!));

      await lab.restore(1);
      await until('all pairs up again after the link is restored', () => nodes.every((n, i) => ids.every((id, j) => i === j || upIds(n.events).has(id))) || undefined, 30_000, dump);
      const answer = await ping(0, 1);
      assert.equal((answer.result as { pong?: boolean } | undefined)?.pong, true, JSON.stringify(answer));
      const back = await ping(1, 2);
      assert.equal((back.result as { pong?: boolean } | undefined)?.pong, true, JSON.stringify(back));
    } finally {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a laptop that moves to another network (its interface goes down, another comes up) is found there by a node that starts later', async () => {
    const lab = await NamespaceLab.create(2);
    const dir = mkdtempSync(join(tmpdir(), 'pm-netns-'));
    const port = 47000 + Math.floor(Math.random() * 1000);
    const moved = lab.address(0).replace(/\.\d+$/, '.21');
    try {
      // A second link for namespace 0 (think Ethernet beside Wi-Fi), down and without an address.
      execFileSync('ip', ['-n', lab.hub, 'link', 'add', 'p0b', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', lab.name(0)]);
      execFileSync('ip', ['-n', lab.hub, 'link', 'set', 'p0b', 'master', 'br0', 'up']);
      const spawnNode = (i: number, extra: string[]) =>
        new NamespacedNode(
          lab.spawn(i, process.execPath, [cliPath, 'node', '--name', `ns${i}`, '--data-dir', join(dir, `ns${i}`), '--jsonl', '--multicast', `${group}:${port}`, '--interval-ms', '500', ...extra], {
            env: { PATH: process.env.PATH, PERSONA_MESH_KEY: meshKey },
          }),
        );
      // The laptop: any address, the interface chosen by the node (the default).
      const laptop = spawnNode(0, ['--listen', '0.0.0.0:0']);
      await until('the laptop ready', () => laptop.ready(), 20_000, () => laptop.stderr);

      // It moves: the first link goes down, the second comes up with an address of its own.
      execFileSync('ip', ['-n', lab.name(0), 'link', 'set', 'eth0', 'down']);
      execFileSync('ip', ['-n', lab.name(0), 'addr', 'add', `${moved}/24`, 'dev', 'eth1']);
      execFileSync('ip', ['-n', lab.name(0), 'link', 'set', 'eth1', 'up']);
      execFileSync('ip', ['-n', lab.name(0), 'route', 'replace', '224.0.0.0/4', 'dev', 'eth1']);

      const colleague = spawnNode(1, ['--listen', `${lab.address(1)}:0`, '--interface', lab.address(1)]);
      const dump = () => [laptop, colleague].map((n, i) => `--- ns${i}\n${JSON.stringify(n.events)}\n${n.stderr}`).join('\n');
      await until('the colleague ready', () => colleague.ready(), 20_000, dump);
      const [laptopId, colleagueId] = [String(laptop.ready()!.nodeId), String(colleague.ready()!.nodeId)];
      await until('both see each other', () => (upIds(laptop.events).has(colleagueId) && upIds(colleague.events).has(laptopId)) || undefined, 30_000, dump);
      const seen = colleague.events.filter((e) => e.event === 'peer.up' && e.nodeId === laptopId).at(-1)!;
      assert.ok(String(seen.addr).startsWith(`${moved}:`), `the colleague reached the laptop at its new address: ${JSON.stringify(seen)}`);
    } finally {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
