import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Brain, BrainRequest } from '../../../server/src/personas/brains/brain';
import { compareBids, type Bid } from '../../../server/src/personas/bidding';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';
import { relevance } from '../../../server/src/personas/relevance';
import { profileScores } from '../../../server/src/personas/profileMatch';
import type { PersonaSummary } from '../../../protocol/personas';
import { PersonaService } from '../../../server/src/personas/service';
import type { PersonaDefinition } from '../../../protocol/personas';
import type { ChatMessage } from '../../../protocol/rooms';
import { fullHistory, TestMesh, type TestNode } from '../rooms/support';

function file(id: string, front: string): string {
  return `---\nid: ${id}\n${front}\n---\nYou are ${id}.\n`;
}

/** Replies "<id>: <question>" (deterministic, no model). */
function echoBrain(persona: PersonaDefinition): Brain {
  return {
    provider: 'openai',
    async *reply(request: BrainRequest) {
      await Promise.resolve();
      yield `${persona.id}: ${request.question}`;
    },
    dispose: () => Promise.resolve(),
  };
}

describe('turn taking across nodes', () => {
  let mesh: TestMesh;
  let root: string;
  const services: PersonaService[] = [];
  const nodes: TestNode[] = [];

  async function node(id: string, personas: Record<string, string>): Promise<TestNode> {
    const n = await mesh.add(id);
    const dir = path.join(root, id);
    mkdirSync(dir);
    for (const [pid, text] of Object.entries(personas)) writeFileSync(path.join(dir, `${pid}.persona.md`), text);
    const service = new PersonaService({ rooms: n.rooms, transport: n.transport, extraFolders: [dir], clock: n.clock, logger: n.log.logger, createBrain: echoBrain });
    await service.start();
    services.push(service);
    nodes.push(n);
    return n;
  }

  async function settle(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      mesh.settle();
      await Promise.all(services.map((s) => s.participation.idle()));
      await new Promise((resolve) => setImmediate(resolve));
    }
    mesh.settle();
  }

  const answers = (n: TestNode) =>
    (fullHistory(n.rooms, 'general') as ChatMessage[]).filter((m) => m.author.kind === 'persona').map((m) => `${m.author.nodeId}/${m.text}`);

  beforeEach(async () => {
    mesh = new TestMesh();
    root = mkdtempSync(path.join(tmpdir(), 'turns-'));
    await node('A', { net: file('net', 'triggers: [beacon, handshake]\ncapabilities: [networking]\nrooms: {general: expert}\nparticipation: {cooldownSeconds: 0}') });
    await node('B', { store: file('store', 'triggers: [libsql]\ncapabilities: [rooms, history]\nrooms: {general: expert}\nparticipation: {cooldownSeconds: 0}') });
    await node('C', {
      generalist: file('generalist', 'capabilities: [networking, history]\nrooms: {general: member}\nparticipation: {cooldownSeconds: 0}'),
      quiet: file('quiet', 'triggers: [beacon, handshake, libsql]\nrooms: {general: expert}\nparticipation: {mentionsOnly: true}'),
    });
    await settle();
  });

  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    nodes.length = 0;
    await mesh.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a question relevant to one persona gets exactly one answer, from the best bidder', async () => {
    const [, , c] = nodes;
    c!.rooms.send({ roomId: 'general', text: 'How does the beacon handshake work on our networking layer?' });
    await settle();
    assert.deepEqual(answers(c!), ['A/net: How does the beacon handshake work on our networking layer?']);

    c!.rooms.send({ roomId: 'general', text: 'Is the history kept in libsql?' });
    await settle();
    assert.deepEqual(answers(c!).slice(1), ['B/store: Is the history kept in libsql?']);
    for (const n of nodes) assert.deepEqual(answers(n), answers(c!), `node ${n.id} sees the same answers`);
  });

  it('a mention gets that persona\'s answer and no bids; unrelated messages get none', async () => {
    const [a] = nodes;
    a!.rooms.send({ roomId: 'general', text: '@generalist what about the beacon handshake?', mentions: ['C/generalist'] });
    await settle();
    assert.deepEqual(answers(a!), ['C/generalist: what about the beacon handshake?']);
    a!.rooms.send({ roomId: 'general', text: 'lunch at noon?' });
    await settle();
    assert.equal(answers(a!).length, 1);
  });

  it('equal bids on two nodes give one answer (deterministic tie-break), and persona replies start no new round', async () => {
    const [a] = nodes;
    // net (trigger beacon) and store (trigger libsql) both score 3; each echo repeats the other's trigger.
    const question = a!.rooms.send({ roomId: 'general', text: 'libsql beacon' });
    await settle();
    const expected = [
      { messageId: question.id, roomId: 'general', nodeId: 'A', personaId: 'net', score: 3 },
      { messageId: question.id, roomId: 'general', nodeId: 'B', personaId: 'store', score: 3 },
    ].sort(compareBids)[0]!;
    assert.deepEqual(answers(a!), [`${expected.nodeId}/${expected.personaId}: libsql beacon`]);
    const bids: Bid[] = [
      { messageId: 'm:1', roomId: 'general', nodeId: 'A', personaId: 'x', score: 1 },
      { messageId: 'm:1', roomId: 'general', nodeId: 'B', personaId: 'x', score: 1 },
    ];
    assert.deepEqual([...bids].sort(compareBids), [...bids].reverse().sort(compareBids));
  });

  it('two personas that mention each other cannot loop', async () => {
    const [a] = nodes;
    // Both mentioned: both answer once; their echoes mention nobody and are persona messages, so no bids follow.
    a!.rooms.send({ roomId: 'general', text: '@net ask @store about it', mentions: ['A/net', 'B/store'] });
    await settle();
    const got = answers(a!);
    assert.deepEqual(got.sort(), ['A/net: ask about it', 'B/store: ask about it']);
  });

  it('a persona hosted by several nodes (a shared repository) answers a mention once', async () => {
    const twin = file('twin', 'rooms: {general: expert}\nparticipation: {cooldownSeconds: 0}');
    await node('D', { twin });
    await node('E', { twin });
    await settle();
    const [a] = nodes;
    a!.rooms.send({ roomId: 'general', text: '@twin hello by text' });
    await settle();
    a!.rooms.send({ roomId: 'general', text: '@Twin hello by keys', mentions: ['D/twin', 'E/twin'] });
    await settle();
    const got = answers(a!);
    assert.equal(got.length, 2, got.join('\n'));
    assert.match(got[0]!, /^[DE]\/twin: hello by text$/);
    assert.match(got[1]!, /^[DE]\/twin: hello by keys$/);
    a!.rooms.send({ roomId: 'general', text: '@Twin only you', mentions: ['E/twin'] });
    await settle();
    assert.equal(answers(a!)[2], 'E/twin: only you', 'a key for one host goes to that host');
  });

  it('a node that sees a question late (after a partition) does not answer it a second time', async () => {
    const [a, b, c] = nodes;
    mesh.hub.partition(['C'], ['A', 'B']);
    // generalist on C would be the best bidder (networking + history, 1.6), but C is cut off.
    b!.rooms.send({ roomId: 'general', text: 'networking history' });
    await settle();
    assert.equal(answers(a!).length, 1);
    assert.equal(answers(c!).length, 0);
    mesh.hub.healAll();
    await settle();
    await settle();
    assert.equal(c!.rooms.history({ roomId: 'general', limit: 50 }).messages.filter((m) => m.text === 'networking history').length, 1, 'C has the question now');
    assert.deepEqual(answers(c!), answers(a!));
    assert.equal(answers(c!).length, 1, answers(c!).join('\n'));
  });

  it('scores relevance from triggers, capabilities, name and role', () => {
    const p = parsePersonaFile(file('net', 'name: Net\ntriggers: [beacon, "/noise\\\\s+xx/i"]\ncapabilities: [networking, tcp-sessions]\nrooms: {general: expert, lobby: observer, side: member}'), { file: '/n.persona.md' }).persona!;
    assert.equal(relevance(p, 'general', 'beacons and Noise  XX'), 6);
    assert.equal(relevance(p, 'general', 'tcp sessions'), 2);
    assert.equal(relevance(p, 'general', 'ask net'), 2);
    assert.equal(relevance(p, 'side', 'beacon'), 2.4);
    assert.equal(relevance(p, 'lobby', 'beacon'), 0, 'observers never bid');
    assert.equal(relevance(p, 'elsewhere', 'beacon'), 0, 'only in its rooms');
    assert.equal(relevance(p, 'general', 'lunch'), 0);
    assert.equal(relevance(p, 'general', 'tcp sessions', 0.5), 2.5, 'a profile match adds to a reason to speak');
    assert.equal(relevance(p, 'general', 'lunch', 1.5), 0, 'but is no reason on its own');
  });

  it('scores profile matches by BM25 over every persona on the mesh, the same on every node', () => {
    const summary = (nodeId: string, id: string, description: string, capabilities: string[]): PersonaSummary => ({ id, name: id, nodeId, local: false, provider: 'librarian', description, capabilities, rooms: ['general'], state: 'online' });
    const personas = [
      summary('A', 'netops', 'Knows routers, multicast groups and TCP tuning', ['networking']),
      summary('B', 'dba', 'Tunes SQLite and Postgres queries and indexes', ['databases']),
      summary('C', 'writer', 'Writes release notes and docs', ['docs']),
    ];
    const scores = profileScores(personas, 'why are my sqlite queries slow without indexes?');
    assert.ok((scores.get('B/dba') ?? 0) > 0);
    assert.equal(scores.get('A/netops'), undefined);
    assert.ok([...scores.values()].every((score) => score > 0 && score < 2));
    assert.deepEqual(profileScores([...personas].reverse(), 'why are my sqlite queries slow without indexes?'), scores, 'order of discovery does not matter');
    assert.ok((profileScores(personas, 'multicast routers').get('A/netops') ?? 0) > (profileScores(personas, 'routers').get('A/netops') ?? 0), 'more matching terms score higher');
    assert.equal(profileScores(personas, '!!!').size, 0);
  });
});
