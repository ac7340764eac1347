/**
 * A genome download asked for by the editor, over a real JSON-RPC connection: its progress comes as
 * LSP work-done progress on the asker's token, and cancelling the request stops the download.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CancellationTokenSource, createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { WorkDoneProgress } from 'vscode-languageserver-protocol';
import { createConnection, type Connection, type WorkDoneProgressBegin, type WorkDoneProgressEnd, type WorkDoneProgressReport } from 'vscode-languageserver/node';
import { GenomeDownloadRequest, GenomeProgressNotification, type GenomeProgress } from '../../../protocol/genomes';
import { registerGenomeHandlers, type GenomeNode } from '../../../server/src/genomes/rpcHandlers';
import { GenomeService } from '../../../server/src/genomes/service';
import { systemClock } from '../../../server/src/kernel/clock';
import { generateIdentity } from '../../../server/src/kernel/identity';
import { silentLogger } from '../../../server/src/kernel/log';
import { MemoryHub } from '../../support/memoryMeshPort';
import { useTempDir } from '../../support/tempDir';
import { until } from '../../support/until';
import { memoryDb } from '../rooms/support';

type Progress = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

describe('genome download from the editor: work-done progress and request cancellation', () => {
  const tmp = useTempDir('genome-progress-');
  let hub: MemoryHub;
  let services: GenomeService[];
  let server: Connection;
  let client: MessageConnection;
  let registration: { dispose(): void };
  const notified: GenomeProgress[] = [];

  const nodeIds = new Map<GenomeService, string>();

  async function addService(name: string): Promise<GenomeService> {
    const identity = generateIdentity().identity;
    const service = new GenomeService({ dataDir: join(tmp.path, name), store: { db: memoryDb() }, identity, transport: hub.attach(identity.nodeId), clock: systemClock, logger: silentLogger });
    await service.start();
    services.push(service);
    nodeIds.set(service, identity.nodeId);
    return service;
  }

  /** The editor's node knows a genome the publisher holds; returns its id. */
  async function knownGenome(publisher: GenomeService, editor: GenomeService): Promise<string> {
    const { id } = await publisher.publish({ name: 'Runbooks', description: 'incident runbooks', capabilities: ['incidents'], prompt: 'Follow the runbook. '.repeat(200) });
    const results = await editor.query({ required: ['incidents'], timeoutMs: 2_000 });
    assert.deepEqual(results.map((result) => result.id), [id]);
    return id;
  }

  beforeEach(() => {
    hub = new MemoryHub({ autoFlush: true });
    services = [];
    notified.length = 0;
  });

  afterEach(async () => {
    registration.dispose();
    client.dispose();
    server.dispose();
    for (const service of services) await service.stop();
    hub.close();
  });

  function connect(editor: GenomeService): void {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    server = createConnection(toServer, toClient);
    const node: GenomeNode = { genomes: editor, applier: undefined, hostedPersona: () => undefined, reloadPersonas: () => Promise.resolve(), upPeers: () => [] };
    registration = registerGenomeHandlers(server, () => Promise.resolve(node), silentLogger);
    server.listen();
    client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    client.onNotification(GenomeProgressNotification.type, (progress) => notified.push(progress));
    client.listen();
  }

  it('reports begin, progress and end on the asker\'s token, then answers complete', async () => {
    const publisher = await addService('publisher');
    const editor = await addService('editor');
    const id = await knownGenome(publisher, editor);
    connect(editor);
    const seen: Progress[] = [];
    client.onProgress(WorkDoneProgress.type, 'download-1', (value) => seen.push(value));

    const answer = await client.sendRequest(GenomeDownloadRequest.type, { id, workDoneToken: 'download-1' });

    assert.equal(answer.state, 'complete');
    await until('the end of the progress', () => seen.some((value) => value.kind === 'end') || undefined, 5_000);
    assert.equal(seen[0]?.kind, 'begin');
    assert.equal((seen[0]).cancellable, true);
    const reports = seen.filter((value): value is WorkDoneProgressReport => value.kind === 'report');
    assert.ok(reports.length >= 1, `at least one report: ${JSON.stringify(seen)}`);
    assert.equal(reports.at(-1)!.percentage, 100);
    assert.match(reports.at(-1)!.message ?? '', /^100% from 1 peer\(s\)$/);
    assert.equal(seen.at(-1)!.kind, 'end');
    assert.ok(editor.list().local.some((genome) => genome.id === id), 'the genome is local now');
  });

  it('cancelling the request stops the download on the server, which says so to every client', async () => {
    const publisher = await addService('publisher');
    const editor = await addService('editor');
    const id = await knownGenome(publisher, editor);
    // No holder in reach: the download waits (it would give up with no-holders after 30 s).
    hub.unlink(nodeIds.get(publisher)!, nodeIds.get(editor)!);
    connect(editor);
    const source = new CancellationTokenSource();
    const answer = client.sendRequest(GenomeDownloadRequest.type, { id, workDoneToken: 7 }, source.token);
    answer.catch(() => undefined);
    const downloading = () => {
      const { local, network } = editor.list();
      return [...local, ...network].find((genome) => genome.id === id)?.progress;
    };
    await until('the download running on the server', downloading, 5_000);

    source.cancel();

    await assert.rejects(answer);
    const end = await until('the cancelled download told to the clients', () => notified.find((progress) => progress.id === id && progress.state !== 'active'), 5_000);
    assert.equal(end.state, 'cancelled');
    assert.equal(downloading(), undefined, 'nothing runs any more');
  });
});
