/**
 * The compatibility vector of a genome: feature hashing (the "hashing trick") of its capabilities
 * and description into 512 signed buckets, L2-normalised, so any two nodes compute the same vector
 * without sharing a vocabulary, and cosine similarity says how well a genome fits a query.
 */
import { createHash } from 'node:crypto';
import { genomeVectorDimensions } from '../../../protocol/genomes';

/** Capabilities weigh more than words of the description: they are what a query asks for. */
const capabilityWeight = 3;
const wordWeight = 1;

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}+#.-]*/gu)?.map((w) => w.replace(/[.-]+$/, '')) ?? [];
}

function bucket(feature: string): { index: number; sign: number } {
  const digest = createHash('sha256').update(feature).digest();
  return { index: digest.readUInt32LE(0) % genomeVectorDimensions, sign: digest[4]! & 1 ? -1 : 1 };
}

/** The vector of a set of capabilities and a free text. */
export function compatibilityVector(capabilities: readonly string[], description: string): number[] {
  const vector = new Array<number>(genomeVectorDimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const { index, sign } = bucket(feature);
    vector[index]! += sign * weight;
  };
  for (const capability of capabilities) {
    const normal = capability.trim().toLowerCase();
    if (!normal) continue;
    add(`cap:${normal}`, capabilityWeight);
    // The words of a capability also meet the same words in another genome's description.
    for (const word of words(normal)) add(`w:${word}`, wordWeight);
  }
  for (const word of words(description)) add(`w:${word}`, wordWeight);
  const norm = Math.hypot(...vector);
  // Four decimals: the vector is part of the signed manifest, so it must print the same everywhere.
  return norm === 0 ? vector : vector.map((value) => Math.round((value / norm) * 1e4) / 1e4 || 0);
}

/** Cosine similarity; 0 when either vector is empty or the lengths differ. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
