/**
 * The genomes as evolution sees them (academy/evolution.ts GenomeMarket): search the mesh, adopt
 * a genome for a local persona (download when needed, then record it in the persona file), and
 * remove it again. Wiring of three concerns (genomes, personas, the academy), so the root owns it.
 */
import type { GenomeMarket } from '../academy/evolution';
import type { PersonaService } from '../personas/service';
import type { GenomeApplier } from '../genomes/apply';
import { GenomeError } from '../genomes/errors';
import type { GenomeService } from '../genomes/service';

export function genomeMarket(genomes: GenomeService, applier: GenomeApplier, personas: () => PersonaService | undefined): GenomeMarket {
  const personaFile = (personaId: string) => {
    const local = personas()?.registry.get(personaId);
    if (!local) throw new GenomeError('not-found', `there is no persona "${personaId}" hosted by this node`);
    return local.persona;
  };
  return {
    async search(query) {
      const results = await genomes.query({ required: query.required, preferred: query.preferred, maxResults: query.maxResults + query.exclude.length, timeoutMs: query.timeoutMs });
      return results
        .filter((result) => !query.exclude.includes(result.id))
        .slice(0, query.maxResults)
        .map((result) => ({ id: result.id, name: result.manifest.name, capabilities: result.manifest.capabilities }));
    },
    async adopt(personaId, genomeId) {
      const persona = personaFile(personaId);
      await genomes.download(genomeId);
      await applier.apply(persona.file, genomeId, persona);
      await personas()?.registry.reload();
    },
    async remove(personaId, genomeId) {
      await applier.unapply(personaFile(personaId).file, genomeId);
      await personas()?.registry.reload();
    },
  };
}
