/**
 * Laptops change networks: Wi-Fi to Ethernet, a dock, a hotspot. Discovery is bound to one
 * interface's address (multicast must name it), so a node that chose its interface by itself
 * looks again every few seconds and says when the best address is another one; the node then
 * moves its network there. An interface given as an address is the user's choice: never moved.
 */
import { isIP } from 'node:net';
import type { Clock, TimerHandle } from './clock';
import type { Component } from './lifecycle';
import { pickInterfaceAddress } from './networkOptions';

export interface InterfaceWatchOptions {
  /** The setting: '' (automatic) or an interface name. */
  requested: string;
  /** The address in use. */
  current: string;
  clock: Clock;
  /** Default 5 s. */
  intervalMs?: number;
  /** Chooses the address now (default: pickInterfaceAddress over os.networkInterfaces()). */
  pick?: (requested: string) => string;
  onChange: (address: string) => void;
}

export class InterfaceWatch implements Component {
  readonly name = 'interface watch';
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly options: InterfaceWatchOptions) {}

  start(): Promise<void> {
    if (isIP(this.options.requested) === 0) {
      this.running = true;
      this.schedule();
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    return Promise.resolve();
  }

  private schedule(): void {
    this.timer = this.options.clock.setTimeout(() => this.check(), this.options.intervalMs ?? 5000);
  }

  private check(): void {
    if (!this.running) return;
    let address: string | undefined;
    try {
      address = (this.options.pick ?? pickInterfaceAddress)(this.options.requested);
    } catch {
      // A named interface that is gone for now (a dock unplugged): wait for it to come back.
    }
    if (address !== undefined && address !== this.options.current) {
      this.running = false;
      this.options.onChange(address);
      return;
    }
    this.schedule();
  }
}
