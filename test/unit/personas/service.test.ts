import assert from 'node:assert/strict';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import { checkAnnouncement } from '../../../server/src/personas/directory';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';
import { registerPersonaHandlers } from '../../../server/src/personas/rpcHandlers';
import { PersonaService } from '../../../server/src/personas/service';
import { personaTemplate } from '../../../server/src/personas/template';
import {
  ListPersonasRequest,
  PersonasChangedNotification,
  PersonaTemplateRequest,
  SetPersonaEnabledRequest,
  SetPersonaFoldersNotification,
  type PersonaSummary,
} from '../../../protocol/personas';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import type { ChatMessage } from '../../../protocol/rooms';
import { fullHistory, TestMesh, type TestNode } from '../rooms/support';

const fixtureWorkspace = path.resolve(__dirname, '../../fixtures/personas/workspace');

describe('persona service: directory on the mesh, participation and the client methods', () => {
  let mesh: TestMesh;
  let a: TestNode;
  let b: TestNode;
  let serviceA: PersonaService;
  let serviceB: PersonaService;
  let client: MessageConnection;
  let registration: { dispose(): void };
  const changes: PersonaSummary[][] = [];

  beforeEach(async () => {
    mesh = new TestMesh();
    a = await mesh.add('A');
    b = await mesh.add('B');
    serviceA = new PersonaService({ rooms: a.rooms, transport: a.transport, workspaceFolders: [fixtureWorkspace], clock: a.clock, logger: a.log.logger });
    serviceB = new PersonaService({ rooms: b.rooms, transport: b.transport, clock: b.clock, logger: b.log.logger });
    await serviceA.start();
    await serviceB.start();
    mesh.settle();
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(toServer, toClient);
    registration = registerPersonaHandlers(server, () => serviceA);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.onNotification(PersonasChangedNotification.type, (p) => changes.push(p));
    client.listen();
    changes.length = 0;
  });

  afterEach(async () => {
    registration.dispose();
    client.dispose();
    await serviceA.stop();
    await serviceB.stop();
    await mesh.close();
  });

  it('announces local personas to the mesh and drops them when the node goes away', () => {
    const seen = serviceB.directory.all();
    assert.deepEqual(seen, [
      {
        id: 'librarian',
        name: 'Librarian',
        description: "Answers from the workspace's files, with links.",
        nodeId: 'A',
        local: false,
        provider: 'librarian',
        capabilities: ['search', 'docs'],
        rooms: ['general'],
        state: 'online',
      },
    ]);
    assert.deepEqual(serviceB.directory.capabilityNames(), ['docs', 'search']);
    assert.deepEqual(serviceB.languageDeps().capabilityNames!(), ['docs', 'search']);
    mesh.hub.unlink('A', 'B');
    assert.deepEqual(serviceB.directory.all(), []);
  });

  it('answers a mention from the other node', async () => {
    const question = b.rooms.send({ roomId: 'general', text: '@librarian where is the backoff delay computed?' });
    // A mention by text only: the hosts of `librarian` (here just A) settle who answers after the bid window.
    for (let i = 0; i < 4; i++) {
      mesh.settle();
      await serviceA.participation.idle();
    }
    const reply = (fullHistory(b.rooms, 'general') as ChatMessage[]).find((m) => m.author.kind === 'persona')!;
    assert.equal(reply.replyTo, question.id);
    assert.equal(reply.author.nodeId, 'A');
    assert.match(reply.text, /\[src\/backoff\.ts:\d+\]/);
  });

  it('serves list, enable/disable, template and folders over JSON-RPC, with change notifications', async () => {
    const list = await client.sendRequest(ListPersonasRequest.type);
    assert.deepEqual(list.map((p) => [p.id, p.local, p.state]), [['librarian', true, 'online']]);
    assert.equal(list[0]!.file, path.join(fixtureWorkspace, '.mesh', 'personas', 'librarian.persona.md'));

    const disabled = await client.sendRequest(SetPersonaEnabledRequest.type, { id: 'librarian', enabled: false });
    assert.equal(disabled.state, 'disabled');
    mesh.settle();
    assert.equal(serviceB.directory.all()[0]!.state, 'disabled', 'the mesh sees it too');
    assert.equal(b.rooms.participants('general').some((p) => p.participantId === 'librarian'), false, 'a disabled persona leaves its rooms');
    assert.equal((await client.sendRequest(SetPersonaEnabledRequest.type, { id: 'librarian', enabled: true })).state, 'online');
    mesh.settle();
    assert.equal(b.rooms.participants('general').find((p) => p.participantId === 'librarian')?.presence, 'online', 'and comes back');
    await assert.rejects(client.sendRequest(SetPersonaEnabledRequest.type, { id: 'ghost', enabled: true }), /no local persona "ghost"/);

    const { text } = await client.sendRequest(PersonaTemplateRequest.type, { id: 'helper', name: 'Helper' });
    const parsed = parsePersonaFile(text, { file: '/tmp/helper.persona.md' });
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.persona?.id, 'helper');

    const emptied = new Promise<void>((resolve) => client.onNotification(PersonasChangedNotification.type, (p) => p.length === 0 && resolve()));
    await client.sendNotification(SetPersonaFoldersNotification.type, { workspaceFolders: [], extraFolders: [] });
    await emptied;
    assert.ok(changes.some((c) => c[0]?.state === 'disabled'));
    assert.deepEqual(serviceA.registry.list(), []);
  });

  it('refuses malformed params with the protocol checker\'s words and code', async () => {
    const refused = (promise: Promise<unknown>, code: number, message: string) =>
      assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof ResponseError, String(error));
        assert.equal(error.message, message);
        assert.equal(error.code, code);
        return true;
      });
    await refused(client.sendRequest(SetPersonaEnabledRequest.method, { id: 'librarian', enabled: 'no' }), serviceErrorRpcCodes.invalid, 'enabled must be true or false');
    await refused(client.sendRequest(PersonaTemplateRequest.method, { id: 'x'.repeat(65), name: 'X' }), serviceErrorRpcCodes['too-large'], 'the persona id is 65 characters; the limit is 64 characters');
    assert.equal(serviceA.directory.all().find((p) => p.id === 'librarian')?.state, 'online', 'nothing was disabled');
  });

  it('refuses announcements that are malformed or speak for another node', () => {
    const good = { nodeId: 'N', ttlMs: 1000, personas: [{ id: 'p', name: 'P', provider: 'librarian', capabilities: [], rooms: [], state: 'online', file: '/secret' }] };
    const checked = checkAnnouncement(good, 'N');
    assert.ok(typeof checked !== 'string');
    assert.equal(checked.personas[0]!.local, false);
    assert.equal((checked.personas[0] as { file?: string }).file, undefined, 'paths of other nodes are not kept');
    assert.match(checkAnnouncement(good, 'M') as string, /another node/);
    assert.match(checkAnnouncement({ ...good, personas: [{ ...good.personas[0], provider: 'gpt' }] }, 'N') as string, /unknown provider/);
    assert.match(checkAnnouncement({ ...good, personas: [{ ...good.personas[0], id: 'Bad Id' }] }, 'N') as string, /id is invalid/);
    assert.match(checkAnnouncement({ ...good, personas: new Array(101).fill(good.personas[0]) }, 'N') as string, /at most 100/);
    assert.match(checkAnnouncement('x', 'N') as string, /not an object/);
  });

  it('writes a template that parses cleanly even from odd input', () => {
    assert.deepEqual(parsePersonaFile(personaTemplate('Not An Id', 'Line\nbreak "quoted"'), { file: '/t.persona.md' }).problems, []);
  });
});
