/**
 * Network namespaces for mesh tests (root only): a hub namespace with a bridge (multicast
 * snooping off), one veth per peer namespace, addresses 10.{net}.0.{i+1}/24 and a multicast
 * route on each peer's `eth0`. Names carry a per-run tag so parallel runs never collide, and
 * `destroy()` removes everything (deleting a namespace deletes its veth ends).
 *
 *   const lab = await NamespaceLab.create(3);
 *   lab.exec(0, ['ping', '-c1', lab.address(1)]);
 *   lab.spawn(0, process.execPath, [...]);           // a node inside namespace 0
 *   await lab.cut(1); await lab.restore(1);          // link down / up
 *   await lab.destroy();
 *
 * With `subnets: 2`, namespace i is on subnet i % 2 (10.{net}.{i % 2}.{i+1}/24), each subnet on its
 * own bridge, and the hub routes between them (10.{net}.{s}.254): two LANs behind a router, which
 * multicast with TTL 1 does not cross.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export function namespacesAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class NamespaceLab {
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly tag: string,
    readonly size: number,
    private readonly net: number,
    readonly subnets: number,
  ) {}

  static async create(size: number, options: { subnets?: 1 | 2 } = {}): Promise<NamespaceLab> {
    const tag = `pm${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    const lab = new NamespaceLab(tag, size, 64 + (process.pid % 128), options.subnets ?? 1);
    try {
      lab.setUp();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  get hub(): string {
    return `${this.tag}-hub`;
  }

  name(index: number): string {
    return `${this.tag}-n${index}`;
  }

  address(index: number): string {
    return `10.${this.net}.${this.subnetOf(index)}.${index + 1}`;
  }

  subnetOf(index: number): number {
    return index % this.subnets;
  }

  private setUp(): void {
    ip(['netns', 'add', this.hub]);
    this.created.push(this.hub);
    for (let s = 0; s < this.subnets; s++) {
      ip(['-n', this.hub, 'link', 'add', `br${s}`, 'type', 'bridge', 'mcast_snooping', '0']);
      ip(['-n', this.hub, 'link', 'set', `br${s}`, 'up']);
      if (this.subnets > 1) ip(['-n', this.hub, 'addr', 'add', `10.${this.net}.${s}.254/24`, 'dev', `br${s}`]);
    }
    ip(['-n', this.hub, 'link', 'set', 'lo', 'up']);
    if (this.subnets > 1) execFileSync('ip', ['netns', 'exec', this.hub, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], { stdio: 'ignore' });
    for (let i = 0; i < this.size; i++) {
      const ns = this.name(i);
      ip(['netns', 'add', ns]);
      this.created.push(ns);
      // veth pair: `eth0` inside the peer namespace, `p{i}` on the hub's bridge.
      ip(['-n', this.hub, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', this.hub, 'link', 'set', `p${i}`, 'master', `br${this.subnetOf(i)}`]);
      ip(['-n', this.hub, 'link', 'set', `p${i}`, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      if (this.subnets > 1) ip(['-n', ns, 'route', 'add', 'default', 'via', `10.${this.net}.${this.subnetOf(i)}.254`]);
    }
  }

  /** Runs a command inside namespace `index` and returns its stdout. */
  exec(index: number, command: string[], timeoutMs = 10_000): string {
    return execFileSync('ip', ['netns', 'exec', this.name(index), ...command], { timeout: timeoutMs, encoding: 'utf8' });
  }

  /**
   * Whether namespace `from` reaches `to` over TCP, without ping (not installed everywhere): a
   * connection to a closed port is refused (reachable) or times out (not reachable).
   */
  reachable(from: number, to: number, timeoutMs = 1000): boolean {
    const script = `const s=require('net').connect(9,'${this.address(to)}');s.setTimeout(${timeoutMs},()=>{console.log('timeout');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('connect',()=>{console.log('open');process.exit(0)})`;
    const out = this.exec(from, [process.execPath, '-e', script], timeoutMs + 5000).trim();
    return out === 'ECONNREFUSED' || out === 'open';
  }

  /** Starts a long-running process inside namespace `index`; killed by destroy(). */
  spawn(index: number, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name(index), command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Cuts namespace `index` off the bridge (its side stays up, so no local error is seen). */
  cut(index: number): Promise<void> {
    ip(['-n', this.hub, 'link', 'set', `p${index}`, 'down']);
    return Promise.resolve();
  }

  restore(index: number): Promise<void> {
    ip(['-n', this.hub, 'link', 'set', `p${index}`, 'up']);
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all([...this.children].map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))));
    for (const ns of this.created.splice(0).reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // Already gone.
      }
    }
  }
}
