// A window's node that runs on a copy of another node's data folder, in the real extension host:
// the mesh refuses it, its status says so with the way out, and Create New Identity gives it a new
// node id (the old key kept aside) with which it joins the mesh.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';
import type { PersonaMeshApi } from '../../extension/src/api';
import { duplicateIdentityProblem, type NodeStatus } from '../../protocol/status';
import { untilOk as waitFor } from '../support/until';

const EXTENSION_ID = 'persona-mesh.persona-mesh';

export function newIdentitySuite(): void {
  describe('extension host: a node on a copy of another node\'s data folder', function () {
    this.timeout(90_000);
    let original: ChildProcess | undefined;
    let dir = '';

    after(async () => {
      original?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
      const api = vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID)!.exports;
      const pid = api.serverPid();
      await vscode.workspace.getConfiguration('personaMesh').update('peers', undefined, vscode.ConfigurationTarget.Global);
      // The setting restarts the server: let it come up before the extension host goes away.
      await waitFor('the server restarted without the peer', async () => (api.serverPid() !== pid && (await api.status()) ? true : undefined), 20_000);
    });

    it('is refused with the way out in its status, and Create New Identity gives it a new one', async function () {
      const extension = vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID)!;
      const api = await extension.activate();
      const before = await waitFor(
        'a status with a listen address',
        async () => {
          const status = await api.status();
          return status?.listen ? status : undefined;
        },
        20_000,
      );

      // The "original": a headless node started now on a copy of this window's key. It sees
      // nobody (no discovery) until this window's node, restarted later, dials it.
      dir = mkdtempSync(join(tmpdir(), 'pm-original-'));
      copyFileSync(join(before.dataDir, 'identity.pem'), join(dir, 'identity.pem'));
      const child = spawn(process.execPath, [join(extension.extensionPath, 'server', 'out', 'cli.js'), 'node', '--data-dir', dir, '--jsonl', '--listen', '127.0.0.1:0', '--no-discovery', '--name', 'original'], {
        env: { PATH: process.env.PATH, PERSONA_MESH_KEY: process.env.PERSONA_MESH_KEY },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      original = child;
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const ready = await new Promise<{ nodeId: string; listen: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the original node did not start:\n${stderr}`)), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const event = JSON.parse(line) as { event: string; nodeId: string; listen: string };
          if (event.event !== 'ready') return;
          clearTimeout(timer);
          resolve(event);
        });
      });
      assert.equal(ready.nodeId, before.nodeId);

      // A network setting restarts this window's node: now it is the later of the two.
      const oldPid = api.serverPid();
      await vscode.workspace.getConfiguration('personaMesh').update('peers', [ready.listen], vscode.ConfigurationTarget.Global);
      const refused = await waitFor(
        'the problem in the status of the restarted node',
        async () => {
          const status = api.serverPid() !== oldPid ? await api.status() : undefined;
          return status?.problems.some((p) => p.code === duplicateIdentityProblem) ? status : undefined;
        },
        30_000,
      );
      assert.equal(refused.state, 'degraded');
      const problem = refused.problems.find((p) => p.code === duplicateIdentityProblem)!;
      assert.ok(problem.message.includes(`is a copy of a running node's (${before.nodeId.slice(0, 7)}, at ${ready.listen})`), problem.message);
      assert.match(problem.message, /create a new identity for this window's node/);
      assert.match(stderr, /another instance of this node .* on a copy of this data folder/, 'the original said why it turned the copy away');

      await vscode.commands.executeCommand('personaMesh.createNewIdentity');
      const renewed = await waitFor(
        'a new identity without the problem',
        async () => {
          const status: NodeStatus | undefined = await api.status();
          return status && status.nodeId !== before.nodeId && status.problems.length === 0 ? status : undefined;
        },
        30_000,
      );
      assert.equal(renewed.dataDir, before.dataDir, 'the same data folder');
      assert.ok(readdirSync(renewed.dataDir).some((name) => /^identity\.pem\..*\.bak$/.test(name)), 'the old key is kept');
      await waitFor('a session with the original, as another node now', async () => ((await api.status())?.peers === 1 ? true : undefined), 20_000);
    });
  });
}
