/**
 * An in-memory mesh for tests: nodes joined by links that can be cut and healed,
 * one FIFO queue per direction (like a TCP session: in order, lost when the link goes down).
 * Delivery is manual (`deliverNext`, `flush`) so tests choose the interleaving, or automatic
 * (`autoFlush`) on the next turn of the event loop.
 */
import type { MeshPort, PortMessage } from '../../server/src/kernel/meshPort';

type Handler = (message: PortMessage) => void;

export class MemoryHub {
  private readonly nodes = new Map<string, MemoryMeshPort>();
  /** Directed link "a>b" → queue; present when the link is up. */
  private readonly queues = new Map<string, PortMessage[]>();
  private scheduled: NodeJS.Immediate | undefined;
  delivered = 0;

  constructor(private readonly options: { autoFlush?: boolean } = {}) {}

  /** Adds a node (or re-attaches a restarted one) and links it to every attached node. */
  attach(nodeId: string): MemoryMeshPort {
    if (this.nodes.get(nodeId)?.attached) throw new Error(`${nodeId} is already attached`);
    const transport = new MemoryMeshPort(this, nodeId);
    this.nodes.set(nodeId, transport);
    for (const other of this.nodes.values()) if (other !== transport && other.attached) this.link(nodeId, other.localNodeId);
    return transport;
  }

  /** Removes a node: every link of it goes down (the node crashed or stopped). */
  detach(nodeId: string): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    for (const other of this.nodes.keys()) if (other !== nodeId) this.unlink(nodeId, other);
    node.attached = false;
  }

  isLinked(a: string, b: string): boolean {
    return this.queues.has(`${a}>${b}`);
  }

  link(a: string, b: string): void {
    if (this.isLinked(a, b) || a === b) return;
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    if (!na?.attached || !nb?.attached) return;
    this.queues.set(`${a}>${b}`, []);
    this.queues.set(`${b}>${a}`, []);
    na.peerUp(b);
    nb.peerUp(a);
  }

  unlink(a: string, b: string): void {
    if (!this.isLinked(a, b)) return;
    this.queues.delete(`${a}>${b}`);
    this.queues.delete(`${b}>${a}`);
    this.nodes.get(a)?.peerDown(b);
    this.nodes.get(b)?.peerDown(a);
  }

  /** Cuts every link between the two groups. */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    for (const a of groupA) for (const b of groupB) this.unlink(a, b);
  }

  /** Links every pair of attached nodes. */
  healAll(): void {
    const ids = [...this.nodes.values()].filter((n) => n.attached).map((n) => n.localNodeId);
    for (const a of ids) for (const b of ids) if (a < b) this.link(a, b);
  }

  peersOf(nodeId: string): string[] {
    const peers: string[] = [];
    for (const key of this.queues.keys()) {
      const [from, to] = key.split('>') as [string, string];
      if (from === nodeId) peers.push(to);
    }
    return peers;
  }

  enqueue(from: string, to: string, message: PortMessage): void {
    const queue = this.queues.get(`${from}>${to}`);
    if (!queue) return;
    queue.push(message);
    if (this.options.autoFlush && !this.scheduled) {
      this.scheduled = setImmediate(() => {
        this.scheduled = undefined;
        this.flush();
      });
    }
  }

  /** Number of messages waiting on all links. */
  get pending(): number {
    let count = 0;
    for (const queue of this.queues.values()) count += queue.length;
    return count;
  }

  /** Delivers the head of one non-empty link queue, chosen by `pick(count)`; false if all empty. */
  deliverNext(pick: (count: number) => number = () => 0): boolean {
    const busy = [...this.queues.entries()].filter(([, queue]) => queue.length > 0);
    if (busy.length === 0) return false;
    const [key, queue] = busy[Math.min(busy.length - 1, Math.max(0, pick(busy.length)))]!;
    const message = queue.shift()!;
    const to = key.slice(key.indexOf('>') + 1);
    this.delivered++;
    this.nodes.get(to)?.receive(message);
    return true;
  }

  /** Delivers until every queue is empty (bounded, in case of a livelock bug). */
  flush(limit = 1_000_000): number {
    let count = 0;
    while (count < limit && this.deliverNext()) count++;
    if (count >= limit) throw new Error(`the memory mesh did not quiesce after ${limit} deliveries`);
    return count;
  }

  /** Cancels a pending automatic flush. */
  close(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }
}

export class MemoryMeshPort implements MeshPort {
  attached = true;
  private readonly subscriptions = new Map<string, Set<Handler>>();
  private readonly upHandlers = new Set<(nodeId: string) => void>();
  private readonly downHandlers = new Set<(nodeId: string) => void>();
  /** Topics whose messages this node drops on receipt (to simulate loss). */
  dropTopic: ((topic: string, body: unknown) => boolean) | undefined;
  /** Topics whose messages wait until `releaseHeld()` (a bulk answer overtaken by chat). */
  holdTopic: ((topic: string) => boolean) | undefined;
  private readonly held: PortMessage[] = [];

  constructor(private readonly hub: MemoryHub, readonly localNodeId: string) {}

  publish(topic: string, body: unknown): void {
    const message = { topic, body: structuredClone(body), from: this.localNodeId };
    for (const peer of this.hub.peersOf(this.localNodeId)) this.hub.enqueue(this.localNodeId, peer, message);
  }

  subscribe(prefix: string, handler: Handler): () => void {
    let set = this.subscriptions.get(prefix);
    if (!set) this.subscriptions.set(prefix, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.subscriptions.delete(prefix);
    };
  }

  sendTo(nodeId: string, topic: string, body: unknown): void {
    this.hub.enqueue(this.localNodeId, nodeId, { topic, body: structuredClone(body), from: this.localNodeId });
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
    return this.hub.peersOf(this.localNodeId);
  }

  /** Handlers still registered (a stopped component must leave none). */
  get handlerCount(): number {
    let count = this.upHandlers.size + this.downHandlers.size;
    for (const set of this.subscriptions.values()) count += set.size;
    return count;
  }

  peerUp(nodeId: string): void {
    for (const handler of [...this.upHandlers]) handler(nodeId);
  }

  peerDown(nodeId: string): void {
    for (const handler of [...this.downHandlers]) handler(nodeId);
  }

  /** Delivers the messages held by `holdTopic`, in the order they came. */
  releaseHeld(): void {
    const held = this.held.splice(0);
    for (const message of held) this.dispatch(message);
  }

  receive(message: PortMessage): void {
    if (this.dropTopic?.(message.topic, message.body)) return;
    if (this.holdTopic?.(message.topic)) {
      this.held.push(message);
      return;
    }
    this.dispatch(message);
  }

  private dispatch(message: PortMessage): void {
    for (const [prefix, handlers] of this.subscriptions) {
      if (!message.topic.startsWith(prefix)) continue;
      for (const handler of [...handlers]) handler(message);
    }
  }
}
