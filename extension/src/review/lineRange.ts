/**
 * Follows the lines a review comment is about while the user edits the document, so a suggestion
 * that was rejected can be compared with what the user then wrote there. No `vscode` import.
 */

/** 0-based, inclusive. */
export interface LineRange {
  start: number;
  end: number;
}

/** One content change: the replaced range's start and end lines (0-based) and the new text's line breaks. */
export interface LineChange {
  startLine: number;
  endLine: number;
  newLineBreaks: number;
}

/** Where the range is after the change, and whether the change touched its lines. */
export function shiftRange(range: LineRange, change: LineChange): { range: LineRange; touched: boolean } {
  const delta = change.newLineBreaks - (change.endLine - change.startLine);
  if (change.endLine < range.start) return { range: { start: range.start + delta, end: range.end + delta }, touched: false };
  if (change.startLine > range.end) return { range, touched: false };
  const start = Math.min(range.start, change.startLine);
  return { range: { start, end: Math.max(start, range.end + delta) }, touched: true };
}
