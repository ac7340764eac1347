/**
 * A key holder floods: a patched node process (fixtures/floodProcess.ts: a real MeshNetwork that
 * publishes its own signed room messages with no limits or storage) sends 10,000 messages a second
 * for 15 s while an honest node chats at under a message a second. The receiving node (default
 * limits, the real CLI) must keep the honest messages prompt, store at most the limit of the
 * flooder's, and stay bounded in memory and on disk. Loopback only; every process is stopped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatProcess, percentile, until } from './chatProcess';

const meshKey = 'flood test mesh key';
const group = '239.255.77.77';
/**
 * Wall time on purpose: the honest node chats at under a message a second, as a person does; its
 * latency is measured at that pace, within the per-minute limit, before and during the flood.
 */
const paceHonestChat = () => new Promise((resolve) => setTimeout(resolve, 1100));

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + (statSync(join(dir, name)).isFile() ? statSync(join(dir, name)).size : 0), 0);
}

describe('rooms: one node floods (real processes, loopback)', function () {
  this.timeout(180_000);
  const running: ChatProcess[] = [];
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-flood-'));
  });
  after(async () => {
    for (const node of running) node.kill();
    await Promise.all(running.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('honest messages stay prompt (median ≤ 100 ms), the flooder gets at most the limit stored, memory and disk stay bounded', async () => {
    const port = 44000 + Math.floor(Math.random() * 900);
    const start = (name: string) => {
      const node = ChatProcess.start(
        ['node', '--name', name, '--data-dir', join(dir, name), '--jsonl', '--listen', '127.0.0.1:0', '--interface', '127.0.0.1', '--multicast', `${group}:${port}`, '--interval-ms', '500'],
        { PERSONA_MESH_KEY: meshKey },
      );
      running.push(node);
      return node;
    };
    const receiver = start('receiver');
    const honest = start('honest');
    const nodes = [receiver, honest];
    const dump = () => nodes.map((n) => `--- ${n.nodeId.slice(0, 7)}\n${n.stderr.slice(-3000)}`).join('\n');
    await Promise.all(nodes.map((n) => n.waitFor((e) => e.event === 'ready', 'ready', 30_000)));
    const ups = (n: ChatProcess) => new Set(n.events.filter((e) => e.event === 'peer.up').map((e) => String(e.nodeId))).size;
    await until('the two nodes up', () => nodes.every((n) => ups(n) >= 1), 30_000, dump);

    // Honest latency: the honest node's acknowledgement to the receiver's report, in this process's clock.
    const honestLatencies = async (count: number) => {
      const before = new Set(honest.sent.keys());
      for (let i = 0; i < count; i++) {
        honest.send({ op: 'send', room: 'general', text: `honest ${i}` });
        await paceHonestChat();
      }
      const ids = [...honest.sent.keys()].filter((id) => !before.has(id));
      await until('the receiver holds every honest message', () => ids.every((id) => receiver.arrived.has(id)), 20_000, dump);
      return ids.map((id) => receiver.arrived.get(id)! - honest.sent.get(id)!);
    };
    const idle = await honestLatencies(8);
    const rssBefore = receiver.rssKiB();
    const diskBefore = dirBytes(join(dir, 'receiver'));

    // The flood: 10,000 a second for 15 s (the fixture stops by itself).
    const flooder = new ChatProcess(spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'floodProcess.ts'), meshKey, String(port), '15', '10000'], { stdio: 'pipe' }));
    running.push(flooder);
    const floodReady = await flooder.waitFor((e) => typeof e.ready === 'string', 'the flooder ready', 30_000);
    const flooderId = String(floodReady.ready);
    await until('the flooder is up with both', () => nodes.every((n) => n.events.some((e) => e.event === 'peer.up' && e.nodeId === flooderId)), 30_000, dump);
    const during = await honestLatencies(12);
    const end = await flooder.waitFor((e) => typeof e.flooded === 'number', 'the end of the flood', 60_000);
    const flooded = Number(end.flooded);
    const floodSeconds = Number(end.seconds);
    // The flooder has stopped: each node read everything it sent on a session before that session's peer.down.
    await flooder.exited;
    const flooderUp = (n: ChatProcess) => n.events.filter((e) => (e.event === 'peer.up' || e.event === 'peer.down') && e.nodeId === flooderId).at(-1)?.event === 'peer.up';
    await until('the flooder gone from both nodes', () => nodes.every((n) => !flooderUp(n)), 30_000, dump);

    const rssAfter = receiver.rssKiB();
    const diskAfter = dirBytes(join(dir, 'receiver'));
    const history = await receiver.history();
    const stored = history.ids.filter((id) => id.startsWith(`${flooderId}:`)).length;
    const p99 = percentile(during, 99);
    console.log(
      `      flooder sent ${flooded.toLocaleString('en-US')} messages in ${floodSeconds.toFixed(1)} s (${Math.round(flooded / floodSeconds).toLocaleString('en-US')}/s); receiver stored ${stored}; ` +
        `honest latency idle p50 ${percentile(idle, 50).toFixed(1)} ms, during the flood p50 ${percentile(during, 50).toFixed(1)} ms p99 ${p99.toFixed(1)} ms; ` +
        `receiver RSS ${Math.round(rssBefore / 1024)} → ${Math.round(rssAfter / 1024)} MiB, data dir +${((diskAfter - diskBefore) / 1024).toFixed(0)} KiB (load ${loadavg()[0]!.toFixed(2)})`,
    );
    assert.ok(flooded > 20 * 60, `the flooder sent far above the limit (${flooded})`);
    // The flood spans at most two minutes of the clock: 60 each.
    assert.ok(stored <= 120, `the receiver stored ${stored} of the flooder's messages`);
    // A receiver that kept up with the flood would delay every honest message behind it, so the
    // median shows it; the tail of 12 samples is one message, and on a loaded 2-core CI machine one
    // message can wait 250-800 ms for a core whatever the code does (the rooms bench measures speed).
    const p50 = percentile(during, 50);
    assert.ok(p50 <= 100, `honest median during the flood ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (idle p50 ${percentile(idle, 50).toFixed(1)} ms): ${during.map((ms) => ms.toFixed(0)).join(', ')}`);
    assert.ok(rssAfter - rssBefore < 100 * 1024, `the receiver's memory grew by ${Math.round((rssAfter - rssBefore) / 1024)} MiB`);
    assert.ok(diskAfter - diskBefore < 8 * 1024 * 1024, `the receiver's data dir grew by ${Math.round((diskAfter - diskBefore) / 1024)} KiB`);
    assert.ok(receiver.stderr.includes('over its limit'), 'the receiver says so in its log');
  });
});
