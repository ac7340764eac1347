/**
 * What the CLI prints. With --jsonl, stdout carries one JSON object a line (tests and scripts
 * read it); human-readable logs always go to stderr.
 */
import type { LogRecord } from '../kernel/log';

export interface CliOutput {
  event(event: Record<string, unknown> & { event: string }): void;
  log(record: LogRecord): void;
  /** One line naming the problem and what to do. */
  error(message: string, code?: string): void;
}

export function createCliOutput(jsonl: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): CliOutput {
  return {
    event(event) {
      if (jsonl) stdout.write(`${JSON.stringify(event)}\n`);
    },
    log(record) {
      stderr.write(`${new Date(record.ts).toISOString()} [${record.level}] ${record.scope}: ${record.message}\n`);
    },
    error(message, code) {
      stderr.write(`persona-mesh: error: ${message}\n`);
      if (jsonl) stdout.write(`${JSON.stringify({ event: 'error', reason: message, ...(code ? { code } : {}) })}\n`);
    },
  };
}
