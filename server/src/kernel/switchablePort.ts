/**
 * A MeshPort that outlives the network under it. Rooms start with the node's database and
 * identity; the mesh network comes and goes (no mesh key yet, Set Mesh Key, a restart of the
 * network). `attach(transport)` moves every subscription and handler onto the new network and
 * reports its peers as up; `detach()` reports them down. While detached, publishing does nothing:
 * local events are stored and reach the peers by sync once a network is attached.
 */
import type { MeshPort, PortMessage, PortPublishOptions } from './meshPort';

type Handler = (message: PortMessage) => void;

export class SwitchableMeshPort implements MeshPort {
  private current: MeshPort | undefined;
  private readonly subscriptions = new Map<number, { prefix: string; handler: Handler; off?: () => void }>();
  private readonly upHandlers = new Set<(nodeId: string) => void>();
  private readonly downHandlers = new Set<(nodeId: string) => void>();
  private readonly detachCurrent: (() => void)[] = [];
  private readonly up = new Set<string>();
  private nextId = 1;

  constructor(readonly localNodeId: string) {}

  get attached(): boolean {
    return this.current !== undefined;
  }

  attach(transport: MeshPort): void {
    if (transport.localNodeId !== this.localNodeId) throw new Error(`the network's node id ${transport.localNodeId} is not this node's ${this.localNodeId}`);
    this.detach();
    this.current = transport;
    for (const entry of this.subscriptions.values()) entry.off = transport.subscribe(entry.prefix, entry.handler);
    this.detachCurrent.push(
      transport.onPeerUp((nodeId) => this.peerUp(nodeId)),
      transport.onPeerDown((nodeId) => this.peerDown(nodeId)),
    );
    for (const nodeId of transport.upPeers()) this.peerUp(nodeId);
  }

  detach(): void {
    if (!this.current) return;
    for (const off of this.detachCurrent.splice(0)) off();
    for (const entry of this.subscriptions.values()) {
      entry.off?.();
      entry.off = undefined;
    }
    this.current = undefined;
    for (const nodeId of [...this.up]) this.peerDown(nodeId);
  }

  publish(topic: string, body: unknown, options?: PortPublishOptions): void {
    this.current?.publish(topic, body, options);
  }

  subscribe(prefix: string, handler: Handler): () => void {
    const id = this.nextId++;
    const entry: { prefix: string; handler: Handler; off?: () => void } = { prefix, handler };
    if (this.current) entry.off = this.current.subscribe(prefix, handler);
    this.subscriptions.set(id, entry);
    return () => {
      entry.off?.();
      this.subscriptions.delete(id);
    };
  }

  sendTo(nodeId: string, topic: string, body: unknown, options?: PortPublishOptions): void {
    this.current?.sendTo(nodeId, topic, body, options);
  }

  onPeerUp(handler: (nodeId: string) => void): () => void {
    this.upHandlers.add(handler);
    return () => this.upHandlers.delete(handler);
  }

  onPeerDown(handler: (nodeId: string) => void): () => void {
    this.downHandlers.add(handler);
    return () => this.downHandlers.delete(handler);
  }

  upPeers(): string[] {
    return [...this.up];
  }

  private peerUp(nodeId: string): void {
    if (this.up.has(nodeId)) return;
    this.up.add(nodeId);
    for (const handler of [...this.upHandlers]) handler(nodeId);
  }

  private peerDown(nodeId: string): void {
    if (!this.up.delete(nodeId)) return;
    for (const handler of [...this.downHandlers]) handler(nodeId);
  }
}
