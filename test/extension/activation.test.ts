// The extension in a real extension host: activation, commands, the server's status, and the
// restart after the server process is killed from outside.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PersonaMeshApi } from '../../extension/src/api';
import type { NodeStatus } from '../../protocol/status';
import { untilOk as waitFor } from '../support/until';

const EXTENSION_ID = 'persona-mesh.persona-mesh';
const NODE_ID = /^[A-Z2-7]{52}$/;

let apiPromise: Promise<PersonaMeshApi> | undefined;
function activateExtension(): Promise<PersonaMeshApi> {
  apiPromise ??= (async () => {
    const extension = vscode.extensions.getExtension<PersonaMeshApi>(EXTENSION_ID);
    assert.ok(extension, `extension ${EXTENSION_ID} is not installed in this extension host`);
    const api = await extension.activate();
    assert.ok(extension.isActive, 'extension is not active after activate()');
    return api;
  })();
  return apiPromise;
}

async function statusWithNodeId(api: PersonaMeshApi): Promise<NodeStatus | undefined> {
  const status = await api.status();
  return status && NODE_ID.test(status.nodeId) ? status : undefined;
}

export function activationSuite(): void {
  describe('extension host: activation and the mesh server', function () {
    this.timeout(90_000);

    it(`activates ${EXTENSION_ID} and returns its API`, async function () {
      const api = await activateExtension();
      assert.equal(typeof api.status, 'function');
      assert.equal(typeof api.serverPid, 'function');
      assert.equal(typeof api.onDidChangeStatus, 'function');
    });

    it('registers Show Status, Restart Mesh Server and Show Logs', async function () {
      await activateExtension();
      const commands = await vscode.commands.getCommands(true);
      for (const command of ['personaMesh.showStatus', 'personaMesh.restartServer', 'personaMesh.showLogs']) {
        assert.ok(commands.includes(command), `command ${command} is not registered`);
      }
    });

    it('reports a status with a 52-character base32 node id within 20 s', async function () {
      const api = await activateExtension();
      const status = await waitFor('a status with a node id', () => statusWithNodeId(api), 20_000);
      assert.match(status.nodeId, NODE_ID);
      assert.equal(status.nodeIdDisplay.replaceAll('-', ''), status.nodeId, 'nodeIdDisplay groups the same id');
      const pid = api.serverPid();
      assert.ok(pid !== undefined && pid > 0 && pid !== process.pid, `serverPid() is ${pid}: not a separate process`);
    });

    it('restarts the server after a kill -9 and reports the same node id within 30 s', async function () {
      const api = await activateExtension();
      const before = await waitFor('a status with a node id', () => statusWithNodeId(api), 20_000);
      const oldPid = api.serverPid();
      assert.ok(oldPid, 'no server pid');
      const changes: (NodeStatus | undefined)[] = [];
      const listener = api.onDidChangeStatus((status) => changes.push(status));
      try {
        process.kill(oldPid, 'SIGKILL');
        const after = await waitFor(
          'a new server process with a status',
          async () => {
            const pid = api.serverPid();
            if (pid === undefined || pid === oldPid) return undefined;
            const status = await statusWithNodeId(api);
            return status && { pid, status };
          },
          30_000,
        );
        assert.notEqual(after.pid, oldPid);
        assert.equal(after.status.nodeId, before.nodeId, 'the identity in the data dir survives the restart');
        assert.ok(changes.length > 0, 'onDidChangeStatus did not fire across the restart');
      } finally {
        listener.dispose();
      }
    });
  });
}
