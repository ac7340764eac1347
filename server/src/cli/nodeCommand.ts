/**
 * `persona-mesh node`: a headless mesh node. Stops cleanly on SIGTERM/SIGINT or the stdin
 * line `{"op":"quit"}`; every stdin line is one JSON command.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { MeshNode } from '../node/meshNode';
import { createLogger, type LogLevel } from '../node/log';
import { MeshKeyError, parseMeshKey } from '../node/meshKey';
import { lastValue, UsageError, type ParsedArgs } from './args';
import { readMeshKey } from './meshKeySource';
import type { CliOutput } from './output';

export const nodeArgSpec = {
  valued: ['name', 'data-dir', 'mesh-key-file', 'log-level'],
  boolean: ['jsonl', 'help'],
} as const;

export const defaultDataDir = join(homedir(), '.persona-mesh');

const logLevels: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface NodeCommandIo {
  output: CliOutput;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { destroy?: () => void };
}

/** Resolves with the exit code once the node has stopped. */
export async function runNodeCommand(args: ParsedArgs, io: NodeCommandIo): Promise<number> {
  const { output } = io;
  const logLevel = (lastValue(args, 'log-level') ?? 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) throw new UsageError(`--log-level must be one of ${logLevels.join(', ')}`);
  const meshKeyText = readMeshKey(lastValue(args, 'mesh-key-file'), io.env);
  try {
    parseMeshKey(meshKeyText);
  } catch (error) {
    if (error instanceof MeshKeyError) {
      output.error(error.message, error.code);
      return 2;
    }
    throw error;
  }

  const logger = createLogger((record) => output.log(record), logLevel);
  const node = new MeshNode({
    dataDir: lastValue(args, 'data-dir') ?? defaultDataDir,
    meshKey: meshKeyText,
    name: lastValue(args, 'name'),
    logger,
  });
  try {
    await node.start();
  } catch (error) {
    output.error((error as Error).message, (error as { code?: string }).code);
    return 2;
  }
  const problems = node.status().problems;
  if (problems.length > 0) {
    // Logged already by the node; the CLI adds the machine-readable line and refuses to run half a node.
    for (const problem of problems) output.event({ event: 'error', reason: problem.message, code: problem.code });
    await node.stop();
    return 2;
  }

  return new Promise<number>((resolve) => {
    const lines: Interface = createInterface({ input: io.stdin, crlfDelay: Infinity });
    let stopping = false;
    const shutdown = (why: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`stopping (${why})`);
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
      lines.close();
      io.stdin.destroy?.();
      void node.stop().then(() => {
        output.event({ event: 'stopped', reason: why });
        resolve(0);
      });
    };
    const onSigterm = () => shutdown('SIGTERM');
    const onSigint = () => shutdown('SIGINT');
    process.on('SIGTERM', onSigterm);
    process.on('SIGINT', onSigint);

    lines.on('line', (line) => {
      const text = line.trim();
      if (text.length === 0) return;
      let command: { op?: unknown };
      try {
        command = JSON.parse(text) as { op?: unknown };
      } catch {
        output.event({ event: 'error', reason: `stdin: not a JSON line: ${text.slice(0, 80)}` });
        return;
      }
      switch (command.op) {
        case 'quit':
          shutdown('quit');
          break;
        case 'status':
          output.event({ event: 'status', ...node.status() });
          break;
        default:
          output.event({ event: 'error', reason: `stdin: unknown op ${JSON.stringify(command.op)} (known: status, quit)` });
      }
    });
    // End of stdin is not a quit: a node started as a service has /dev/null there.

    // Last, once the signal handlers are in place: a parent may send SIGTERM as soon as it reads this.
    const status = node.status();
    output.event({ event: 'ready', nodeId: status.nodeId, name: status.name, dataDir: status.dataDir, pid: status.pid });
  });
}
