/**
 * The UDP socket of the discovery group, shared by beacons and the fast lane. Multicast always
 * names the interface (`addMembership(group, iface)`, `setMulticastInterface(iface)`), TTL 1,
 * loopback on, so tests on 127.0.0.1 never leave the machine. Broadcast is opt-in.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Component } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import { maxDatagramBytes } from '../../../protocol/mesh';
import type { Counters } from './counters';

export interface DatagramOptions {
  group: string;
  port: number;
  /** Address of the interface to use (e.g. `127.0.0.1` in tests, the LAN address in use). */
  interface: string;
  /** Also send to this broadcast address (opt-in fallback), e.g. `255.255.255.255`. */
  broadcast?: string;
  /**
   * SO_RCVBUF to ask for (default 4 MiB): bursts on the fast lane overflow the kernel's default
   * (~208 KiB) before the event loop reads them. Linux caps it at net.core.rmem_max.
   */
  recvBufferBytes?: number;
}

export const defaultRecvBufferBytes = 4 * 1024 * 1024;

export type DatagramHandler = (datagram: Buffer, from: RemoteInfo) => void;

export class DatagramSocket implements Component {
  readonly name = 'mesh.datagram';
  private socket: Socket | undefined;
  private readonly handlers: DatagramHandler[] = [];

  constructor(private readonly options: DatagramOptions, private readonly logger: Logger, private readonly counters: Counters) {}

  get running(): boolean {
    return this.socket !== undefined;
  }

  onDatagram(handler: DatagramHandler): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: this.options.recvBufferBytes ?? defaultRecvBufferBytes });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        socket.close();
        reject(error);
      };
      socket.once('error', onError);
      socket.bind(this.options.port, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    try {
      socket.setMulticastInterface(this.options.interface);
      socket.addMembership(this.options.group, this.options.interface);
      socket.setMulticastLoopback(true);
      socket.setMulticastTTL(1);
      if (this.options.broadcast) socket.setBroadcast(true);
    } catch (error) {
      socket.close();
      throw error;
    }
    socket.on('error', (error) => {
      this.counters.add('datagram.error');
      this.logger.warn(`udp socket error: ${error.message}`);
    });
    socket.on('message', (datagram, from) => {
      this.counters.add('datagram.in');
      if (datagram.length > maxDatagramBytes) {
        this.counters.add('datagram.rejected.too-large');
        return;
      }
      for (const handler of this.handlers) {
        try {
          handler(datagram, from);
        } catch (error) {
          this.counters.add('datagram.handler-error');
          this.logger.error(`datagram handler failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
    this.socket = socket;
    this.logger.debug(`multicast ${this.options.group}:${this.options.port} on ${this.options.interface}${this.options.broadcast ? ` + broadcast ${this.options.broadcast}` : ''}, receive buffer ${this.recvBufferBytes} bytes`);
  }

  /** The receive buffer the kernel granted (Linux reports twice the bytes asked for, capped by rmem_max). */
  get recvBufferBytes(): number {
    try {
      return this.socket?.getRecvBufferSize() ?? 0;
    } catch {
      return 0;
    }
  }

  /** Sends to the group (and the broadcast address if enabled). */
  send(datagram: Buffer): void {
    const socket = this.socket;
    if (!socket || datagram.length > maxDatagramBytes) return;
    this.counters.add('datagram.out');
    const done = (error: Error | null) => {
      if (error) this.counters.add('datagram.send-error');
    };
    socket.send(datagram, this.options.port, this.options.group, done);
    if (this.options.broadcast) socket.send(datagram, this.options.port, this.options.broadcast, done);
  }

  /** Sends to the group and resolves once the datagram has left (used for the goodbye). */
  async sendAndWait(datagram: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket || datagram.length > maxDatagramBytes) return;
    this.counters.add('datagram.out');
    const targets = [this.options.group, ...(this.options.broadcast ? [this.options.broadcast] : [])];
    await Promise.all(
      targets.map((address) => new Promise<void>((resolve) => socket.send(datagram, this.options.port, address, () => resolve()))),
    );
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
