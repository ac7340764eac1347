import assert from 'node:assert/strict';
import { buildContext, estimateTokens } from '../../../server/src/personas/contextWindow';
import { parsePersonaFile } from '../../../server/src/personas/personaFile';
import type { LocalParticipant } from '../../../protocol/rooms';
import { TestMesh, type TestNode } from '../rooms/support';

const persona = parsePersonaFile('---\nid: helper\nname: Helper\nbrain:\n  provider: librarian\n---\nYou help.\n', { file: '/h.persona.md' }).persona!;
const as: LocalParticipant = { participantId: 'helper', displayName: 'Helper', kind: 'persona' };

describe('persona context window', () => {
  let mesh: TestMesh;
  let a: TestNode;
  beforeEach(async () => {
    mesh = new TestMesh({ maxMessagesPerMinute: 10_000 });
    a = await mesh.add('A');
    a.rooms.join('other');
  });
  afterEach(() => mesh.close());

  it('takes one room only, the reply chain, recent messages, mentions and relevant older messages', () => {
    const send = (text: string, extra: { replyTo?: string; mentions?: string[]; roomId?: string } = {}, who?: LocalParticipant) => {
      mesh.clock.advance(10);
      return a.rooms.send({ roomId: extra.roomId ?? 'general', text, ...extra }, who);
    };
    send('the secret of the other room', { roomId: 'other' });
    const old = send('the deploy script lives in scripts/deploy.sh');
    const mention = send('@helper remember the staging password rotation', { mentions: ['A/helper'] });
    for (let i = 0; i < 30; i++) send(`filler ${i}`);
    const root = send('can we change the schedule?');
    a.rooms.join('general', as);
    const answer = send('It runs nightly.', { replyTo: root.id }, as);
    for (let i = 30; i < 40; i++) send(`filler ${i}`);
    const question = send('@helper and the deploy script?', { replyTo: answer.id, mentions: ['A/helper'] });

    const context = buildContext(persona, 'A', question, a.rooms, { recent: 5 });
    const texts = context.map((m) => m.content);
    assert.equal(context[0]!.role, 'system');
    assert.equal(texts[0], 'You help.');
    assert.equal(texts.at(-1), '@helper and the deploy script?', 'the question comes last (oldest first)');
    assert.ok(texts.includes('can we change the schedule?'), 'reply chain root');
    assert.deepEqual(context.find((m) => m.content === 'It runs nightly.'), { role: 'assistant', content: 'It runs nightly.' });
    assert.ok(texts.includes('filler 39') && texts.includes('filler 35') && !texts.includes('filler 34'), 'the 5 most recent');
    assert.ok(texts.includes(mention.text), 'an earlier mention of the persona');
    assert.ok(texts.includes(old.text), 'an older message relevant to "deploy script"');
    assert.ok(!texts.some((t) => t.includes('secret of the other room')), 'nothing from another room');
    const users = context.filter((m) => m.role === 'user');
    assert.ok(users.every((m) => m.name === 'A-human'));
  });

  it('stays within the budget and always keeps the question', () => {
    for (let i = 0; i < 50; i++) {
      mesh.clock.advance(10);
      a.rooms.send({ roomId: 'general', text: `message number ${i} `.repeat(20) });
    }
    const question = a.rooms.send({ roomId: 'general', text: 'what now? '.repeat(200) });
    const context = buildContext(persona, 'A', question, a.rooms, { budgetTokens: 400 });
    const total = context.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    assert.ok(total <= 400 + 20, `used ${total}`);
    assert.match(context.at(-1)!.content, /^what now\?/);
    assert.ok(context.length < 10);
  });
});
