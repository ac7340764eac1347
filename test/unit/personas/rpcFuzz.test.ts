import * as path from 'node:path';
import fc from 'fast-check';
import { registerPersonaHandlers } from '../../../server/src/personas/rpcHandlers';
import { PersonaService } from '../../../server/src/personas/service';
import { fakeConnection, fuzzHandlers, paramsOf } from '../../support/rpcFuzz';
import { TestMesh } from '../rooms/support';

const fixtureWorkspace = path.resolve(__dirname, '../../fixtures/personas/workspace');

describe('personas/rpcHandlers fuzzed (fast-check): every request answers or refuses with a reason', () => {
  let mesh: TestMesh;
  let service: PersonaService;
  afterEach(async () => {
    await service.stop();
    await mesh.close();
  });

  it('for any params, plausible or not', async () => {
    mesh = new TestMesh();
    const node = await mesh.add('A');
    service = new PersonaService({ rooms: node.rooms, transport: node.transport, workspaceFolders: [fixtureWorkspace], clock: node.clock, logger: node.log.logger });
    await service.start();
    const fake = fakeConnection();
    const registration = registerPersonaHandlers(fake.connection, () => service);
    // Folders the node may scan: the fixture workspace, a missing one, and text that is no path.
    const folders = fc.array(fc.constantFrom(fixtureWorkspace, path.join(fixtureWorkspace, 'missing'), '', 'relative/not-here'), { maxLength: 3 });
    try {
      await fuzzHandlers(fake, {
        'mesh/personas/list': fc.anything(),
        'mesh/personas/setEnabled': paramsOf({ id: fc.constantFrom('librarian', 'nobody', ''), enabled: fc.boolean() }),
        'mesh/personas/template': paramsOf({ id: fc.string(), name: fc.string() }),
        'mesh/personas/setFolders': paramsOf({ workspaceFolders: folders, extraFolders: folders }),
      });
    } finally {
      registration.dispose();
    }
  });
});
