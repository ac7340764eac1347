/**
 * Where the cursor is in a persona file's front matter, worked out from indentation rather than
 * from a YAML tree: while the user types, the YAML is usually incomplete.
 */
import { splitFrontMatter } from '../personas/personaFile';

export type CursorContext =
  /** Typing a key (`bra|`) under `path` (`[]` = top level); `present` lists sibling keys already written. */
  | { kind: 'key'; path: string[]; prefix: string; present: string[]; start: number }
  /** Typing the value of `path` (`brain.provider: lla|`), or of the map item `key: |` under it. */
  | { kind: 'value'; path: string[]; prefix: string; start: number }
  /** Typing an item of the list at `path` (`- ty|` or `[a, ty|`). */
  | { kind: 'item'; path: string[]; prefix: string; start: number }
  | { kind: 'none' };

interface Line {
  text: string;
  indent: number;
}

const keyLine = /^(\s*)(?:-\s+)?([A-Za-z0-9_-]+)\s*:(?:\s|$)/;

/** The lines of the front matter before `line` (0-based, file lines), and whether `line` is inside it. */
function frontMatterLines(text: string, line: number): { lines: Line[]; inside: boolean } {
  const fm = splitFrontMatter(text);
  if (!fm) return { lines: [], inside: false };
  const all = text.split(/\r?\n/);
  const firstLine = text.slice(0, fm.start).split('\n').length - 1;
  const lastLine = text.slice(0, fm.end).split('\n').length - 1;
  const inside = line >= firstLine && (line < lastLine || (!fm.closed && line <= lastLine));
  const lines = all.slice(firstLine, Math.max(firstLine, line)).map((t) => ({ text: t, indent: t.length - t.trimStart().length }));
  return { lines, inside };
}

/** The keys enclosing a line with `indent` (and whether it is a list item), from the lines above it. */
function enclosingPath(above: Line[], indent: number, listItem: boolean): string[] {
  const path: string[] = [];
  let limit = indent;
  let inclusive = listItem;
  for (let i = above.length - 1; i >= 0; i--) {
    const line = above[i]!;
    const trimmed = line.text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const isItem = trimmed.startsWith('- ') || trimmed === '-';
    if (line.indent < limit || (inclusive && line.indent === limit && !isItem)) {
      const match = keyLine.exec(line.text);
      if (match && !isItem) {
        path.unshift(match[2]!);
        limit = line.indent;
        inclusive = false;
        if (limit === 0) break;
      } else if (line.indent < limit) {
        limit = line.indent;
        inclusive = isItem;
      }
    }
  }
  return path;
}

/** Sibling keys already present at the level of a line with `indent` under the same parent. */
function siblingKeys(above: Line[], below: Line[], indent: number): string[] {
  const keys: string[] = [];
  const scan = (lines: Line[]) => {
    for (const line of lines) {
      const trimmed = line.text.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      if (line.indent < indent) break;
      if (line.indent === indent) {
        const match = keyLine.exec(line.text);
        if (match) keys.push(match[2]!);
      }
    }
  };
  scan([...above].reverse());
  scan(below);
  return keys;
}

export function cursorContext(text: string, position: { line: number; character: number }): CursorContext {
  const { lines: above, inside } = frontMatterLines(text, position.line);
  if (!inside) return { kind: 'none' };
  const lineText = text.split(/\r?\n/)[position.line] ?? '';
  const prefixText = lineText.slice(0, position.character);
  const indent = prefixText.length - prefixText.trimStart().length;

  let m = /^(\s*)-\s+([^#]*)$/.exec(prefixText) ?? /^(\s*)-()$/.exec(prefixText);
  if (m) {
    const itemText = m[2]!;
    const value = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(itemText);
    const path = enclosingPath(above, indent, true);
    if (value) return { kind: 'value', path: [...path, value[1]!], prefix: value[2]!, start: position.character - value[2]!.length };
    return { kind: 'item', path, prefix: itemText, start: position.character - itemText.length };
  }
  m = /^(\s*)([A-Za-z0-9_-]+)\s*:\s*\[([^\]]*)$/.exec(prefixText);
  if (m) {
    const item = /([^,\s][^,]*)?$/.exec(m[3]!)?.[1] ?? '';
    return { kind: 'item', path: [...enclosingPath(above, indent, false), m[2]!], prefix: item.trim(), start: position.character - item.length };
  }
  m = /^(\s*)([A-Za-z0-9_-]+)\s*:\s*([^#]*)$/.exec(prefixText);
  if (m) {
    const value = m[3]!;
    return { kind: 'value', path: [...enclosingPath(above, indent, false), m[2]!], prefix: value.trim(), start: position.character - value.length };
  }
  m = /^(\s*)([A-Za-z0-9_-]*)$/.exec(prefixText);
  if (m) {
    const belowText = text.split(/\r?\n/).slice(position.line + 1);
    const below = belowText.map((t) => ({ text: t, indent: t.length - t.trimStart().length }));
    const end = below.findIndex((l) => /^(---|\.\.\.)\s*$/.test(l.text));
    const present = siblingKeys(above, end < 0 ? below : below.slice(0, end), indent);
    return { kind: 'key', path: enclosingPath(above, indent, false), prefix: m[2]!, present, start: position.character - m[2]!.length };
  }
  return { kind: 'none' };
}

/** The key under the cursor and its path (for hover), or the value of a `key: value` line. */
export function hoverTarget(text: string, position: { line: number; character: number }): { path: string[]; on: 'key' | 'value'; value?: string; start: number; end: number } | undefined {
  const { lines: above, inside } = frontMatterLines(text, position.line);
  if (!inside) return undefined;
  const lineText = text.split(/\r?\n/)[position.line] ?? '';
  const m = /^(\s*)(-\s+)?([A-Za-z0-9_-]+)(\s*:\s*)([^#]*?)\s*(#.*)?$/.exec(lineText);
  if (!m) return undefined;
  const indent = m[1]!.length;
  const keyStart = indent + (m[2]?.length ?? 0);
  const keyEnd = keyStart + m[3]!.length;
  const path = [...enclosingPath(above, indent, Boolean(m[2])), m[3]!];
  if (position.character >= keyStart && position.character <= keyEnd) return { path, on: 'key', start: keyStart, end: keyEnd };
  const valueStart = keyEnd + m[4]!.length;
  const valueEnd = valueStart + m[5]!.length;
  if (m[5] && position.character >= valueStart && position.character <= valueEnd) return { path, on: 'value', value: m[5], start: valueStart, end: valueEnd };
  return undefined;
}
