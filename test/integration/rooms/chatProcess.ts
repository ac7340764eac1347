/**
 * A `persona-mesh node --jsonl` process for convergence tests, with the time (this process's
 * monotonic clock) each of its events was read: when a message reached it, when its own send was
 * acknowledged. Started directly (loopback) or inside a network namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { cliPath } from '../cli/support';
import { until as untilValue } from '../../support/until';

export type CliEvent = Record<string, unknown> & { at: number };

export class ChatProcess {
  readonly events: CliEvent[] = [];
  /** Message id → when this node first reported it (messages of other nodes). */
  readonly arrived = new Map<string, number>();
  /** Own message id → when its send was acknowledged (committed). */
  readonly sent = new Map<string, number>();
  /** Messages its data dir held when it started (a restart): they are not reported again. */
  prior = new Set<string>();
  priorAt = 0;
  stderr = '';
  readonly exited: Promise<void>;
  private waiters: { predicate: (event: CliEvent) => boolean; resolve: (event: CliEvent) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    // A node killed while lines are still queued for it: those lines are lost, nothing else.
    child.stdin!.on('error', () => undefined);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // Bounded: a long run logs a lot; the tail says what went wrong.
      this.stderr = (this.stderr + chunk).slice(-200_000);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: CliEvent;
      try {
        event = { ...(JSON.parse(line) as Record<string, unknown>), at: performance.now() };
      } catch {
        this.stderr += `(not JSON) ${line}\n`;
        return;
      }
      if (event.event === 'message' && typeof event.id === 'string') {
        if (!this.arrived.has(event.id)) this.arrived.set(event.id, event.at);
        return;
      }
      if (event.event === 'sent' && typeof event.id === 'string') {
        this.sent.set(event.id, event.at);
        return;
      }
      this.events.push(event);
      for (const waiter of [...this.waiters]) {
        if (waiter.predicate(event)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static start(args: string[], env: NodeJS.ProcessEnv): ChatProcess {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run "npm run build" first`);
    return new ChatProcess(spawn(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' }));
  }

  get nodeId(): string {
    const ready = this.events.find((e) => e.event === 'ready');
    if (!ready) throw new Error('the node is not ready');
    return String(ready.nodeId);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident memory of the process in KiB (Linux). */
  rssKiB(): number {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
    return match ? Number(match[1]) : NaN;
  }

  send(command: Record<string, unknown>): void {
    if (this.running) this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  waitFor(predicate: (event: CliEvent) => boolean, what: string, timeoutMs: number): Promise<CliEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; stderr tail:\n${this.stderr.slice(-3000)}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }

  /** When this node held message `id` (its own: when acknowledged), or undefined. */
  heldAt(id: string): number | undefined {
    return this.sent.get(id) ?? this.arrived.get(id) ?? (this.prior.has(id) ? this.priorAt : undefined);
  }

  /** Records what a restarted node already holds (ask right after `ready`). */
  async learnPrior(): Promise<void> {
    this.prior = new Set((await this.history()).ids);
    this.priorAt = performance.now();
  }

  /** The ids of the room's messages in display order, and its known gaps. */
  async history(room = 'general'): Promise<{ ids: string[]; gaps: unknown[] }> {
    const ref = `h${Math.random().toString(36).slice(2)}`;
    this.send({ op: 'history', room, id: ref });
    const event = await this.waitFor((e) => e.event === 'history' && e.ref === ref, 'history', 20_000);
    return { ids: event.ids as string[], gaps: event.gaps as unknown[] };
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }
}

/** Waits (bounded) until `predicate` holds: test/support's `until`, with the nodes' logs when it times out. */
export async function until(what: string, predicate: () => boolean, timeoutMs: number, diagnostics: () => string = () => ''): Promise<void> {
  try {
    await untilValue(what, () => predicate() || undefined, timeoutMs);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('timed out'))) throw error;
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diagnostics()}`, { cause: error });
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
