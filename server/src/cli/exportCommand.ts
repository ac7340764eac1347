/**
 * `persona-mesh export`: training data from a node's database as JSONL (see academy/export.ts).
 * Works while a node runs on the same data dir (WAL lets a reader in beside the writer); the
 * database is opened query-only and never migrated. A summary of what was written and skipped
 * goes to stderr (and as an `export` event with --jsonl).
 */
import Database from 'libsql';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dbExportSource, exportTrainingData } from '../academy/export';
import { exportFormats, type ExportFilter, type ExportFormat } from '../../../protocol/academy';
import { databaseFileName, pragmaValue, type Db } from '../store/database';
import { classifyStoreError } from '../store/errors';
import { migrations } from '../store/migrations';
import { lastValue, UsageError, type ParsedArgs } from './args';
import { defaultDataDir } from './nodeCommand';
import type { CliOutput } from './output';

export const exportArgSpec = {
  valued: ['format', 'persona', 'room', 'since', 'data-dir', 'out'],
  boolean: ['jsonl', 'help'],
} as const;

/** For the command list of `persona-mesh --help`. */
export const exportUsageLine = `  persona-mesh export [options]   write training data (JSONL) from a node's rated exchanges
`;

/** For the options part of `persona-mesh --help`. */
export const exportUsageOptions = `Options for "export":
  --format FORMAT         openai (chat fine-tuning: answers rated up), dpo (prompt, chosen,
                          rejected: answers to one prompt rated oppositely) or kto (prompt,
                          completion, label: every rated answer); required
  --out FILE              where to write the JSONL ("-" for stdout); required
  --persona P             only this persona (nodeId/personaId, persona id or name)
  --room R                only this room
  --since ISO             only ratings at or after this time (e.g. 2026-01-31T00:00:00Z)
  --data-dir DIR          the node's data dir (default: ${defaultDataDir}); a running
                          node may keep using it
  --jsonl                 also print the summary as {"event":"export",...} on stdout
`;

export interface ExportCommandIo {
  output: CliOutput;
  /** Where `--out -` writes. */
  stdout?: NodeJS.WritableStream;
}

/** The schema version that created the academy tables. */
const academySchemaVersion = migrations.find((m) => m.name.startsWith('academy:'))!.version;

/** Resolves with the exit code: 0 written, 1 the database could not be read, 2 bad usage. */
// eslint-disable-next-line @typescript-eslint/require-await -- async so usage errors reject like the node command's
export async function runExportCommand(args: ParsedArgs, io: ExportCommandIo): Promise<number> {
  const { output } = io;
  const format = lastValue(args, 'format');
  if (format === undefined || !exportFormats.includes(format as ExportFormat)) throw new UsageError(`--format must be one of ${exportFormats.join(', ')}`);
  const out = lastValue(args, 'out');
  if (out === undefined || out === '') throw new UsageError('--out FILE is required ("-" for stdout)');
  const filter: ExportFilter = {};
  const persona = lastValue(args, 'persona');
  if (persona !== undefined) filter.persona = persona;
  const room = lastValue(args, 'room');
  if (room !== undefined) filter.room = room;
  const since = lastValue(args, 'since');
  if (since !== undefined) {
    const ms = Date.parse(since);
    if (!Number.isFinite(ms)) throw new UsageError(`--since ${JSON.stringify(since)} is not a date (use ISO 8601, e.g. 2026-01-31T00:00:00Z)`);
    filter.since = ms;
  }
  const dataDir = resolve(lastValue(args, 'data-dir') ?? defaultDataDir);
  const file = join(dataDir, databaseFileName);
  if (!existsSync(file)) {
    output.error(`there is no database at ${file}: is --data-dir the data dir of a node?`, 'no-database');
    return 2;
  }

  let db: Db | undefined;
  let result: ReturnType<typeof exportTrainingData>;
  try {
    db = new Database(file, { timeout: 2000 });
    db.pragma('query_only = ON');
    const schema = Number(pragmaValue(db, 'user_version'));
    if (schema < academySchemaVersion) {
      output.error(`the database ${file} is at schema ${schema}, older than the academy (${academySchemaVersion}): start a node on this data dir once to upgrade it`, 'database-too-old');
      return 1;
    }
    result = exportTrainingData(dbExportSource(db), format as ExportFormat, filter);
  } catch (error) {
    const problem = classifyStoreError(file, error);
    output.error(problem.code === 'database-locked' ? `${problem.message} (try again in a moment: a running node holds the lock only briefly)` : problem.message, problem.code);
    return 1;
  } finally {
    db?.close();
  }

  const text = result.lines.map((line) => `${line}\n`).join('');
  if (out === '-') {
    (io.stdout ?? process.stdout).write(text);
  } else {
    const target = resolve(out);
    const temporary = `${target}.tmp-${process.pid}`;
    try {
      writeFileSync(temporary, text);
      renameSync(temporary, target);
    } catch (error) {
      output.error(`cannot write ${target}: ${(error as Error).message}`, 'write-failed');
      return 1;
    }
  }
  const { summary } = result;
  const skipped = Object.entries(summary.skipped).map(([reason, count]) => `${count} ${reason}`);
  output.log({ level: 'info', scope: 'export', ts: Date.now(), message: `wrote ${summary.written} ${format} line(s) to ${out === '-' ? 'stdout' : resolve(out)}${skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : ''}` });
  output.event({ event: 'export', ...summary, out: out === '-' ? '-' : resolve(out) });
  return 0;
}
