/**
 * Anti-entropy of signals between two nodes. A node pulls from a peer when the peer comes up and
 * every `intervalMs` from one peer in turn: it sends the last position it holds in the peer's own
 * storage order (`local_seq`, persisted per peer with the peer's store epoch); the peer answers with
 * one bounded batch after it and says whether more follow; the puller stores the batch, moves its
 * cursor and pulls again until nothing is left. Whatever a node learns gets a higher local_seq, so a
 * cursor never skips a signal, whatever its ts. At most one pull per peer is in flight.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { academyTopics, type AcademySyncMessage } from '../../../protocol/academy';
import type { PortMessage } from '../kernel/meshPort';
import type { SignalStore } from './signalStore';
import type { AcademyTransport } from './transport';

export interface AcademySyncOptions {
  /** Signals per batch. Default 500. */
  maxBatchSignals?: number;
  /** JSON bytes per batch (about; at least one signal goes). Default 256 KiB, well under a session frame. */
  maxBatchBytes?: number;
  /** A pull without an answer is forgotten after this. Default 10 s. */
  requestTimeoutMs?: number;
  /** Periodic pull from one peer in turn; 0 disables. Default 60 s. */
  intervalMs?: number;
}

export interface AcademySyncHost {
  readonly store: SignalStore;
  /** Validates, verifies and stores received signals; returns how many were new. */
  applyBatch(signals: unknown[], from: string): number;
}

export class AcademySync {
  private readonly pulls = new Map<string, { requestId: number; timer: TimerHandle }>();
  private readonly unsubscribe: (() => void)[] = [];
  private interval: TimerHandle | undefined;
  private nextRequestId = 1;
  private turn = 0;
  private readonly maxBatch: number;
  readonly stats = { pullsSent: 0, batchesServed: 0, signalsServed: 0, signalsReceived: 0, signalsNew: 0 };

  constructor(
    private readonly host: AcademySyncHost,
    private readonly transport: AcademyTransport,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AcademySyncOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatchSignals ?? 500);
  }

  start(): void {
    this.unsubscribe.push(
      this.transport.subscribe(academyTopics.sync(this.transport.localNodeId), (message) => this.onMessage(message)),
      this.transport.onPeerUp((nodeId) => this.pull(nodeId)),
      this.transport.onPeerDown((nodeId) => this.forget(nodeId)),
    );
    const intervalMs = this.options.intervalMs ?? 60_000;
    if (intervalMs > 0) this.interval = this.clock.setInterval(() => this.periodic(), intervalMs);
    for (const peer of this.transport.upPeers()) this.pull(peer);
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.interval?.cancel();
    this.interval = undefined;
    for (const nodeId of [...this.pulls.keys()]) this.forget(nodeId);
  }

  /** Asks `nodeId` for the signals it stored after our cursor (unless a pull is in flight). */
  pull(nodeId: string): void {
    if (this.pulls.has(nodeId) || nodeId === this.transport.localNodeId) return;
    const cursor = this.host.store.cursor(nodeId);
    const requestId = this.nextRequestId++;
    const timer = this.clock.setTimeout(() => {
      if (this.pulls.get(nodeId)?.requestId !== requestId) return;
      this.pulls.delete(nodeId);
      this.logger.debug(`signal pull to ${nodeId.slice(0, 7)} timed out`);
    }, this.options.requestTimeoutMs ?? 10_000);
    this.pulls.set(nodeId, { requestId, timer });
    this.stats.pullsSent++;
    const message: AcademySyncMessage = { kind: 'pull', requestId, after: cursor?.seq ?? 0 };
    if (cursor) message.epoch = cursor.epoch;
    this.transport.sendTo(nodeId, academyTopics.sync(nodeId), message);
  }

  private periodic(): void {
    const peers = this.transport.upPeers().sort();
    if (peers.length > 0) this.pull(peers[this.turn++ % peers.length]!);
  }

  private forget(nodeId: string): void {
    this.pulls.get(nodeId)?.timer.cancel();
    this.pulls.delete(nodeId);
  }

  private onMessage(message: PortMessage): void {
    const body = message.body as Partial<AcademySyncMessage> | null;
    if (typeof body !== 'object' || body === null || typeof body.requestId !== 'number') return;
    if (body.kind === 'pull') this.serve(message.from, body.requestId, body.epoch, body.after);
    else if (body.kind === 'batch') this.receive(message.from, body);
  }

  private serve(from: string, requestId: number, epoch: unknown, after: unknown): void {
    const store = this.host.store;
    // A cursor into another store (ours was replaced) means nothing here: start from the beginning.
    const start = epoch === store.epoch && Number.isSafeInteger(after) && (after as number) >= 0 ? (after as number) : 0;
    const batch = store.after(start, this.maxBatch, this.options.maxBatchBytes ?? 256 * 1024);
    this.stats.batchesServed++;
    this.stats.signalsServed += batch.signals.length;
    const answer: AcademySyncMessage = { kind: 'batch', requestId, epoch: store.epoch, signals: batch.signals, last: batch.last, more: batch.more };
    this.transport.sendTo(from, academyTopics.sync(from), answer, { priority: 'bulk' });
  }

  private receive(from: string, body: Partial<Extract<AcademySyncMessage, { kind: 'batch' }>>): void {
    const pull = this.pulls.get(from);
    if (!pull || pull.requestId !== body.requestId) return;
    if (!Array.isArray(body.signals) || typeof body.epoch !== 'string' || body.epoch.length > 64 || !Number.isSafeInteger(body.last)) return;
    pull.timer.cancel();
    this.pulls.delete(from);
    const signals: unknown[] = body.signals.slice(0, this.maxBatch * 2);
    this.stats.signalsReceived += signals.length;
    this.stats.signalsNew += this.host.applyBatch(signals, from);
    this.host.store.setCursor(from, body.epoch, body.last!);
    if (body.more === true && signals.length > 0) this.pull(from);
  }
}
