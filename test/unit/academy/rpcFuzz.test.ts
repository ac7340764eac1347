import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { registerAcademyHandlers } from '../../../server/src/academy/rpcHandlers';
import { exportFormats, signalCategories } from '../../../protocol/academy';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { useTempDir } from '../../support/tempDir';
import { AcademyMesh, exchange } from './support';

describe('academy/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  const tmp = useTempDir('academy-fuzz-');
  let mesh: AcademyMesh;
  afterEach(async () => {
    await mesh.close();
  });

  it('for any params, plausible or not', async () => {
    mesh = new AcademyMesh();
    const node = await mesh.add();
    const { reply, prompt } = exchange(node, 'q', 'a');
    const exports = join(tmp.path, 'exports');
    mkdirSync(exports);
    const fake = fakeConnection();
    const registration = registerAcademyHandlers(fake.connection, () => node.academy);
    const persona = fc.constantFrom(`${node.id}/helper`, `${node.id}/user`, 'nope', '');
    const category = fc.constantFrom(...signalCategories, 'charm');
    // Absolute export paths stay in the temporary folder: a file there, one in a missing folder, the folder itself.
    const path = fc.constantFrom(join(exports, 'out.jsonl'), join(exports, 'missing', 'out.jsonl'), exports, 'relative.jsonl');
    const confine = (params: unknown) => {
      const target = params as { path?: unknown } | null;
      if (typeof target === 'object' && target !== null && typeof target.path === 'string' && target.path.startsWith('/') && !target.path.startsWith(exports)) {
        return { ...target, path: join(exports, 'any.jsonl') };
      }
      return params;
    };
    try {
      await fuzzHandlers(
        fake,
        {
          'mesh/academy/rate': paramsOf({ roomId: fc.constantFrom('general', 'nope'), messageId: fc.constantFrom(reply.id, prompt.id, 'nope'), persona, rating: fc.constantFrom('up', 'down', null, 'sideways'), category, reason: fc.oneof(fc.string(), fc.constant('r'.repeat(3000))) }),
          'mesh/academy/leaderboard': paramsOf({ category, before: fc.oneof(fc.integer(), fc.double()) }),
          'mesh/academy/signals': paramsOf({ persona, category, limit: fc.oneof(fc.integer(), fc.double()), before: fc.oneof(fc.integer(), fc.double()) }),
          'mesh/academy/export': paramsOf({ format: fc.constantFrom(...exportFormats, 'csv'), path, persona, room: fc.constantFrom('general', 'nope'), since: fc.oneof(fc.integer(), fc.double()) }),
        },
        { confine },
      );
    } finally {
      registration.dispose();
    }
    assert.ok(existsSync(join(exports, 'out.jsonl')), 'plausible exports were written');
    assert.deepEqual(readdirSync(tmp.path), ['exports'], 'nothing is written outside the export folder');
  });
});
