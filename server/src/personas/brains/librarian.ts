/**
 * The `librarian` brain: no model. It keeps a BM25 index (minisearch) of the workspace's text
 * files and of the persona's knowledge folders, cut into chunks of a few lines, and answers with
 * the best snippets and `path:line` links. Deterministic: files are read in sorted order and ties
 * are broken by path and line. Bounded: file size, file count and total bytes are capped, and
 * `node_modules`, `.git`, `out` and the like are skipped.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import MiniSearch from 'minisearch';
import type { BrainProvider } from '../../../../protocol/personas';
import { throwIfAborted, type Brain, type BrainRequest } from './brain';

export interface LibrarianOptions {
  /** Workspace folders; paths in answers are relative to them. */
  roots: string[];
  /** Knowledge folders (absolute); paths in answers are relative to each folder, prefixed with its name. */
  knowledge?: string[];
  maxFiles?: number;
  maxFileBytes?: number;
  maxTotalBytes?: number;
  /** Lines per indexed chunk. Default 8. */
  chunkLines?: number;
  /** Snippets in an answer. Default 3. */
  maxSnippets?: number;
  /** Rebuild the index when it is older than this (ms, by `now`). Default 5 minutes. */
  maxAgeMs?: number;
  now?: () => number;
}

export const ignoredDirectories = new Set(['node_modules', '.git', 'out', 'dist', 'build', '.cache', '.vscode-test', 'coverage', '.next', 'target', '__pycache__', '.venv', 'test-results']);

const textExtensions = new Set([
  '.md', '.markdown', '.txt', '.rst', '.adoc', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.json', '.jsonc', '.yaml', '.yml', '.toml', '.ini', '.py', '.rb', '.go',
  '.rs', '.java', '.kt', '.c', '.h', '.cc', '.cpp', '.hpp', '.cs', '.swift', '.php', '.sh', '.bash', '.sql', '.html', '.css', '.scss', '.vue', '.svelte', '.xml', '.csv',
]);

const stopWords = new Set(
  'a an and are as at be but by can do does for from has have how i if in into is it its me my of on or our so that the their them then there these this to was we what when where which who why will with you your about should would could please tell'.split(' '),
);

export interface Chunk {
  id: number;
  /** Relative path shown in answers (`/` separators). */
  path: string;
  /** 1-based line of the chunk's first line. */
  line: number;
  text: string;
}

export interface LibrarianHit {
  path: string;
  /** 1-based line of the best matching line. */
  line: number;
  snippet: string;
  score: number;
}

/** Lower case, no stop words, and a light stemmer so `beacons` finds `beacon` and `authenticated` finds `authenticates`. */
export function processTerm(term: string): string | null {
  const lower = term.toLowerCase();
  if (lower.length < 2 || stopWords.has(lower)) return null;
  if (lower.length > 5 && lower.endsWith('ing')) return lower.slice(0, -3);
  if (lower.length > 4 && lower.endsWith('ed')) return lower.slice(0, -2);
  if (lower.length > 4 && lower.endsWith('es') && /(ss|x|ch|sh)es$/.test(lower)) return lower.slice(0, -2);
  if (lower.length > 3 && lower.endsWith('s') && !lower.endsWith('ss')) return lower.slice(0, -1);
  return lower;
}

export function queryTerms(text: string): string[] {
  return [...new Set(text.split(/[^\p{L}\p{N}_]+/u).map(processTerm).filter((t): t is string => t !== null))];
}

/** A BM25 index over chunks of text files. */
export class LibrarianIndex {
  private search: MiniSearch<Chunk> | undefined;
  private chunks: Chunk[] = [];
  private builtAt = -Infinity;
  private building: Promise<void> | undefined;
  stats = { files: 0, bytes: 0, chunks: 0, skipped: 0 };

  constructor(private readonly options: LibrarianOptions) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Builds the index if it is missing or stale. */
  async ensure(): Promise<void> {
    if (this.search && this.now - this.builtAt < (this.options.maxAgeMs ?? 300_000)) return;
    this.building ??= this.build().finally(() => (this.building = undefined));
    await this.building;
  }

  invalidate(): void {
    this.builtAt = -Infinity;
  }

  private async build(): Promise<void> {
    const maxFiles = this.options.maxFiles ?? 2000;
    const maxFileBytes = this.options.maxFileBytes ?? 256 * 1024;
    const maxTotal = this.options.maxTotalBytes ?? 32 * 1024 * 1024;
    const chunkLines = this.options.chunkLines ?? 8;
    const stats = { files: 0, bytes: 0, chunks: 0, skipped: 0 };
    const chunks: Chunk[] = [];
    const sources: { dir: string; label: string }[] = [
      ...this.options.roots.map((dir) => ({ dir, label: '' })),
      ...(this.options.knowledge ?? []).map((dir) => ({ dir, label: path.basename(dir) })),
    ];
    for (const source of sources) {
      for await (const file of walk(source.dir)) {
        if (stats.files >= maxFiles || stats.bytes >= maxTotal) {
          stats.skipped++;
          continue;
        }
        if (!textExtensions.has(path.extname(file).toLowerCase())) continue;
        let text: string;
        try {
          const info = await stat(file);
          if (info.size > maxFileBytes || stats.bytes + info.size > maxTotal) {
            stats.skipped++;
            continue;
          }
          const bytes = await readFile(file);
          if (bytes.includes(0)) continue;
          text = bytes.toString('utf8');
          stats.bytes += bytes.length;
        } catch {
          continue;
        }
        stats.files++;
        const rel = path.relative(source.dir, file).split(path.sep).join('/');
        const shown = source.label ? `${source.label}/${rel}` : rel;
        const lines = text.split(/\r?\n/);
        for (let start = 0; start < lines.length; start += chunkLines) {
          const body = lines.slice(start, start + chunkLines).join('\n');
          if (body.trim() === '') continue;
          chunks.push({ id: chunks.length, path: shown, line: start + 1, text: body });
        }
      }
    }
    const search = new MiniSearch<Chunk>({
      fields: ['text', 'path'],
      storeFields: ['path', 'line', 'text'],
      processTerm,
      searchOptions: { boost: { path: 2 }, prefix: (term) => term.length >= 4, fuzzy: false, combineWith: 'OR' },
    });
    // In slices, so a large workspace does not hold up chat traffic while it is indexed.
    await search.addAllAsync(chunks, { chunkSize: 500 });
    stats.chunks = chunks.length;
    this.search = search;
    this.chunks = chunks;
    this.stats = stats;
    this.builtAt = this.now;
  }

  /** The best chunks for a question, each cut to its best lines. Sorted by score, then path, then line. */
  query(question: string, limit: number): LibrarianHit[] {
    if (!this.search) return [];
    const terms = queryTerms(question);
    if (terms.length === 0) return [];
    const results = this.search.search(terms.join(' '));
    results.sort((a, b) => b.score - a.score || (a['path'] as string).localeCompare(b['path'] as string) || (a['line'] as number) - (b['line'] as number));
    const hits: LibrarianHit[] = [];
    const seen = new Set<string>();
    for (const result of results) {
      const chunk = this.chunks[result.id as number]!;
      const best = bestLines(chunk, terms);
      const key = `${chunk.path}:${best.line}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push({ path: chunk.path, line: best.line, snippet: best.snippet, score: Math.round(result.score * 1000) / 1000 });
      if (hits.length >= limit) break;
    }
    return hits;
  }
}

/** The line of a chunk that holds most query terms, with its neighbour lines (at most 3 lines). */
function bestLines(chunk: Chunk, terms: string[]): { line: number; snippet: string } {
  const lines = chunk.text.split('\n');
  let bestIndex = 0;
  let bestScore = -1;
  for (const [i, line] of lines.entries()) {
    const words = new Set(queryTerms(line));
    const score = terms.filter((t) => words.has(t) || [...words].some((w) => t.length >= 4 && w.startsWith(t))).length;
    if (score > bestScore) [bestIndex, bestScore] = [i, score];
  }
  const from = Math.max(0, bestIndex - (lines[bestIndex - 1]?.trim() ? 1 : 0));
  const snippet = lines
    .slice(from, from + 3)
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
  return { line: chunk.line + bestIndex, snippet: snippet.length > 400 ? `${snippet.slice(0, 400)}…` : snippet };
}

async function* walk(dir: string, depth = 0): AsyncGenerator<string> {
  if (depth > 12) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (ignoredDirectories.has(entry.name)) continue;
      yield* walk(full, depth + 1);
    } else if (entry.isFile()) yield full;
  }
}

/** Formats hits as the librarian's Markdown answer. */
export function formatAnswer(question: string, hits: LibrarianHit[]): string[] {
  if (hits.length === 0) return [`I found nothing about “${shorten(question)}” in the workspace. Try other words, or name a file or a function.`];
  const parts = [`Here is what I found in the workspace about “${shorten(question)}”:\n`];
  for (const [i, hit] of hits.entries()) {
    const fence = hit.snippet.includes('```') ? '~~~' : '```';
    parts.push(`\n${i + 1}. [${hit.path}:${hit.line}](${encodeURI(hit.path)}#L${hit.line})\n${fence}\n${hit.snippet}\n${fence}\n`);
  }
  return parts;
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 80 ? `${oneLine.slice(0, 80)}…` : oneLine;
}

export class LibrarianBrain implements Brain {
  readonly provider: BrainProvider = 'librarian';
  readonly index: LibrarianIndex;

  constructor(private readonly options: LibrarianOptions, index?: LibrarianIndex) {
    this.index = index ?? new LibrarianIndex(options);
  }

  async *reply(request: BrainRequest): AsyncIterable<string> {
    throwIfAborted(request.signal);
    await this.index.ensure();
    throwIfAborted(request.signal);
    const hits = this.index.query(request.question, this.options.maxSnippets ?? 3);
    for (const part of formatAnswer(request.question, hits)) {
      throwIfAborted(request.signal);
      yield part;
    }
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
