/** The genome side of a running MeshNode: the port the root hands to registerGenomeHandlers. */
import type { GenomeNode } from '../genomes/rpcHandlers';
import type { MeshNode } from './meshNode';

export function genomeNodeOf(node: MeshNode): GenomeNode {
  return {
    get genomes() {
      return node.genomes;
    },
    get applier() {
      return node.genomeApplier;
    },
    hostedPersona: (id) => node.personas?.registry.get(id)?.persona,
    reloadPersonas: async () => {
      await node.personas?.registry.reload();
    },
    upPeers: () => node.network?.upPeers() ?? [],
  };
}
