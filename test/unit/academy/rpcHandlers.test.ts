import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createMessageConnection, RequestType, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection } from 'vscode-languageserver/node';
import { registerAcademyHandlers } from '../../../server/src/academy/rpcHandlers';
import { AcademyLeaderboardRequest, AcademySignalNotification, AcademySignalsRequest, type Signal } from '../../../protocol/academy';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import type { RateParams } from '../../../protocol/webview';
import { AcademyMesh, exchange, type AcademyNode } from './support';

/** Exactly what the extension sends (extension/src/chat/bridge.ts). */
const extensionRateRequest = new RequestType<RateParams, void, void>('mesh/academy/rate');

describe('academy/rpcHandlers (over a real JSON-RPC connection)', () => {
  let mesh: AcademyMesh;
  let client: MessageConnection;
  let a: AcademyNode;
  let registration: { dispose(): void };
  const notified: Signal[] = [];

  beforeEach(async () => {
    mesh = new AcademyMesh();
    a = await mesh.add();
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(toServer, toClient);
    registration = registerAcademyHandlers(server, () => a.academy);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.onNotification(AcademySignalNotification.type, (s) => notified.push(s));
    client.listen();
    notified.length = 0;
  });

  afterEach(async () => {
    registration.dispose();
    client.dispose();
    await mesh.close();
  });

  it('takes the chat panel’s rating as the extension sends it, then serves the leaderboard and the signals', async () => {
    const { reply } = exchange(a, 'q', 'a');
    const persona = `${a.id}/helper`;
    await client.sendRequest(extensionRateRequest, { roomId: 'general', messageId: reply.id, persona, rating: 'up' });
    const board = await client.sendRequest(AcademyLeaderboardRequest.type, {});
    assert.deepEqual(board.personas.map((p) => [p.key, p.overall.count]), [[persona, 1]]);
    const signals = await client.sendRequest(AcademySignalsRequest.type, { persona });
    assert.equal(signals.length, 1);
    for (let i = 0; i < 50 && notified.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(notified.map((s) => s.id), [signals[0]!.id]);
  });

  it('answers a bad rating with a one-line error', async () => {
    await assert.rejects(client.sendRequest(extensionRateRequest, { roomId: 'general', messageId: `${a.id}:77`, persona: `${a.id}/helper`, rating: 'up' }), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.match(error.message, /not in room/);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    await assert.rejects(client.sendRequest(AcademyLeaderboardRequest.type, { category: 'charm' as never }), /not a category/);
  });

  it('refuses malformed params with the protocol checker\'s words and the invalid-params code, before the Academy runs', async () => {
    const refused = (promise: Promise<unknown>, message: string) =>
      assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof ResponseError);
        assert.equal(error.code, serviceErrorRpcCodes.invalid);
        assert.equal(error.message, message);
        return true;
      });
    const { reply } = exchange(a, 'q', 'a');
    const persona = `${a.id}/helper`;
    await refused(client.sendRequest(extensionRateRequest, { roomId: 'general', messageId: reply.id, persona, rating: 'sideways' as never }), 'a rating is "up", "down" or null');
    await refused(client.sendRequest(extensionRateRequest, { roomId: 'general', messageId: reply.id, persona: 'helper', rating: 'up' }), 'the persona must be a persona key (nodeId/personaId)');
    await refused(client.sendRequest(AcademySignalsRequest.type, { persona, limit: 5000 }), 'the limit must be a whole number from 1 to 1000');
    await refused(client.sendRequest(AcademySignalsRequest.type, null as never), 'the request has no parameters');
    await refused(client.sendRequest(AcademyLeaderboardRequest.type, { before: 'yesterday' as never }), 'before must be a time in ms');
    assert.equal((await client.sendRequest(AcademySignalsRequest.type, { persona })).length, 0, 'nothing was rated');
    assert.equal((await client.sendRequest(AcademyLeaderboardRequest.type, undefined as never)).signalCount, 0, 'no params is the board of every category; no signal was recorded');
  });
});
