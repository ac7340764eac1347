import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { registerGenomeHandlers, type GenomeNode } from '../../../server/src/genomes/rpcHandlers';
import { GenomeService } from '../../../server/src/genomes/service';
import { systemClock } from '../../../server/src/kernel/clock';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { CancellationToken, ResponseError } from 'vscode-languageserver';
import { serviceErrorRpcCodes } from '../../../protocol/errors';
import {
  GenomeApplyRequest,
  GenomeChangedNotification,
  GenomeDownloadRequest,
  GenomeListRequest,
  GenomeManifestRequest,
  GenomeProgressNotification,
  GenomePublishRequest,
  GenomeQueryRequest,
  type GenomeProgress,
  type GenomeSummary,
} from '../../../protocol/genomes';
import { MemoryHub } from '../../support/memoryMeshPort';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { memoryDb } from '../rooms/support';

type Listed = { local: GenomeSummary[]; network: GenomeSummary[] };

/** The language server connection as the handlers see it: requests by method, and a count of GenomeChanged notifications. */
/** A node with a genome service and no personas; `upPeers` says who is up. */
function genomeNode(genomes: GenomeService, upPeers: () => readonly string[] = () => []): GenomeNode {
  return { genomes, applier: undefined, hostedPersona: () => undefined, reloadPersonas: () => Promise.resolve(), upPeers };
}

function fakeConnection() {
  const handlers = new Map<string, (params: unknown) => Promise<unknown>>();
  const changes = { count: 0 };
  const connection = {
    onRequest: (type: { method: string }, handler: (params: unknown, token: CancellationToken) => Promise<unknown>) => {
      handlers.set(type.method, (params) => handler(params, CancellationToken.None));
      return { dispose: () => handlers.delete(type.method) };
    },
    sendNotification: (type: { method: string }) => {
      if (type.method === GenomeChangedNotification.method) changes.count++;
      return Promise.resolve();
    },
  };
  return { connection, handlers, changes };
}

/** The ResponseError a request was refused with (it fails the test if it answered). */
async function refusal(answer: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await answer;
  } catch (error) {
    assert.ok(error instanceof ResponseError, String(error));
    return { code: error.code, message: error.message };
  }
  return assert.fail('the request was answered');
}

describe('genome requests from the editor (list)', () => {
  const tmp = useTempDir('genome-rpc-');
  let hub: MemoryHub;
  let services: GenomeService[];

  beforeEach(() => {
    hub = new MemoryHub({ autoFlush: true });
    services = [];
  });
  afterEach(async () => {
    for (const service of services) await service.stop();
    hub.close();
  });

  async function addService(name: string): Promise<GenomeService> {
    const identity = generateIdentity().identity;
    const service = new GenomeService({ dataDir: join(tmp.path, name), store: { db: memoryDb() }, identity, transport: hub.attach(identity.nodeId), clock: systemClock, logger: silentLogger });
    await service.start();
    services.push(service);
    return service;
  }

  it('answers at once from what the node knows, asks the mesh in the background at most every 30 s, and waits for the mesh when asked to', async () => {
    const publisher = await addService('a');
    const editor = await addService('b');
    await publisher.publish({ name: 'First', description: 'one', capabilities: ['one'], prompt: 'One.' });

    const { connection, handlers, changes } = fakeConnection();
    // Every mesh search the editor's node starts, counted where it starts.
    const searches = { count: 0 };
    const query = editor.query.bind(editor);
    editor.query = (value) => {
      searches.count++;
      return query(value);
    };
    let now = 0;
    const registration = registerGenomeHandlers(connection as never, () => Promise.resolve(genomeNode(editor)), silentLogger, () => now);
    const list = (params: { ask?: boolean }) => handlers.get(GenomeListRequest.method)!(params) as Promise<Listed>;
    try {
      const first = await list({});
      assert.deepEqual(first.network, [], 'nothing seen yet: the answer does not wait for the mesh');
      await until('the background answer to be announced', () => (changes.count > 0 ? true : undefined), 5000);
      assert.deepEqual((await list({})).network.map((g) => g.name), ['First']);

      await publisher.publish({ name: 'Second', description: 'two', capabilities: ['two'], prompt: 'Two.' });
      now += 10_000;
      const before = changes.count;
      const searched = searches.count;
      assert.deepEqual((await list({})).network.map((g) => g.name), ['First'], 'within 30 s no new search');
      assert.equal(searches.count, searched, 'within 30 s no new search');
      assert.equal(changes.count, before);
      assert.deepEqual((await list({ ask: true })).network.map((g) => g.name).sort(), ['First', 'Second'], 'ask waits for every peer');
      // The asked search went round the mesh after the plain list: one started later by that list would show here.
      assert.equal(searches.count, searched + 1, 'within 30 s no new search: only the asked one');

      await publisher.publish({ name: 'Third', description: 'three', capabilities: ['three'], prompt: 'Three.' });
      now += 30_000;
      const stale = changes.count;
      await list({});
      await until('the next background search to be announced', () => (changes.count > stale ? true : undefined), 5000);
      assert.ok((await list({})).network.some((g) => g.name === 'Third'));
    } finally {
      registration.dispose();
    }
  });

  it('searches again at once when other peers are up (a list made before they came knows none of theirs)', async () => {
    const editor = await addService('b');
    const { connection, handlers, changes } = fakeConnection();
    const up: string[] = [];
    const registration = registerGenomeHandlers(connection as never, () => Promise.resolve(genomeNode(editor, () => up)), silentLogger, () => 0);
    const list = () => handlers.get(GenomeListRequest.method)!({}) as Promise<Listed>;
    try {
      assert.deepEqual((await list()).network, [], 'alone at start: the search finds nothing');
      // A peer comes up a moment later (the clock has not moved: well within 30 s).
      const late = await addService('c');
      await late.publish({ name: 'Late', description: 'late', capabilities: ['late'], prompt: 'Late.' });
      up.push('c');
      const before = changes.count;
      await list();
      await until('the search for the new peer to be announced', () => (changes.count > before ? true : undefined), 5000);
      assert.deepEqual((await list()).network.map((g) => g.name), ['Late']);
    } finally {
      registration.dispose();
    }
  });

  it('refuses a malformed param with the protocol checker\'s words and InvalidParams; the service\'s own refusals keep their code', async () => {
    const editor = await addService('b');
    const { connection, handlers } = fakeConnection();
    const registration = registerGenomeHandlers(connection as never, () => Promise.resolve(genomeNode(editor)), silentLogger);
    const call = (method: string, params: unknown) => handlers.get(method)!(params);
    const invalid = serviceErrorRpcCodes.invalid;
    try {
      assert.deepEqual(await refusal(call(GenomeDownloadRequest.method, { id: 'nope' })), { code: invalid, message: '"nope" is not a genome id' });
      assert.deepEqual(await refusal(call(GenomeManifestRequest.method, {})), { code: invalid, message: 'the genome id must be text' });
      assert.deepEqual(await refusal(call(GenomeDownloadRequest.method, undefined)), { code: invalid, message: 'the request has no parameters' });
      assert.deepEqual(await refusal(call(GenomeListRequest.method, { ask: 'yes' })), { code: invalid, message: 'ask must be true or false' });
      assert.deepEqual(await refusal(call(GenomeQueryRequest.method, { timeoutMs: 60_000 })), { code: invalid, message: 'the timeout must be a whole number from 0 to 30000' });
      assert.deepEqual(await refusal(call(GenomeApplyRequest.method, { id: 'f'.repeat(64) })), { code: invalid, message: 'the persona id must be text' });
      assert.deepEqual(await refusal(call(GenomePublishRequest.method, { name: 'x', description: '', capabilities: [7] })), { code: invalid, message: 'a capability must be text' });
      // Well-formed: the service says what is wrong, with the genomes' own code.
      assert.deepEqual(await refusal(call(GenomeDownloadRequest.method, { id: 'f'.repeat(64) })), { code: 4090, message: 'genome ffffffffffff… is unknown here: query the mesh for it first' });
      assert.equal(await call(GenomeManifestRequest.method, { id: 'f'.repeat(64) }), null);
      assert.deepEqual(await call(GenomeQueryRequest.method, undefined), [], 'a query without params asks for everything');
    } finally {
      registration.dispose();
    }
    const offline = fakeConnection();
    const noDatabase = registerGenomeHandlers(offline.connection as never, () => Promise.resolve({ ...genomeNode(editor), genomes: undefined }), silentLogger);
    try {
      assert.deepEqual(await refusal(offline.handlers.get(GenomeListRequest.method)!({})), {
        code: serviceErrorRpcCodes.unavailable,
        message: 'genomes are not available: the node has no database (see Persona Mesh: Show Status)',
      });
    } finally {
      noDatabase.dispose();
    }
  });

  it('sends a running download\'s progress at most every 100 ms, and its end at once', async () => {
    const editor = await addService('b');
    const sent: GenomeProgress[] = [];
    let listHandler: ((params: unknown) => Promise<unknown>) | undefined;
    const connection = {
      onRequest: (type: { method: string }, handler: (params: unknown) => Promise<unknown>) => {
        if (type.method === GenomeListRequest.method) listHandler = handler;
        return { dispose: () => undefined };
      },
      sendNotification: (type: { method: string }, params: GenomeProgress) => {
        if (type.method === GenomeProgressNotification.method) sent.push(params);
        return Promise.resolve();
      },
    };
    let now = 0;
    const registration = registerGenomeHandlers(connection as never, () => Promise.resolve(genomeNode(editor)), silentLogger, () => now);
    try {
      await listHandler!({});
      const progress = (piecesDone: number, state: GenomeProgress['state'] = 'active'): GenomeProgress => ({ id: 'g1', state, bytes: piecesDone, totalBytes: 100, piecesDone, pieces: 100, sources: [] });
      for (let piece = 1; piece <= 50; piece++) {
        now += 5;
        editor.emit('progress', progress(piece));
      }
      // 250 ms of pieces every 5 ms: the first, then one per 100 ms.
      assert.deepEqual(sent.map((p) => p.piecesDone), [1, 21, 41]);
      now += 1;
      editor.emit('progress', progress(100, 'complete'));
      assert.equal(sent.at(-1)!.state, 'complete');
    } finally {
      registration.dispose();
    }
  });
});
