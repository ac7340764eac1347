import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BrainError, type Brain, type BrainRequest } from '../../../server/src/personas/brains/brain';
import { createBrainFactory } from '../../../server/src/personas/brains';
import { Participation } from '../../../server/src/personas/participation';
import { chainDepth, mentions } from '../../../server/src/personas/mentions';
import { PersonaRegistry } from '../../../server/src/personas/registry';
import type { PersonaDefinition } from '../../../protocol/personas';
import type { ChatMessage } from '../../../protocol/rooms';
import { fullHistory, TestMesh, type TestNode } from '../rooms/support';

const fixtureWorkspace = path.resolve(__dirname, '../../fixtures/personas/workspace');

function personaFile(id: string, brain: string, participation: string): string {
  return `---\nid: ${id}\nname: ${id[0]!.toUpperCase()}${id.slice(1)}\nbrain: ${brain}\nrooms:\n  general: expert\nparticipation: {${participation}}\n---\nYou are ${id}.\n`;
}

/** A brain whose replies the test scripts. */
class ScriptedBrain implements Brain {
  readonly provider = 'openai' as const;
  requests: BrainRequest[] = [];
  check?: () => Promise<void>;
  constructor(private readonly script: (request: BrainRequest) => AsyncIterable<string>) {
    const probe = probes.get(script);
    if (probe) this.check = probe;
  }
  reply(request: BrainRequest): AsyncIterable<string> {
    this.requests.push(request);
    return this.script(request);
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** Health checks of scripted brains, by script. */
const probes = new Map<unknown, () => Promise<void>>();

const personaMessages = (node: TestNode) => (fullHistory(node.rooms, 'general') as ChatMessage[]).filter((m) => m.author.kind === 'persona');

describe('persona participation', () => {
  let mesh: TestMesh;
  let a: TestNode;
  let b: TestNode;
  let dir: string;
  let registry: PersonaRegistry;
  let participation: Participation | undefined;
  const brains = new Map<string, (request: BrainRequest) => AsyncIterable<string>>();

  beforeEach(async () => {
    mesh = new TestMesh();
    a = await mesh.add('node-a');
    b = await mesh.add('node-b');
    dir = mkdtempSync(path.join(tmpdir(), 'participation-'));
    brains.clear();
  });
  afterEach(async () => {
    await participation?.stop();
    participation = undefined;
    await registry?.stop();
    await mesh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function host(files: Record<string, string>, options: { maxChainDepth?: number } = {}): Promise<void> {
    for (const [id, text] of Object.entries(files)) writeFileSync(path.join(dir, `${id}.persona.md`), text);
    registry = new PersonaRegistry({ extraFolders: [dir] });
    await registry.start();
    const librarian = createBrainFactory({ workspaceFolders: () => [fixtureWorkspace] });
    participation = new Participation({
      rooms: a.rooms,
      personas: registry,
      clock: a.clock,
      logger: a.log.logger,
      createBrain: (persona: PersonaDefinition) => {
        const script = brains.get(persona.id);
        return script ? new ScriptedBrain(script) : librarian(persona);
      },
      ...options,
    });
    await participation.start();
    mesh.settle();
  }

  /** Lets replies finish and the mesh deliver them. */
  /** Lets replies finish, bid windows close and the mesh deliver everything. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 8; i++) {
      await participation!.idle();
      mesh.settle();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('answers a mention from another node as the persona, with the librarian brain, and shows presence', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'cooldownSeconds: 0') });
    const participants = b.rooms.participants('general');
    const persona = participants.find((p) => p.participantId === 'librarian');
    assert.deepEqual(persona && [persona.nodeId, persona.kind, persona.displayName, persona.presence], ['node-a', 'persona', 'Librarian', 'online']);

    const question = b.rooms.send({ roomId: 'general', text: '@librarian how are beacons authenticated?', mentions: ['node-a/librarian'] });
    mesh.settle();
    await settle();
    const replies = personaMessages(b);
    assert.equal(replies.length, 1);
    const reply = replies[0]!;
    assert.deepEqual(reply.author, { nodeId: 'node-a', participantId: 'librarian', displayName: 'Librarian', kind: 'persona' });
    assert.equal(reply.replyTo, question.id);
    assert.deepEqual(reply.mentions, ['node-b/user']);
    assert.match(reply.text, /\[docs\/networking\.md:4\]/);
    assert.deepEqual(reply.metadata, { persona: { id: 'librarian', chain: 1 } });
    assert.equal(registry.get('librarian')?.state, 'online');

    b.rooms.send({ roomId: 'general', text: 'no mention of anyone here about beacons' });
    b.rooms.send({ roomId: 'general', text: 'mail me at x@librarian.org' });
    mesh.settle();
    await settle();
    assert.equal(personaMessages(b).length, 1, 'only mentions are answered');
  });

  it('shows a persona trying a genome as evolving, also after it answers, and back to online after', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'cooldownSeconds: 0') });
    const seen = () => {
      const p = b.rooms.participants('general').find((q) => q.participantId === 'librarian');
      return [p?.presence, p?.statusText];
    };
    participation!.setEvolving('librarian', 'evolving: trying genome strict-reviewer');
    mesh.settle();
    assert.deepEqual(seen(), ['evolving', 'evolving: trying genome strict-reviewer']);
    b.rooms.send({ roomId: 'general', text: '@librarian how are beacons authenticated?', mentions: ['node-a/librarian'] });
    mesh.settle();
    await settle();
    assert.equal(personaMessages(b).length, 1);
    assert.deepEqual(seen(), ['evolving', 'evolving: trying genome strict-reviewer'], 'busy while answering, then evolving again');

    // An editor saving the file the slow way: a reload sees it gone, the next one sees it back.
    const file = path.join(dir, 'librarian.persona.md');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, '');
    await registry.reload();
    mesh.settle();
    assert.equal(registry.get('librarian'), undefined, 'the empty file holds no persona');
    writeFileSync(file, text);
    await registry.reload();
    mesh.settle();
    assert.deepEqual(seen(), ['evolving', 'evolving: trying genome strict-reviewer'], 'still evolving after the persona came back');

    participation!.setEvolving('librarian', undefined);
    mesh.settle();
    assert.deepEqual(seen(), ['online', undefined]);
  });

  it('answers mentions in two rooms that carry the same message id (ids are per room)', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'cooldownSeconds: 0').replace('general: expert', 'general: expert\n  reviews: member') });
    b.rooms.join('reviews');
    mesh.settle();
    const seq = (id: string) => Number(id.split(':').at(-1));
    const filler = (roomId: string) => {
      mesh.clock.advance(5000);
      return b.rooms.send({ roomId, text: 'filler' });
    };
    let inGeneral = filler('general');
    let inReviews = filler('reviews');
    while (seq(inGeneral.id) !== seq(inReviews.id)) {
      if (seq(inGeneral.id) < seq(inReviews.id)) inGeneral = filler('general');
      else inReviews = filler('reviews');
    }
    const first = b.rooms.send({ roomId: 'general', text: '@librarian how are beacons authenticated?', mentions: ['node-a/librarian'] });
    const second = b.rooms.send({ roomId: 'reviews', text: '@librarian how are beacons authenticated?', mentions: ['node-a/librarian'] });
    assert.equal(second.id, first.id, 'the same id in two rooms');
    mesh.settle();
    await settle();
    const answers = (room: string) => (fullHistory(b.rooms, room) as ChatMessage[]).filter((m) => m.author.participantId === 'librarian' && m.replyTo === first.id);
    assert.equal(answers('general').length, 1);
    assert.equal(answers('reviews').length, 1);
  });

  it('follows its file: joins rooms added, leaves rooms removed', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'cooldownSeconds: 0') });
    a.rooms.join('reviews');
    b.rooms.join('reviews');
    const inRoom = (room: string) => b.rooms.participants(room).some((p) => p.participantId === 'librarian');
    writeFileSync(path.join(dir, 'librarian.persona.md'), personaFile('librarian', 'librarian', 'cooldownSeconds: 0').replace('general: expert', 'reviews: expert'));
    await registry.reload();
    mesh.settle();
    assert.ok(inRoom('reviews'));
    assert.ok(!inRoom('general'));
  });

  it('keeps to maxRepliesPerMinute: a human mention waits for the limit instead of being dropped', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'maxRepliesPerMinute: 2, cooldownSeconds: 0') });
    for (const word of ['beacons', 'sessions', 'history']) b.rooms.send({ roomId: 'general', text: `@librarian ${word}?`, mentions: ['node-a/librarian'] });
    mesh.settle();
    await settle();
    assert.equal(personaMessages(b).length, 2);
    assert.equal(participation!.queued('librarian'), 1);
    mesh.clock.advance(60_000);
    await settle();
    assert.equal(personaMessages(b).length, 3);
    assert.match(personaMessages(b)[2]!.text, /history/);
  });

  it('keeps a cooldown per room for human mentions', async () => {
    await host({ librarian: personaFile('librarian', 'librarian', 'cooldownSeconds: 30') });
    b.rooms.send({ roomId: 'general', text: '@librarian beacons?' });
    mesh.settle();
    await settle();
    b.rooms.send({ roomId: 'general', text: '@librarian sessions?' });
    mesh.settle();
    await settle();
    assert.equal(personaMessages(b).length, 1, 'the second mention waits for the cooldown');
    mesh.clock.advance(30_000);
    await settle();
    assert.equal(personaMessages(b).length, 2);
  });

  it('stops persona-to-persona chains at the cap', async () => {
    const echo = (other: string) =>
      async function* (): AsyncIterable<string> {
        await Promise.resolve();
        yield `@${other} what do you think?`;
      };
    brains.set('alpha', echo('beta'));
    brains.set('beta', echo('alpha'));
    await host(
      {
        alpha: personaFile('alpha', 'librarian', 'cooldownSeconds: 0, maxChainDepth: 10'),
        beta: personaFile('beta', 'librarian', 'cooldownSeconds: 0, maxChainDepth: 10'),
      },
      { maxChainDepth: 3 },
    );
    b.rooms.send({ roomId: 'general', text: '@alpha start a discussion' });
    mesh.settle();
    await settle();
    const chain = personaMessages(b).map((m) => [m.author.participantId, chainDepth(m)]);
    assert.deepEqual(chain, [
      ['alpha', 1],
      ['beta', 2],
      ['alpha', 3],
    ]);
    assert.ok(a.log.messages('info').some((m) => /beta does not answer .*chain is already 3 long \(cap 3\)/.test(m)));
  });

  it('streams a slow reply as a message grown by edits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    brains.set('slow', async function* () {
      yield 'Hello';
      await gate;
      yield ' world';
    });
    await host({ slow: personaFile('slow', 'librarian', 'cooldownSeconds: 0') });
    b.rooms.send({ roomId: 'general', text: '@slow hi', mentions: ['node-a/slow'] });
    mesh.settle();
    await new Promise((resolve) => setImmediate(resolve));
    mesh.clock.advance(800);
    mesh.settle();
    assert.deepEqual(personaMessages(b).map((m) => m.text), ['Hello'], 'the partial reply is posted after firstFlushMs');
    release();
    await settle();
    const [reply] = personaMessages(b);
    assert.equal(reply!.text, 'Hello world');
    assert.ok(reply!.editedAt !== undefined);
  });

  it('posts one notice when the brain fails, shows degraded, and recovers', async () => {
    let down = true;
    const script = async function* (request: BrainRequest): AsyncIterable<string> {
      await Promise.resolve();
      if (down) throw new BrainError('unreachable', 'http://127.0.0.1:9/v1 is unreachable');
      yield `fine: ${request.question}`;
    };
    brains.set('flaky', script);
    await host({ flaky: personaFile('flaky', 'librarian', 'cooldownSeconds: 0') });
    b.rooms.send({ roomId: 'general', text: '@flaky one' });
    mesh.settle();
    await settle();
    b.rooms.send({ roomId: 'general', text: '@flaky two' });
    mesh.settle();
    await settle();
    assert.deepEqual(personaMessages(b).map((m) => m.text), ['⚠️ Flaky cannot answer right now: http://127.0.0.1:9/v1 is unreachable']);
    assert.equal(registry.get('flaky')?.state, 'degraded');
    assert.equal(registry.get('flaky')?.reason, 'http://127.0.0.1:9/v1 is unreachable');
    const presence = b.rooms.participants('general').find((p) => p.participantId === 'flaky');
    assert.equal(presence?.presence, 'away');
    assert.match(presence?.statusText ?? '', /degraded: .*unreachable/);
    down = false;
    b.rooms.send({ roomId: 'general', text: '@flaky three' });
    mesh.settle();
    await settle();
    assert.equal(personaMessages(b).at(-1)!.text, 'fine: three');
    assert.equal(registry.get('flaky')?.state, 'online');
    assert.equal(b.rooms.participants('general').find((p) => p.participantId === 'flaky')?.presence, 'online');
  });

  it('recovers a degraded persona when the probe finds its brain working again, without a question', async () => {
    let down = true;
    const script = async function* (): AsyncIterable<string> {
      await Promise.resolve();
      if (down) throw new BrainError('unreachable', 'the endpoint is down');
      yield 'ok';
    };
    brains.set('probed', script);
    probes.set(script, () => (down ? Promise.reject(new BrainError('unreachable', 'still down')) : Promise.resolve()));
    await host({ probed: personaFile('probed', 'librarian', 'cooldownSeconds: 0') });
    b.rooms.send({ roomId: 'general', text: '@probed hi', mentions: ['node-a/probed'] });
    mesh.settle();
    await settle();
    assert.equal(registry.get('probed')?.state, 'degraded');
    mesh.clock.advance(30_000);
    await settle();
    assert.equal(registry.get('probed')?.state, 'degraded', 'the probe failed: still degraded');
    down = false;
    mesh.clock.advance(30_000);
    await settle();
    assert.equal(registry.get('probed')?.state, 'online');
    assert.equal(b.rooms.participants('general').find((p) => p.participantId === 'probed')?.presence, 'online');
    assert.equal(personaMessages(b).length, 1, 'only the one notice was posted');
  });

  it('recognises mentions by key or by @id in the text', () => {
    const message = (text: string, keys: string[] = []) => ({ text, mentions: keys }) as unknown as ChatMessage;
    assert.ok(mentions(message('hi', ['n1/lib']), 'n1', 'lib'));
    assert.ok(!mentions(message('@lib hi', ['n2/lib']), 'n1', 'lib'), 'the key names the persona on another node');
    assert.ok(mentions(message('hey @Lib, hi'), 'n1', 'lib'));
    assert.ok(!mentions(message('hey @library'), 'n1', 'lib'));
    assert.ok(!mentions(message('a@lib.org'), 'n1', 'lib'));
  });
});
