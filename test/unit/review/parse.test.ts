import { strict as assert } from 'node:assert';
import { extractJson, parseReview, ReviewFormatError } from '../../../server/src/review/parse';

const input = { code: 'let a = 1;\nif (a == 2) {\n  run();\n}', firstLine: 10 };

describe('review: parsing a brain\'s comments', () => {
  it('reads plain JSON, JSON in a fence after prose, and a bare array', () => {
    const comment = { startLine: 11, endLine: 11, severity: 'warning', message: 'loose equality', replacement: 'if (a === 2) {' };
    const expected = [{ startLine: 11, endLine: 11, severity: 'warning', message: 'loose equality', replacement: 'if (a === 2) {' }];
    assert.deepEqual(parseReview(JSON.stringify({ comments: [comment] }), input).comments, expected);
    assert.deepEqual(parseReview(`Here you go:\n\`\`\`json\n${JSON.stringify({ comments: [comment] })}\n\`\`\`\nHope it helps.`, input).comments, expected);
    assert.deepEqual(parseReview(JSON.stringify([comment]), input).comments, expected);
    assert.deepEqual(extractJson('Sure! {"comments": []} That is all.'), { comments: [] });
  });

  it('drops each bad comment with its reason and keeps the good ones', () => {
    const { comments, dropped } = parseReview(
      JSON.stringify({
        comments: [
          { startLine: 10, endLine: 10, severity: 'info', message: 'fine' },
          { startLine: 3, endLine: 4, severity: 'error', message: 'before the code' },
          { startLine: 12, endLine: 14, severity: 'error', message: 'after the code' },
          { startLine: 11, endLine: 11, severity: 'catastrophic', message: 'odd severity' },
          { startLine: 11, endLine: 11, severity: 'error', message: '' },
          { startLine: 'x', severity: 'error', message: 'no lines' },
          'just text',
          { startLine: 12, endLine: 12, severity: 'nit', message: 'synonym severity', replacement: 42 },
          { line: '12', severity: 'bug', message: 'line as text' },
        ],
      }),
      input,
    );
    assert.deepEqual(comments, [
      { startLine: 10, endLine: 10, severity: 'info', message: 'fine' },
      { startLine: 12, endLine: 12, severity: 'error', message: 'line as text' },
    ]);
    assert.deepEqual(dropped, [
      'comment 2: lines 3-4 are outside the code (10-13)',
      'comment 3: lines 12-14 are outside the code (10-13)',
      'comment 4: unknown severity "catastrophic"',
      'comment 5: no message',
      'comment 6: no line numbers',
      'comment 7: not an object',
      'comment 8: replacement is not text',
    ]);
  });

  it('a replacement equal to the code is no suggestion; a null replacement is none', () => {
    const { comments } = parseReview(
      JSON.stringify({ comments: [{ startLine: 10, endLine: 10, severity: 'info', message: 'same', replacement: 'let a = 1;' }, { startLine: 13, endLine: 13, severity: 'info', message: 'none', replacement: null }] }),
      input,
    );
    assert.deepEqual(comments.map((c) => c.replacement), [undefined, undefined]);
  });

  it('a reply that is not JSON or has no comments array is a format error (asked again)', () => {
    assert.throws(() => parseReview('The code looks good to me.', input), (e: unknown) => e instanceof ReviewFormatError && /not JSON/.test(e.message));
    assert.throws(() => parseReview('', input), /empty/);
    assert.throws(() => parseReview('{"notes": []}', input), /no "comments" array/);
  });
});
