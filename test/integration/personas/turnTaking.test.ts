/**
 * Personas on three real MeshNetwork nodes (loopback, encrypted sessions): the directory sees
 * every node's personas, an unmentioned question is answered exactly once by the most relevant
 * persona, a mention gets that persona's answer, and a persona hosted by two nodes answers once.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PersonaService } from '../../../server/src/personas/service';
import type { ChatMessage } from '../../../protocol/rooms';
import { useTempDir } from '../../support/tempDir';
import { RoomsNode, waitFor } from '../rooms/support';

const fixtureWorkspace = resolve(__dirname, '../../fixtures/personas/workspace');
/** How long each node collects bids for a question before the best bid answers. */
const bidWindowMs = 800;
/**
 * The bid window is wall time (the rounds run on the system clock): a round opens on a node when
 * the question reaches it, and closes this long after. Waited for from a moment every node held
 * the question, it has closed every round.
 */
const waitPastBidWindow = () => new Promise((resolve) => setTimeout(resolve, bidWindowMs));

function persona(id: string, front: string): string {
  return `---\nid: ${id}\nbrain: librarian\nrooms: {general: expert}\nparticipation: {cooldownSeconds: 0}\n${front}\n---\nYou are ${id}.\n`;
}

describe('personas on real MeshNetwork nodes (loopback)', function () {
  this.timeout(60_000);
  const temp = useTempDir('persona-mesh-personas-');
  let nodes: RoomsNode[] = [];
  let services: PersonaService[] = [];

  async function startNode(name: string, personas: Record<string, string>, peers: string[]): Promise<RoomsNode> {
    const dir = join(temp.path, name);
    const folder = join(dir, 'personas');
    mkdirSync(folder, { recursive: true });
    for (const [id, text] of Object.entries(personas)) writeFileSync(join(folder, `${id}.persona.md`), text);
    const node = await RoomsNode.start(name, dir);
    await node.connect(peers);
    const service = new PersonaService({ rooms: node.rooms, transport: node.transport, workspaceFolders: [fixtureWorkspace], extraFolders: [folder], logger: node.log.logger, participation: { bidWindowMs }, announceIntervalMs: 1000 });
    await service.start();
    nodes.push(node);
    services.push(service);
    return node;
  }

  afterEach(async () => {
    for (const service of services) await service.stop();
    for (const node of nodes) await node.stop();
    nodes = [];
    services = [];
  });

  const personaReplies = (node: RoomsNode): ChatMessage[] => node.history().filter((m) => m.author.kind === 'persona');

  /**
   * Every answer `question` will get is on every node: every round for it has closed, every answer
   * a round started has been posted, and the answers have spread.
   */
  async function allAnswersIn(question: string): Promise<void> {
    await waitFor('the question on every node', () => nodes.every((n) => n.history().some((m) => m.text === question)), 20_000);
    await waitPastBidWindow();
    await Promise.all(services.map((s) => s.participation.idle()));
    const posted = () => new Set(nodes.flatMap((n) => personaReplies(n).map((m) => m.id))).size;
    await waitFor('every answer on every node', () => nodes.every((n) => personaReplies(n).length === posted()), 20_000);
  }

  it('one answer per question mesh-wide, mentions answered by their persona, shared personas once', async () => {
    const shared = persona('docs', 'triggers: [libsql]');
    const a = await startNode('alice', { net: persona('net', 'triggers: [beacon, handshake]\ncapabilities: [networking]') }, []);
    const b = await startNode('bob', { docs: shared }, [a.address]);
    const c = await startNode('carol', { docs: shared }, [a.address, b.address]);
    await waitFor('a full mesh', () => nodes.every((n) => n.transport.upPeers().length === 2), 10_000);
    // Every node also hosts the workspace's own `librarian` (.mesh/personas in the shared repository).
    await waitFor('every node sees every persona', () => services.every((s) => s.directory.all().length === 6), 20_000);
    assert.deepEqual(
      services[2]!.directory.all().map((p) => `${p.id}@${p.nodeId === a.nodeId ? 'alice' : p.nodeId === b.nodeId ? 'bob' : 'carol'}${p.local ? ' (local)' : ''}`).sort(),
      ['docs@bob', 'docs@carol (local)', 'librarian@alice', 'librarian@bob', 'librarian@carol (local)', 'net@alice'],
    );

    // An unmentioned question: net (triggers beacon, handshake) outbids docs.
    const question = 'How are the beacons authenticated before the handshake?';
    c.rooms.send({ roomId: 'general', text: question });
    await waitFor('an answer', () => personaReplies(c).length >= 1, 20_000);
    await allAnswersIn(question);
    const first = personaReplies(c);
    assert.equal(first.length, 1, first.map((m) => m.text).join('\n---\n'));
    assert.equal(first[0]!.author.nodeId, a.nodeId);
    assert.match(first[0]!.text, /docs\/networking\.md:4/);

    // A mention of the persona that bob and carol both host: answered once.
    const mention = '@docs where is history stored?';
    a.rooms.send({ roomId: 'general', text: mention });
    await waitFor('a second answer', () => personaReplies(a).length >= 2, 20_000);
    await allAnswersIn(mention);
    const second = personaReplies(a);
    assert.equal(second.length, 2, second.map((m) => m.text).join('\n---\n'));
    assert.equal(second[1]!.author.participantId, 'docs');
    assert.ok([b.nodeId, c.nodeId].includes(second[1]!.author.nodeId));
    assert.match(second[1]!.text, /docs\/rooms\.md:4/);

    await waitFor('every node has both answers', () => nodes.every((n) => personaReplies(n).length === 2), 20_000);
  });
});
