import assert from 'node:assert/strict';
import { findPersona, parseAsk, roomFor } from '../../../extension/src/personaAsk';
import type { PersonaSummary } from '../../../protocol/personas';

const persona = (over: Partial<PersonaSummary>): PersonaSummary => ({
  id: 'librarian',
  name: 'Librarian',
  nodeId: 'A',
  local: false,
  provider: 'librarian',
  capabilities: [],
  rooms: ['general'],
  state: 'online',
  ...over,
});

describe('@mesh /ask: naming a persona', () => {
  const personas = [
    persona({ id: 'librarian', nodeId: 'REMOTE', state: 'degraded' }),
    persona({ id: 'librarian', nodeId: 'LOCAL', local: true }),
    persona({ id: 'reviewer', name: 'Code Reviewer', nodeId: 'B', rooms: ['reviews', 'team'] }),
  ];

  it('finds a persona by id or name, with or without @, preferring a working copy', () => {
    assert.equal(findPersona(personas, '@Librarian')?.nodeId, 'LOCAL');
    assert.equal(findPersona(personas, 'code reviewer')?.id, 'reviewer', 'by its name, as the API takes it');
    assert.equal(findPersona(personas, 'reviewer')?.nodeId, 'B');
    assert.equal(findPersona(personas, ''), undefined);
  });

  it('splits the persona from the question and explains what is missing', () => {
    const asked = parseAsk('  @reviewer  is this   safe? ', personas);
    assert.ok(!('error' in asked));
    assert.equal(asked.persona.id, 'reviewer');
    assert.equal(asked.question, 'is this safe?');
    assert.deepEqual(parseAsk('', personas), { error: 'Name a persona and a question: `/ask <persona> <question>`.' });
    assert.deepEqual(parseAsk('ghost hi', personas), { error: 'No persona `ghost` on the mesh.' });
    assert.deepEqual(parseAsk('reviewer', personas), { error: 'What should Code Reviewer answer? `/ask reviewer <question>`.' });
  });

  it('asks in general when the persona is there, else in its first room', () => {
    assert.equal(roomFor(personas[1]!), 'general');
    assert.equal(roomFor(personas[2]!), 'reviews');
    assert.equal(roomFor(persona({ rooms: [] })), 'general');
  });
});
