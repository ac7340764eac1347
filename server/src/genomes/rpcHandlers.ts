/**
 * The extension ↔ server methods of genomes (protocol/genomes.ts) on the server's connection.
 * Failures reach the client as ResponseErrors whose message is one line for the user.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { ResponseError, type Connection, type Disposable, type WorkDoneProgressReporter } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import {
  GenomeApplyRequest,
  GenomeChangedNotification,
  GenomeDeleteRequest,
  GenomeDownloadRequest,
  GenomeListRequest,
  GenomeManifestRequest,
  genomeParams,
  GenomeProgressNotification,
  GenomePublishPersonaRequest,
  GenomePublishRequest,
  GenomeQueryRequest,
  GenomeUnapplyRequest,
  type GenomeProgress,
} from '../../../protocol/genomes';
import type { PersonaDefinition } from '../../../protocol/personas';
import { requestHandlers } from '../kernel/requestHandlers';
import { oneLine } from '../kernel/responseError';
import type { GenomeApplier } from './apply';
import { GenomeError } from './errors';
import type { GenomeService } from './service';

export type GenomeConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'> & { window: Pick<Connection['window'], 'attachWorkDoneProgress'> };

/** Genome failures are the user's to fix (size, space, signature...): one code for all, the message says which. */
const genomeErrorCode = 4090;
/** A plain list asks the mesh in the background at most this often, unless other peers are up since (their genomes are unknown). */
const backgroundQueryEveryMs = 30_000;
const listQuery = { maxResults: 200, timeoutMs: 1500 };
/** A running download's progress goes to the editor at most this often (a genome has thousands of pieces). */
const progressEveryMs = 100;

function genomeResponseError(error: unknown): ResponseError<void> | undefined {
  return error instanceof GenomeError ? new ResponseError(genomeErrorCode, oneLine(error.message)) : undefined;
}

/** What the genome requests need of the node; the root hands it (node/genomePort.ts). */
export interface GenomeNode {
  readonly genomes: GenomeService | undefined;
  readonly applier: GenomeApplier | undefined;
  /** A persona this node hosts. */
  hostedPersona(id: string): PersonaDefinition | undefined;
  /** Reads the persona files again (a genome applied or removed changed one). */
  reloadPersonas(): Promise<void>;
  /** The peers up now: a list made before one came knows none of its genomes. */
  upPeers(): readonly string[];
}

export function registerGenomeHandlers(connection: GenomeConnection, source: () => Promise<GenomeNode>, logger?: Logger, now: () => number = () => performance.now()): Disposable {
  let attached: GenomeService | undefined;
  let lastQueryAt = -Infinity;
  let lastQueryPeers = '';
  let changedSoon: NodeJS.Immediate | undefined;
  const progressSentAt = new Map<string, number>();
  /** The work-done progress of each download an editor asked for with a token. */
  const reporters = new Map<string, Set<WorkDoneProgressReporter>>();
  // One throttle for both: every client's notification and the asker's $/progress.
  const onProgress = (progress: GenomeProgress) => {
    if (progress.state === 'active') {
      const last = progressSentAt.get(progress.id);
      if (last !== undefined && now() - last < progressEveryMs) return;
      progressSentAt.set(progress.id, now());
    } else {
      progressSentAt.delete(progress.id);
    }
    void connection.sendNotification(GenomeProgressNotification.type, progress).catch(() => undefined);
    if ((progress.state !== 'active' && progress.state !== 'complete') || progress.totalBytes === 0) return;
    const percent = Math.floor((progress.bytes / progress.totalBytes) * 100);
    for (const reporter of reporters.get(progress.id) ?? []) reporter.report(percent, `${percent}% from ${progress.sources.length} peer(s)`);
  };
  // One notification per turn, however many manifests one answer brought.
  const onChanged = () => {
    changedSoon ??= setImmediate(() => {
      changedSoon = undefined;
      void connection.sendNotification(GenomeChangedNotification.type, {}).catch(() => undefined);
    });
  };
  const handlers = requestHandlers(connection, {
    scope: 'genomes',
    service: async (): Promise<{ node: GenomeNode; genomes: GenomeService } | undefined> => {
      const node = await source();
      const genomes = node.genomes;
      if (!genomes) return undefined;
      if (attached !== genomes) {
        attached?.off('progress', onProgress).off('changed', onChanged).off('seen', onChanged);
        attached = genomes;
        genomes.on('progress', onProgress).on('changed', onChanged).on('seen', onChanged);
      }
      return { node, genomes };
    },
    unavailable: 'genomes are not available: the node has no database (see Persona Mesh: Show Status)',
    ownErrors: genomeResponseError,
    ...(logger ? { logger } : {}),
  });
  const persona = (node: GenomeNode, id: string) => {
    const hosted = node.hostedPersona(id);
    if (!hosted) throw new GenomeError('not-found', `there is no persona "${id}" hosted by this node`);
    return hosted;
  };
  const applier = (node: GenomeNode) => {
    if (!node.applier) throw new GenomeError('offline', 'genomes cannot be applied: the node has no personas (see Persona Mesh: Show Status)');
    return node.applier;
  };

  handlers.request(GenomeListRequest.type, genomeParams.list, async ({ node, genomes }, p) => {
    // Network genomes are the answers to a search: every peer answers (or the timeout ends it).
    const peers = [...node.upPeers()].sort().join(',');
    const stale = now() - lastQueryAt >= backgroundQueryEveryMs || peers !== lastQueryPeers;
    const ask = p?.ask === true;
    if (ask || stale) [lastQueryAt, lastQueryPeers] = [now(), peers];
    if (ask) await genomes.query(listQuery);
    else if (stale) genomes.query(listQuery).catch((error: unknown) => logger?.warn(`genome search failed: ${describeError(error)}`));
    return genomes.list();
  });
  handlers.request(GenomeQueryRequest.type, genomeParams.query, ({ genomes }, query) => genomes.query(query ?? {}));
  // The download answers when complete; the asker follows it by $/progress and stops it by cancelling the request.
  handlers.request(GenomeDownloadRequest.type, genomeParams.download, async ({ genomes }, p, token) => {
    const reporter = p.workDoneToken === undefined ? undefined : connection.window.attachWorkDoneProgress(p.workDoneToken);
    const watching = reporters.get(p.id) ?? new Set<WorkDoneProgressReporter>();
    if (reporter) {
      reporter.begin(`Downloading genome ${p.id.slice(0, 12)}…`, 0, undefined, true);
      reporters.set(p.id, watching.add(reporter));
    }
    const cancel = token.onCancellationRequested(() => genomes.cancel(p.id));
    try {
      return await genomes.download(p.id);
    } finally {
      cancel.dispose();
      if (reporter) {
        watching.delete(reporter);
        if (watching.size === 0) reporters.delete(p.id);
        reporter.done();
      }
    }
  });
  handlers.request(GenomeManifestRequest.type, genomeParams.id, ({ genomes }, p) => genomes.manifest(p.id) ?? null);
  handlers.request(GenomeDeleteRequest.type, genomeParams.id, ({ genomes }, p) => genomes.remove(p.id));
  handlers.request(GenomePublishRequest.type, genomeParams.publish, ({ genomes }, p) => genomes.publish(p));
  handlers.request(GenomePublishPersonaRequest.type, genomeParams.publishPersona, ({ node, genomes }, p) => {
    const definition = persona(node, p.persona);
    const knowledge = definition.knowledge[0];
    return genomes.publish({
      name: p.name?.trim() || definition.name,
      description: definition.description ?? `What ${definition.name} knows`,
      capabilities: definition.capabilities,
      prompt: definition.systemPrompt,
      ...(knowledge ? { knowledge: resolvePath(dirname(definition.file), knowledge) } : {}),
      ...(p.adapter ? { adapter: p.adapter } : {}),
      ...(p.adapter && definition.brain.model ? { baseModel: resolvePath(dirname(definition.file), definition.brain.model) } : {}),
    });
  });
  handlers.request(GenomeApplyRequest.type, genomeParams.apply, async ({ node }, p) => {
    const definition = persona(node, p.persona);
    await applier(node).apply(definition.file, p.id, definition);
    await node.reloadPersonas();
  });
  handlers.request(GenomeUnapplyRequest.type, genomeParams.apply, async ({ node }, p) => {
    const definition = persona(node, p.persona);
    await applier(node).unapply(definition.file, p.id);
    await node.reloadPersonas();
  });

  return {
    dispose: () => {
      handlers.dispose();
      if (changedSoon) clearImmediate(changedSoon);
      attached?.off('progress', onProgress).off('changed', onChanged).off('seen', onChanged);
      attached = undefined;
    },
  };
}
