import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import fc from 'fast-check';
import { CancellationTokenSource, ResponseError } from 'vscode-languageserver';
import { MemoryLog } from '../../../server/src/kernel/log';
import { logLevels, type LogLevel } from '../../../protocol/extension';
import { MeshNode } from '../../../server/src/node/meshNode';
import { registerNodeHandlers } from '../../../server/src/node/rpcHandlers';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import { evolutionPolicies } from '../../../protocol/evolution';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';

describe('node/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  const tmp = useTempDir('node-fuzz-');
  let node: MeshNode;
  afterEach(async () => {
    await node.stop();
  });

  /** A headless node with no network settings (a mesh key set here opens no socket), its handlers on a fake connection. */
  async function startNode() {
    const log = new MemoryLog();
    node = new MeshNode({ dataDir: join(tmp.path, 'node'), meshKey: '', logger: log.logger, headless: true });
    await node.start();
    const levels: LogLevel[] = [];
    const fake = fakeConnection();
    const registration = registerNodeHandlers(fake.connection, () => Promise.resolve(node), { logger: log.logger, setLogLevel: (level) => levels.push(level) });
    return { log, levels, fake, registration };
  }

  it('for any params, plausible or not; an unknown log level is ignored', async () => {
    const { levels, fake, registration } = await startNode();
    try {
      await fuzzHandlers(fake, {
        'mesh/status': fc.anything(),
        'mesh/peers': fc.anything(),
        'mesh/pingPeer': paramsOf({ nodeId: fc.constantFrom(node.status().nodeId, 'nope', '') }),
        'mesh/newIdentity': fc.anything(),
        'mesh/personas/cancelModelDownload': paramsOf({ model: fc.constantFrom('hf:org/repo/model.gguf', 'nope', '') }),
        'mesh/evolution/history': fc.anything(),
        'mesh/setLogLevel': paramsOf({ level: fc.constantFrom(...logLevels, 'loud') }),
        'mesh/evolution/setPolicy': paramsOf({ policy: fc.constantFrom(...evolutionPolicies, 'sometimes') }),
      });
    } finally {
      registration.dispose();
    }
    assert.ok(levels.length > 0 && levels.every((level) => logLevels.includes(level)), `levels set: ${levels.join(', ')}`);
  });

  it('refuses a malformed param with the protocol checker\'s words and InvalidParams, before the node is asked', async () => {
    const { log, levels, fake, registration } = await startNode();
    const tokens = new CancellationTokenSource();
    const refusal = async (method: string, params: unknown): Promise<ResponseError> => {
      try {
        await fake.requests.get(method)!(params, tokens.token);
      } catch (error) {
        assert.ok(error instanceof ResponseError, String(error));
        return error;
      }
      return assert.fail(`${method} answered ${JSON.stringify(params)}`);
    };
    try {
      const ping = await refusal('mesh/pingPeer', { nodeId: 'nope' });
      assert.deepEqual([ping.code, ping.message], [serviceErrorRpcCodes.invalid, '"nope" is not a node id']);
      const cancel = await refusal('mesh/personas/cancelModelDownload', { model: 7 });
      assert.deepEqual([cancel.code, cancel.message], [serviceErrorRpcCodes.invalid, 'the model must be text']);
      const none = await refusal('mesh/pingPeer', undefined);
      assert.deepEqual([none.code, none.message], [serviceErrorRpcCodes.invalid, 'the request has no parameters']);
      // A well-formed id reaches the node, which says why it cannot ping.
      const offMesh = await refusal('mesh/pingPeer', { nodeId: node.status().nodeId });
      assert.deepEqual([offMesh.code, offMesh.message], [serviceErrorRpcCodes.unavailable, 'the node is not on a mesh: set the mesh key first']);

      fake.notifications.get('mesh/setLogLevel')!({ level: 'loud' });
      fake.notifications.get('mesh/setLogLevel')!({ level: 'debug' });
      await until('the good level set', () => (levels.length > 0 ? true : undefined));
      assert.deepEqual(levels, ['debug'], 'an unknown level is not set');
      await until('the refusal logged at debug (a notification has no answer)', () => (log.messages('debug').includes('mesh/setLogLevel refused: the log level must be one of trace, debug, info, warn, error') ? true : undefined), 5000);
    } finally {
      tokens.dispose();
      registration.dispose();
    }
  });
});
