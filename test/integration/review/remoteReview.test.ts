/**
 * Review by a persona on another node: two `persona-mesh node` processes on loopback; the one
 * hosting a librarian persona runs the review when the other calls `review.run` over the mesh.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReviewOutput } from '../../../protocol/review';
import { CliProcess } from '../cli/support';

const librarian = `---
id: librarian
name: Librarian
brain:
  provider: librarian
---
You are the Librarian.
`;

describe('review on the mesh: the hosting node runs the persona', function () {
  this.timeout(60_000);
  let dir = '';
  const running: CliProcess[] = [];
  const key = 'review test mesh key';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pm-remote-review-'));
  });

  after(async () => {
    for (const cli of running) {
      cli.kill('SIGTERM');
      await cli.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function rpc(cli: CliProcess, node: string, method: string, params: unknown, id: string): Promise<Record<string, unknown>> {
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(poll);
        reject(new Error(`no rpc.result ${id}; stderr:\n${cli.stderr}`));
      }, 20_000);
      const poll = setInterval(() => {
        const found = cli.events.find((e) => e.event === 'rpc.result' && e.id === id);
        if (found) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(found);
        }
      }, 20);
    });
    cli.send({ op: 'rpc', node, method, params, id });
    return answer;
  }

  it('a peer asks the librarian on another node for a review and gets checked comments', async () => {
    const personas = join(dir, 'personas');
    const workspace = join(dir, 'ws');
    mkdirSync(personas);
    mkdirSync(workspace);
    writeFileSync(join(personas, 'librarian.persona.md'), librarian);
    writeFileSync(join(workspace, 'util.js'), 'function normalizeName(name) {\n  return name.trim().toLowerCase();\n}\n');
    const host = new CliProcess(['node', '--name', 'host', '--data-dir', join(dir, 'host'), '--jsonl', '--listen', '127.0.0.1:0', '--no-discovery', '--personas', personas, '--workspace', workspace], { PERSONA_MESH_KEY: key });
    running.push(host);
    const hostReady = await host.waitFor('ready');
    const asker = new CliProcess(['node', '--name', 'asker', '--data-dir', join(dir, 'asker'), '--jsonl', '--listen', '127.0.0.1:0', '--no-discovery', '--peer', String(hostReady.listen)], { PERSONA_MESH_KEY: key });
    running.push(asker);
    await asker.waitFor('peer.up');
    const hostId = String(hostReady.nodeId);

    const code = 'var user = normalizeName(input);\nif (user == "") fail();';
    const answer = await rpc(asker, hostId, 'review.run', { personaId: 'librarian', path: 'src/login.js', language: 'javascript', code, firstLine: 10 }, 'r1');
    assert.equal(answer.error, undefined, String(answer.error));
    const output = answer.result as ReviewOutput;
    assert.deepEqual(
      output.comments.filter((c) => c.replacement !== undefined).map((c) => [c.startLine, c.replacement]),
      [
        [10, 'let user = normalizeName(input);'],
        [11, 'if (user === "") fail();'],
      ],
    );
    assert.ok(output.comments.some((c) => /util\.js:1/.test(c.message)), JSON.stringify(output.comments));

    const missing = await rpc(asker, hostId, 'review.run', { personaId: 'nobody', path: 'a.js', language: 'javascript', code: 'x', firstLine: 1 }, 'r2');
    assert.match(String(missing.error), /persona nobody is not hosted on this node/);
    const bad = await rpc(asker, hostId, 'review.run', { personaId: 'librarian', path: 'a.js', language: 'javascript', code: '', firstLine: 1 }, 'r3');
    assert.match(String(bad.error), /no code to review/);
    // The host keeps running after bad input.
    host.send({ op: 'status' });
    await host.waitFor('status');
  });
});
