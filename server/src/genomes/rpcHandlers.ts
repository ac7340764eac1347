/**
 * The extension ↔ server methods of genomes (protocol/genomes.ts) on the server's connection.
 * Failures reach the client as ResponseErrors whose message is one line for the user.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import { ResponseError, type Connection, type Disposable } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import {
  GenomeApplyRequest,
  GenomeCancelRequest,
  GenomeChangedNotification,
  GenomeDeleteRequest,
  GenomeDownloadRequest,
  GenomeListRequest,
  GenomeManifestRequest,
  GenomeProgressNotification,
  GenomePublishPersonaRequest,
  GenomePublishRequest,
  GenomeQueryRequest,
  GenomeUnapplyRequest,
  type GenomeProgress,
} from '../../../protocol/genomes';
import type { PersonaDefinition } from '../../../protocol/personas';
import { oneLine, toResponseError } from '../kernel/responseError';
import type { GenomeApplier } from './apply';
import { GenomeError } from './errors';
import type { GenomeService } from './service';

export type GenomeConnection = Pick<Connection, 'onRequest' | 'sendNotification'>;

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

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new GenomeError('bad-manifest', `the request needs "${name}"`);
  return value;
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new GenomeError('bad-manifest', `"${name}" must be text`);
  return value;
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
  const onProgress = (progress: GenomeProgress) => {
    if (progress.state === 'active') {
      const last = progressSentAt.get(progress.id);
      if (last !== undefined && now() - last < progressEveryMs) return;
      progressSentAt.set(progress.id, now());
    } else {
      progressSentAt.delete(progress.id);
    }
    void connection.sendNotification(GenomeProgressNotification.type, progress).catch(() => undefined);
  };
  // One notification per turn, however many manifests one answer brought.
  const onChanged = () => {
    changedSoon ??= setImmediate(() => {
      changedSoon = undefined;
      void connection.sendNotification(GenomeChangedNotification.type, {}).catch(() => undefined);
    });
  };
  const resolve = async (): Promise<{ node: GenomeNode; genomes: GenomeService }> => {
    const node = await source();
    const genomes = node.genomes;
    if (!genomes) throw new GenomeError('offline', 'genomes are not available: the node has no database (see Persona Mesh: Show Status)');
    if (attached !== genomes) {
      attached?.off('progress', onProgress).off('changed', onChanged).off('seen', onChanged);
      attached = genomes;
      genomes.on('progress', onProgress).on('changed', onChanged).on('seen', onChanged);
    }
    return { node, genomes };
  };
  const handle = <P, R>(run: (context: { node: GenomeNode; genomes: GenomeService }, params: P) => R | Promise<R>) => {
    return async (params: P): Promise<R> => {
      try {
        return await run(await resolve(), (params ?? {}) as P);
      } catch (error) {
        if (!(error instanceof GenomeError)) logger?.error(`genome request failed: ${describeError(error)}`);
        throw toResponseError(error, 'genomes', genomeResponseError);
      }
    };
  };
  const persona = (node: GenomeNode, id: unknown) => {
    const hosted = node.hostedPersona(text(id, 'persona'));
    if (!hosted) throw new GenomeError('not-found', `there is no persona "${String(id)}" hosted by this node`);
    return hosted;
  };
  const applier = (node: GenomeNode) => {
    if (!node.applier) throw new GenomeError('offline', 'genomes cannot be applied: the node has no personas (see Persona Mesh: Show Status)');
    return node.applier;
  };

  const disposables: Disposable[] = [
    connection.onRequest(
      GenomeListRequest.type,
      handle(async ({ node, genomes }, p: { ask?: boolean }) => {
        // Network genomes are the answers to a search: every peer answers (or the timeout ends it).
        const peers = [...node.upPeers()].sort().join(',');
        const stale = now() - lastQueryAt >= backgroundQueryEveryMs || peers !== lastQueryPeers;
        if (p.ask || stale) [lastQueryAt, lastQueryPeers] = [now(), peers];
        if (p.ask) await genomes.query(listQuery);
        else if (stale) genomes.query(listQuery).catch((error: unknown) => logger?.warn(`genome search failed: ${describeError(error)}`));
        return genomes.list();
      }),
    ),
    connection.onRequest(GenomeQueryRequest.type, handle(({ genomes }, query) => genomes.query(query))),
    connection.onRequest(GenomeDownloadRequest.type, handle(({ genomes }, p: { id: string }) => genomes.download(text(p.id, 'id')))),
    connection.onRequest(GenomeCancelRequest.type, handle(({ genomes }, p: { id: string }) => genomes.cancel(text(p.id, 'id')))),
    connection.onRequest(GenomeManifestRequest.type, handle(({ genomes }, p: { id: string }) => genomes.manifest(text(p.id, 'id')) ?? null)),
    connection.onRequest(GenomeDeleteRequest.type, handle(({ genomes }, p: { id: string }) => genomes.remove(text(p.id, 'id')))),
    connection.onRequest(GenomePublishRequest.type, handle(({ genomes }, p) => genomes.publish(p))),
    connection.onRequest(
      GenomePublishPersonaRequest.type,
      handle(({ node, genomes }, p: { persona: string; name?: unknown; adapter?: unknown }) => {
        const definition = persona(node, p.persona);
        const name = optionalText(p.name, 'name');
        const adapter = optionalText(p.adapter, 'adapter');
        const knowledge = definition.knowledge[0];
        return genomes.publish({
          name: name?.trim() || definition.name,
          description: definition.description ?? `What ${definition.name} knows`,
          capabilities: definition.capabilities,
          prompt: definition.systemPrompt,
          ...(knowledge ? { knowledge: resolvePath(dirname(definition.file), knowledge) } : {}),
          ...(adapter ? { adapter } : {}),
          ...(adapter && definition.brain.model ? { baseModel: resolvePath(dirname(definition.file), definition.brain.model) } : {}),
        });
      }),
    ),
    connection.onRequest(
      GenomeApplyRequest.type,
      handle(async ({ node }, p: { id: string; persona: string }) => {
        const definition = persona(node, p.persona);
        await applier(node).apply(definition.file, text(p.id, 'id'), definition);
        await node.reloadPersonas();
      }),
    ),
    connection.onRequest(
      GenomeUnapplyRequest.type,
      handle(async ({ node }, p: { id: string; persona: string }) => {
        const definition = persona(node, p.persona);
        await applier(node).unapply(definition.file, text(p.id, 'id'));
        await node.reloadPersonas();
      }),
    ),
  ];
  return {
    dispose: () => {
      for (const disposable of disposables) disposable.dispose();
      if (changedSoon) clearImmediate(changedSoon);
      attached?.off('progress', onProgress).off('changed', onChanged).off('seen', onChanged);
      attached = undefined;
    },
  };
}
