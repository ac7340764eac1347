/**
 * A query's answer in parts a session message can carry (see genomeAnswerLimits): manifests in
 * rank order, a new part whenever the next one would take the part over `partBytes`.
 */
import { genomeAnswerLimits, type GenomeManifest } from '../../../protocol/genomes';

export interface SizedManifest {
  manifest: GenomeManifest;
  /** Bytes of its JSON. */
  bytes: number;
}

/** At least one part, empty when there is nothing: every node answers. */
export function answerParts(manifests: readonly SizedManifest[]): GenomeManifest[][] {
  const parts: GenomeManifest[][] = [[]];
  let bytes = 0;
  for (const item of manifests) {
    if (bytes > 0 && bytes + item.bytes > genomeAnswerLimits.partBytes) {
      parts.push([]);
      bytes = 0;
    }
    parts[parts.length - 1]!.push(item.manifest);
    bytes += item.bytes;
  }
  return parts;
}
