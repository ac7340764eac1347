/** What /proc says about another process (its CPU time, how often its threads were scheduled), and stopping them. */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const clockTicks = 100;

/** CPU seconds (user + system, or system alone) of a process so far. */
export function cpuSeconds(pid: number, part: 'all' | 'system' = 'all'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((part === 'all' ? Number(fields[11]) : 0) + Number(fields[12])) / clockTicks;
}

/**
 * Times the process's threads were put on a CPU so far (/proc/<pid>/task/<tid>/schedstat, second
 * field): on an idle machine about its wake-ups, which cost 0.3-0.9 ms each here whatever they do.
 */
export function wakeUps(pid: number, mainThreadOnly = false): number {
  let sum = 0;
  for (const tid of mainThreadOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[2]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return sum;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Asks each child to stop (`ask`), waits for it, and kills it after `killAfterMs` if it has not exited. */
export async function stopChildren(children: ChildProcess[], ask: (child: ChildProcess) => void, killAfterMs: number): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          ask(child);
        }),
    ),
  );
}
