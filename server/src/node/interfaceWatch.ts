/**
 * Laptops change networks: Wi-Fi to Ethernet, a dock, a hotspot. Discovery is bound to one
 * interface's address (multicast must name it), so a node that chose its interface by itself
 * looks again every few seconds. When the address in use is gone from the machine, it says so at
 * once (sessions through it are dead anyway); when the address is still there but another one is
 * now the best choice (back from a fallback after a Wi-Fi blip), only once that choice has held
 * for a few looks, so a flapping link does not restart the sessions each time. An interface given
 * as an address is the user's choice: never moved.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
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
  /** The IPv4 addresses of the interfaces that are up (default: from os.networkInterfaces()). */
  addresses?: () => string[];
  /** Looks a better address must hold before the node moves to it while its own is still there. Default 3. */
  settleLooks?: number;
  onChange: (address: string) => void;
}

function upAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((infos) => (infos ?? []).filter((info) => info.family === 'IPv4').map((info) => info.address));
}

export class InterfaceWatch implements Component {
  readonly name = 'interface watch';
  private timer: TimerHandle | undefined;
  private running = false;
  /** A better address seen while ours is still there, and for how many looks in a row. */
  private candidate: string | undefined;
  private looks = 0;

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
    let best: string | undefined;
    try {
      best = (this.options.pick ?? pickInterfaceAddress)(this.options.requested);
    } catch {
      // A named interface that is gone for now (a dock unplugged): wait for it to come back.
    }
    const current = this.options.current;
    if (best === undefined || best === current) {
      this.candidate = undefined;
      return this.schedule();
    }
    const gone = !(this.options.addresses ?? upAddresses)().includes(current);
    if (best !== this.candidate) [this.candidate, this.looks] = [best, 0];
    this.looks++;
    if (gone || this.looks >= (this.options.settleLooks ?? 3)) {
      this.running = false;
      this.options.onChange(best);
      return;
    }
    this.schedule();
  }
}
