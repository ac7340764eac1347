import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import fc from 'fast-check';
import { logLevels, MemoryLog, type LogLevel } from '../../../server/src/kernel/log';
import { MeshNode } from '../../../server/src/node/meshNode';
import { registerNodeHandlers } from '../../../server/src/node/rpcHandlers';
import { evolutionPolicies } from '../../../protocol/evolution';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { useTempDir } from '../../support/tempDir';

describe('node/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  const tmp = useTempDir('node-fuzz-');
  let node: MeshNode;
  afterEach(async () => {
    await node.stop();
  });

  it('for any params, plausible or not; an unknown log level is ignored', async () => {
    const log = new MemoryLog();
    // No network settings: a mesh key set here opens no socket.
    node = new MeshNode({ dataDir: join(tmp.path, 'node'), meshKey: '', logger: log.logger, headless: true });
    await node.start();
    const levels: LogLevel[] = [];
    const fake = fakeConnection();
    const registration = registerNodeHandlers(fake.connection, () => Promise.resolve(node), { logger: log.logger, setLogLevel: (level) => levels.push(level) });
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
});
