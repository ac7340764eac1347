/**
 * Genome operations on the stdin of `persona-mesh node` (one JSON object a line) and the JSONL
 * events they produce. `ref` in an op comes back in its answer.
 *
 * - `{"op":"genome.publish","name","description","capabilities":[],"prompt"?,"adapter"?,"baseModel"?,"scale"?,"knowledge"?,"lineage"?}`
 *   → `{"event":"genome.published","id","genome"}`
 * - `{"op":"genome.list"}` → `{"event":"genome.list","local":[…],"network":[…]}`
 * - `{"op":"genome.query","required"?,"preferred"?,"antipatterns"?,"minScore"?,"maxResults"?,"timeoutMs"?}`
 *   → `{"event":"genome.results","results":[{id,name,capabilities,size,compatibility,rank,holders,local}]}`
 * - `{"op":"genome.download","id"}` (or `"manifest":{…}`) → `genome.progress` events, then
 *   `{"event":"genome.downloaded","id","progress"}`; `genome.piece` ({id,blob,piece,from}) for each
 *   verified piece, `genome.bad-piece` ({id,blob,piece,from,reason}) for each rejected one
 * - `{"op":"genome.cancel","id"}`, `{"op":"genome.delete","id"}` → `genome.cancelled`, `genome.deleted`
 * - `{"op":"genome.manifest","id"}` → `{"event":"genome.manifest","id","manifest"}`
 * - `{"op":"genome.apply","id","persona"}` / `{"op":"genome.unapply","id","persona"}`: records the
 *   genome in (or takes it out of) a hosted persona's file → `genome.applied` / `genome.unapplied`
 *
 * Failures answer `{"event":"genome.error","op","id"?,"code","reason"}`. A manifest refused alone
 * gives `{"event":"genome.rejected","from","code","reason"}`: one a peer sent that failed its checks
 * (`from` the peer), or one of this node's store it cannot offer in an answer (`from` this node).
 */
import { GenomeError } from '../genomes/errors';
import { manifestSize } from '../genomes/manifest';
import type { GenomeService } from '../genomes/service';
import type { MeshNode } from '../node/meshNode';
import type { GenomeManifest, GenomePublishParams } from '../../../protocol/genomes';
import { lastValue, UsageError, type ParsedArgs } from './args';
import type { CliOutput } from './output';

export const genomeOpNames = ['genome.publish', 'genome.list', 'genome.query', 'genome.download', 'genome.cancel', 'genome.delete', 'genome.manifest', 'genome.apply', 'genome.unapply'];

/** Reports the genome service's events as JSONL. */
export function reportGenomeEvents(genomes: GenomeService, output: CliOutput): void {
  genomes.on('progress', (progress) => output.event({ event: 'genome.progress', ...progress }));
  genomes.on('piece', (piece) => output.event({ event: 'genome.piece', ...piece }));
  genomes.on('bad-piece', (piece) => output.event({ event: 'genome.bad-piece', ...piece }));
  genomes.on('rejected', (rejected) => output.event({ event: 'genome.rejected', ...rejected }));
}

export async function runGenomeOp(node: MeshNode, op: Record<string, unknown>, output: CliOutput): Promise<void> {
  const name = String(op.op);
  const ref = op.ref !== undefined ? { ref: op.ref } : {};
  const id = typeof op.id === 'string' ? op.id : undefined;
  try {
    const genomes = node.genomes;
    if (!genomes) throw new GenomeError('io', 'the genome store is not available (see the error logged at start)');
    switch (name) {
      case 'genome.publish': {
        const genome = await genomes.publish(op as unknown as GenomePublishParams);
        output.event({ event: 'genome.published', ...ref, id: genome.id, genome });
        break;
      }
      case 'genome.list':
        output.event({ event: 'genome.list', ...ref, ...genomes.list() });
        break;
      case 'genome.query': {
        const results = await genomes.query(op);
        output.event({
          event: 'genome.results',
          ...ref,
          results: results.map((r) => ({ id: r.id, name: r.manifest.name, capabilities: r.manifest.capabilities, size: manifestSize(r.manifest), compatibility: r.compatibility, rank: r.rank, holders: r.holders, local: r.local })),
        });
        break;
      }
      case 'genome.download': {
        const target = typeof op.manifest === 'object' && op.manifest !== null ? (op.manifest as GenomeManifest) : requireId(id);
        const progress = await genomes.download(target);
        output.event({ event: 'genome.downloaded', ...ref, id: progress.id, progress });
        break;
      }
      case 'genome.cancel':
        genomes.cancel(requireId(id));
        output.event({ event: 'genome.cancelled', ...ref, id });
        break;
      case 'genome.delete':
        await genomes.remove(requireId(id));
        output.event({ event: 'genome.deleted', ...ref, id });
        break;
      case 'genome.manifest': {
        const manifest = genomes.manifest(requireId(id));
        if (!manifest) throw new GenomeError('not-found', `genome ${String(id)} is unknown here`);
        output.event({ event: 'genome.manifest', ...ref, id, manifest });
        break;
      }
      case 'genome.apply':
      case 'genome.unapply': {
        const personaId = typeof op.persona === 'string' ? op.persona : '';
        const local = node.personas?.registry.get(personaId);
        if (!local) throw new GenomeError('not-found', `there is no persona "${personaId}" hosted on this node`);
        const applier = node.genomeApplier!;
        if (name === 'genome.apply') await applier.apply(local.persona.file, requireId(id), local.persona);
        else await applier.unapply(local.persona.file, requireId(id));
        await node.personas!.registry.reload();
        output.event({ event: name === 'genome.apply' ? 'genome.applied' : 'genome.unapplied', ...ref, id, persona: personaId });
        break;
      }
      default:
        throw new GenomeError('bad-layer', `unknown genome op ${JSON.stringify(name)} (known: ${genomeOpNames.join(', ')})`);
    }
  } catch (error) {
    output.event({ event: 'genome.error', op: name, ...ref, ...(id ? { id } : {}), code: error instanceof GenomeError ? error.code : 'internal', reason: (error as Error).message });
  }
}

function requireId(id: string | undefined): string {
  if (!id) throw new GenomeError('not-found', 'this op needs "id" (a genome id)');
  return id;
}

/** `--genome-max-mb N` and `--genome-max-rate-kib N` (download limit in KiB/s). */
export function genomeLimitsFromArgs(args: ParsedArgs): { maxGenomeBytes?: number; maxBytesPerSecond?: number } {
  const number = (name: string) => {
    const text = lastValue(args, name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number`);
    return value;
  };
  const mb = number('genome-max-mb');
  const rate = number('genome-max-rate-kib');
  return { ...(mb ? { maxGenomeBytes: Math.floor(mb * 1024 * 1024) } : {}), ...(rate ? { maxBytesPerSecond: Math.floor(rate * 1024) } : {}) };
}
