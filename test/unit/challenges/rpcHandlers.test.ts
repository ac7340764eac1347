import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import { registerChallengeHandlers } from '../../../server/src/challenges/rpcHandlers';
import { ChallengeChangedNotification, ListChallengesRequest, StartChallengeRequest, SubmitScoresRequest, type ChallengeView } from '../../../protocol/challenges';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import { card, ChallengeMesh, human, persona, spec, type ChallengeNode } from './support';

describe('challenges/rpcHandlers (over a real JSON-RPC connection)', () => {
  let mesh: ChallengeMesh;
  let node: ChallengeNode;
  let client: MessageConnection;
  let registration: { dispose(): void };
  const changed: ChallengeView[] = [];

  beforeEach(async () => {
    mesh = new ChallengeMesh();
    node = await mesh.add({ brains: { p1: () => 'first answer', p2: () => 'second answer' } });
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(toServer, toClient);
    registration = registerChallengeHandlers(server, () => node.challenges);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.onNotification(ChallengeChangedNotification.type, (view) => changed.push(view));
    client.listen();
    changed.length = 0;
  });

  afterEach(async () => {
    registration.dispose();
    client.dispose();
    await mesh.close();
  });

  const refused = (promise: Promise<unknown>, message: string) =>
    assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, serviceErrorRpcCodes.invalid);
      assert.equal(error.message, message);
      return true;
    });

  it('starts a challenge, lists it and takes the person’s card as the chat panel sends it', async () => {
    const participants = [persona(node.id, 'p1'), persona(node.id, 'p2')];
    const started = await client.sendRequest(StartChallengeRequest.type, { ...spec({ participants, judges: [human(node.id)] }), extra: 'dropped' } as never);
    assert.equal(started.spec.title, 'Debounce');
    assert.ok(!('extra' in started.spec), 'only the known fields reach the service');
    await mesh.settle();
    const [listed] = await client.sendRequest(ListChallengesRequest.type);
    assert.equal(listed?.id, started.id);
    assert.equal(listed.state, 'judging');
    const labels = listed.answers!.map((answer) => answer.label);
    await client.sendRequest(SubmitScoresRequest.type, { challengeId: started.id, scores: card(labels, () => 7) });
    await mesh.settle();
    assert.equal(node.challenges.get(started.id)?.state, 'revealed');
    for (let i = 0; i < 50 && !changed.some((view) => view.state === 'revealed'); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(changed.some((view) => view.state === 'revealed'), 'the reveal was notified');
  });

  it('refuses malformed params with the protocol checker\'s words and the invalid-params code, before the service runs', async () => {
    const participants = [persona(node.id, 'p1'), persona(node.id, 'p2')];
    const good = spec({ participants, judges: [human(node.id)] });
    await refused(client.sendRequest(StartChallengeRequest.type, { ...good, participants: participants.slice(0, 1) }), 'a challenge needs 2 to 16 participants');
    await refused(client.sendRequest(StartChallengeRequest.type, { ...good, timeLimitMs: 10 }), 'the time limit must be between 1 s and 60 min');
    await refused(client.sendRequest(StartChallengeRequest.type, { ...good, judges: [{ ...human(node.id), participantId: 'ada' }] }), 'a judge is a person, whose participant id is "user"');
    await refused(client.sendRequest(StartChallengeRequest.type, { ...good, weights: { technical: 0.5, collaborative: 0.5, innovative: 0.5, reliable: 0 } }), 'the criteria weights must sum to 1 (they sum to 1.5)');
    await refused(client.sendRequest(SubmitScoresRequest.type, { challengeId: 'c1', scores: { A: { technical: 11, collaborative: 0, innovative: 0, reliable: 0 } } }), 'answer A: technical must be a whole number from 0 to 10');
    await refused(client.sendRequest(SubmitScoresRequest.type, { challengeId: 'c1', scores: { 'a\nb': { technical: 1, collaborative: 0, innovative: 0, reliable: 0 } } }), 'there is no answer "a\\nb"');
    await refused(client.sendRequest(SubmitScoresRequest.type, null as never), 'the request has no parameters');
    assert.deepEqual(await client.sendRequest(ListChallengesRequest.type), [], 'nothing was started');
  });
});
