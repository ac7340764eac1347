/**
 * The order judges see the answers in: shuffled, but the same on every node and after a restart,
 * because it is drawn from the challenge id alone (Fisher-Yates over SHA-256 counter blocks).
 */
import { createHash } from 'node:crypto';

export function deterministicShuffle<T>(items: readonly T[], seed: string): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const block = createHash('sha256').update(`${seed}|${i}`).digest();
    const j = block.readUInt32BE(0) % (i + 1);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** A, B, … Z, AA, AB …: short labels that say nothing about who wrote an answer. */
export function answerLabel(index: number): string {
  let label = '';
  let n = index;
  do {
    label = String.fromCharCode(65 + (n % 26)) + label;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return label;
}
