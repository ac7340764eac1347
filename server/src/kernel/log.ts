/**
 * The node's logger. The IPC server forwards records to the extension's LogOutputChannel; the
 * CLI writes them to stderr (or as JSON lines). Components get a child named after themselves.
 */
import type { LogLevel } from '../../../protocol/extension';

export interface LogRecord {
  level: LogLevel;
  scope: string;
  message: string;
  ts: number;
}

export interface Logger {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(scope: string): Logger;
}

export type LogSink = (record: LogRecord) => void;

const levelRank: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export function logLevelAllows(minimum: LogLevel, level: LogLevel): boolean {
  return levelRank[level] >= levelRank[minimum];
}

export function createLogger(sink: LogSink, minimum: LogLevel = 'info', scope = 'node'): Logger {
  const emit = (level: LogLevel, message: string) => {
    if (logLevelAllows(minimum, level)) sink({ level, scope, message, ts: Date.now() });
  };
  return {
    trace: (m) => emit('trace', m),
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (name) => createLogger(sink, minimum, `${scope}.${name}`),
  };
}

/** Keeps records in memory: for tests that assert a component logged a specific reason. */
export class MemoryLog {
  readonly records: LogRecord[] = [];
  readonly logger: Logger = createLogger((record) => this.records.push(record), 'trace');

  messages(level?: LogLevel): string[] {
    return this.records.filter((r) => level === undefined || r.level === level).map((r) => r.message);
  }
}

export const silentLogger: Logger = createLogger(() => undefined);
