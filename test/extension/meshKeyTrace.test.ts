// The mesh key never shows in the "Persona Mesh" output, where the language client writes its
// trace of the JSON-RPC traffic with the server: not at start, not when a restart brings a changed
// key. The trace is read where VS Code keeps it, the output channel's log file.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { PersonaMeshApi } from '../../extension/src/api';
import { generateMeshKey, parseMeshKey } from '../../server/src/kernel/meshKey';
import type { NodeStatus } from '../../protocol/status';
import { until as waitFor } from '../support/until';

const EXTENSION_ID = 'persona-mesh.persona-mesh';

/**
 * The output channel's log file: VS Code writes it under `logs/` in the user data folder, which
 * also holds the extension's global storage (the node's data dir).
 */
function outputChannelLog(dataDir: string): string {
  let userData = dataDir;
  while (!existsSync(join(userData, 'logs'))) {
    if (dirname(userData) === userData) throw new Error(`no logs folder above ${dataDir}`);
    userData = dirname(userData);
  }
  const files = readdirSync(join(userData, 'logs'), { recursive: true, encoding: 'utf8' })
    .map((file) => join(userData, 'logs', file))
    .filter((file) => file.includes(EXTENSION_ID) && file.endsWith('Persona Mesh.log'))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!files[0]) throw new Error(`no "Persona Mesh" output log under ${join(userData, 'logs')}`);
  return files[0];
}

/** Restarts the server and waits for the new one's status. */
async function restartServer(api: PersonaMeshApi): Promise<NodeStatus> {
  const before = api.serverPid();
  await vscode.commands.executeCommand('personaMesh.restartServer');
  return waitFor(
    'the restarted server',
    async () => {
      const status = await api.status();
      return status && status.pid !== before && status.nodeId ? status : undefined;
    },
    30_000,
  );
}

export function meshKeyTraceSuite(): void {
  describe('extension host: the mesh key stays out of the trace', function () {
    this.timeout(120_000);
    const settings = () => vscode.workspace.getConfiguration('personaMesh');
    // The key of this run (the runner's PERSONA_MESH_KEY, the fallback when SecretStorage holds none).
    const runKey = process.env.PERSONA_MESH_KEY;

    after(async () => {
      process.env.PERSONA_MESH_KEY = runKey;
      await settings().update('trace.server', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('personaMesh.restartServer');
    });

    it('traces the server at verbose without printing the key, before and after a key change', async function () {
      const extension = vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID);
      assert.ok(extension);
      const api = await extension.activate();
      assert.ok(runKey && runKey.length >= 8, 'the runner sets PERSONA_MESH_KEY');
      const first = await waitFor('a status', () => api.status(), 20_000);
      const log = outputChannelLog(first.dataDir);

      await settings().update('trace.server', 'verbose', vscode.ConfigurationTarget.Global);
      const started = await restartServer(api);
      assert.equal(started.meshKeySet, true, 'the server got the key');

      const changed = generateMeshKey();
      process.env.PERSONA_MESH_KEY = changed;
      const restarted = await restartServer(api);
      assert.equal(restarted.meshKeySet, true);
      const fingerprint = parseMeshKey(changed).fingerprint;
      const text = await waitFor('the changed key in use', () => {
        const text = readFileSync(log, 'utf8');
        return text.includes(`mesh key set (fingerprint ${fingerprint})`) ? text : undefined;
      }, 10_000);

      assert.match(text, /Sending request 'initialize/, 'the trace was on');
      assert.match(text, /Params: \{/, 'the trace was verbose');
      assert.ok(!text.includes(runKey), 'the trace printed the key the server started with');
      assert.ok(!text.includes(changed), 'the trace printed the changed key');
    });
  });
}
