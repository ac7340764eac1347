import { strict as assert } from 'node:assert';
import { answerParts } from '../../../server/src/genomes/answer';
import { genomeAnswerLimits, type GenomeManifest } from '../../../protocol/genomes';

const sized = (name: string, bytes: number) => ({ manifest: { name } as GenomeManifest, bytes });
const names = (parts: GenomeManifest[][]) => parts.map((part) => part.map((manifest) => manifest.name));

describe('genomes/answer: a query answer in parts', () => {
  it('is one empty part when there is nothing (every node answers)', () => {
    assert.deepEqual(answerParts([]), [[]]);
  });

  it('starts a part when the next manifest would take it over the limit; a larger manifest goes alone, in order', () => {
    const half = genomeAnswerLimits.partBytes / 2;
    const parts = answerParts([sized('a', half), sized('b', half), sized('c', 1), sized('big', genomeAnswerLimits.partBytes + 1), sized('d', 1)]);
    assert.deepEqual(names(parts), [['a', 'b'], ['c'], ['big'], ['d']]);
  });
});
