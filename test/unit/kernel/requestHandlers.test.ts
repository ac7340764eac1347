/** The one registrar of extension ↔ server methods, over a real JSON-RPC connection. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createMessageConnection, ErrorCodes, NotificationType, RequestType, RequestType0, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { createConnection, type Connection } from 'vscode-languageserver/node';
import { integer, object } from '../../../protocol/check';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import type { Logger } from '../../../server/src/kernel/log';
import { requestHandlers } from '../../../server/src/kernel/requestHandlers';
import { until } from '../../support/until';

const Double = new RequestType<{ n: number }, number, void>('test/double');
const Count = new RequestType0<number, void>('test/count');
const Poke = new NotificationType<{ n: number }>('test/poke');

class Counter {
  count = 0;
  pokes: number[] = [];
}

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  const logger: Logger = { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

describe('kernel/requestHandlers: one table of checked methods', () => {
  let server: Connection;
  let client: MessageConnection;
  let service: Counter | undefined;
  const logged: string[] = [];

  beforeEach(() => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    server = createConnection(toServer, toClient);
    service = new Counter();
    logged.length = 0;
    const handlers = requestHandlers(server, { scope: 'counter', service: () => service, unavailable: 'the counter is not running', logger: recordingLogger(logged) });
    handlers.request(Double, object({ n: integer(0, 100) }, { n: 'the number' }), (counter, p) => {
      if (p.n === 13) throw new Error('unlucky\nsecond line');
      counter.count++;
      return p.n * 2;
    });
    handlers.request0(Count, (counter) => counter.count);
    handlers.notification(Poke, object({ n: integer(0, 9) }), (counter, p) => void counter.pokes.push(p.n));
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.listen();
  });

  afterEach(() => {
    client.dispose();
    server.dispose();
  });

  const refused = async (promise: Promise<unknown>, code: number, message: string | RegExp) =>
    assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, code);
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    });

  it('hands the handler typed params, and refuses bad ones with the checker\'s words before it runs', async () => {
    assert.equal(await client.sendRequest(Double, { n: 21 }), 42);
    await refused(client.sendRequest(Double, { n: 101 }), serviceErrorRpcCodes.invalid, 'the number must be a whole number from 0 to 100');
    await refused(client.sendRequest(Double, null as never), serviceErrorRpcCodes.invalid, 'the request has no parameters');
    assert.equal(await client.sendRequest(Count), 1, 'only the good request ran');
  });

  it('says the service is unavailable while it is missing, and a bug is an internal error in one line, logged', async () => {
    service = undefined;
    await refused(client.sendRequest(Count), serviceErrorRpcCodes.unavailable, 'the counter is not running');
    service = new Counter();
    await refused(client.sendRequest(Double, { n: 13 }), ErrorCodes.InternalError, 'counter: unlucky second line');
    assert.ok(logged.some((line) => line.startsWith('error test/double failed: unlucky')), logged.join('\n'));
    assert.ok(!logged.some((line) => line.includes('whole number')), 'a refusal is not logged as an error');
  });

  it('runs a good notification and logs a refused one at debug (it has no answer)', async () => {
    await client.sendNotification(Poke, { n: 4 });
    await client.sendNotification(Poke, { n: 40 });
    await client.sendNotification(Poke, { n: 5 });
    await until('both good pokes handled', () => service!.pokes.length === 2 || undefined);
    assert.deepEqual(service!.pokes, [4, 5]);
    await until('the refusal logged', () => logged.some((line) => line.startsWith('debug test/poke refused: n must be a whole number from 0 to 9')) || undefined);
  });
});
