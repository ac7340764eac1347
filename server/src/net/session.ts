/**
 * One encrypted TCP session with one peer: Noise XX handshake, then sealed batches of
 * MessagePack session messages, keepalives, and three priority queues (control, chat, bulk). Any malformed, unauthenticated or oversized input
 * closes this session only, with a reason that is logged and counted.
 *
 * Writes are batched per event-loop turn (see flushScheduler.ts): control and chat messages leave
 * in the next flush; bulk messages only while the socket's write buffer is below the high-water
 * mark, so a transfer never delays chat.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { Priority, SessionMessage, SessionMessageType } from '../../../protocol/mesh';
import { decodeBatch, encodeSessionMessage, isRecord, toSessionMessage } from './codec';
import type { Counters } from './counters';
import { sharedFlushScheduler, type FlushScheduler } from './flushScheduler';
import { defaultMaxFrameBytes, encodeFrame, FrameDecoder } from './framing';
import { HandshakeError, maxHandshakeMessageBytes, NoiseHandshake, type HandshakeResult, type LocalHandshakeIdentity } from './handshake';
import { Opener, Sealer, sealOverheadBytes, type RekeyPolicy } from './transportCipher';

export interface SessionOptions {
  socket: Socket;
  initiator: boolean;
  local: LocalHandshakeIdentity;
  prologue: Buffer;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  maxFrameBytes?: number;
  /**
   * A quiet session (nothing received for this long) is pinged by the side with the smaller node
   * id; the other side pings only when those pings stop coming (quiet for 1.4 times as long).
   * Default 12 s.
   */
  heartbeatMs?: number;
  /** Something sent and nothing received for this long: the peer is pinged (default 5 s). */
  probeAfterMs?: number;
  /** Something sent and nothing at all received for this long: the peer is dead (default 15 s). */
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  rekey?: RekeyPolicy;
  /** Bulk messages are written only while the socket buffers less than this. */
  bulkHighWaterBytes?: number;
  /** Responder: vetoes a first handshake message (e.g. a replay). Returns a reason to refuse. */
  checkFirstMessage?: (message: Buffer) => string | undefined;
  scheduler?: FlushScheduler;
  /** Label for logs before the peer is known (e.g. the remote address). */
  label: string;
}

export type SessionState = 'handshake' | 'open' | 'closing' | 'closed';

export interface SessionEvents {
  open: [HandshakeResult];
  message: [SessionMessage];
  rtt: [number];
  /** The peer's wall clock minus ours (ms), estimated from a pong. */
  clock: [number];
  /** Bulk queue emptied and the socket can take more: the hook for the bulk (genome) layer. */
  'bulk-drain': [];
  close: [reason: string];
}

const messageTypes = new Set<SessionMessageType>(['hello', 'ping', 'pong', 'subs', 'px', 'env', 'ov', 'bye']);
const priorities: Priority[] = ['control', 'chat', 'bulk'];

interface Queue {
  parts: Buffer[];
  bytes: number;
}

export class Session extends EventEmitter<SessionEvents> {
  private stateValue: SessionState = 'handshake';
  private readonly decoder: FrameDecoder;
  private handshake: NoiseHandshake | undefined;
  private sealer: Sealer | undefined;
  private opener: Opener | undefined;
  private remote: HandshakeResult | undefined;
  private readonly queues: Record<Priority, Queue> = { control: { parts: [], bytes: 0 }, chat: { parts: [], bytes: 0 }, bulk: { parts: [], bytes: 0 } };
  private keepalive: TimerHandle | undefined;
  private keepaliveDue = Infinity;
  private deadline: TimerHandle | undefined;
  private lastReceived: number;
  /** When we first sent something after the peer was last heard from (undefined: nothing awaits an answer). */
  private sentUnanswered: number | undefined;
  /** A keepalive ping is out and nothing has been heard since. */
  private pinged = false;
  private readonly heartbeatMs: number;
  /** Quiet this long before we ping: `heartbeatMs` on the pinging side, more on the answering side. */
  private quietMs: number;
  /** Keepalive deadlines are rounded up to this grid, so one node's sessions wake it together. */
  private readonly keepaliveGridMs: number;
  private readonly probeAfterMs: number;
  private readonly deadAfterMs: number;
  private pingNumber = 0;
  /** Probes waiting for the pong to their ping (see probe()). */
  private probes: { n: number; timer: TimerHandle; done: (answered: boolean) => void }[] = [];
  private closeReason: string | undefined;
  private readonly maxFrameBytes: number;
  private readonly maxBatchBytes: number;
  private readonly scheduler: FlushScheduler;
  private logger: Logger;
  readonly stats = { framesIn: 0, framesOut: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };

  constructor(private readonly options: SessionOptions) {
    super();
    this.maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes;
    this.maxBatchBytes = Math.min(this.maxFrameBytes - sealOverheadBytes, 1024 * 1024);
    this.heartbeatMs = options.heartbeatMs ?? 12_000;
    this.quietMs = this.heartbeatMs;
    this.keepaliveGridMs = this.heartbeatMs / 6;
    this.deadAfterMs = options.deadAfterMs ?? 15_000;
    this.probeAfterMs = Math.min(options.probeAfterMs ?? 5000, this.deadAfterMs / 3, this.heartbeatMs);
    this.decoder = new FrameDecoder(maxHandshakeMessageBytes);
    this.scheduler = options.scheduler ?? sharedFlushScheduler;
    this.logger = options.logger;
    this.lastReceived = options.clock.monotonic();
    const socket = options.socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close('socket-error', error.message, false));
    socket.on('end', () => this.close('remote-closed', undefined, true));
    socket.on('close', () => this.finish());
    socket.on('drain', () => {
      if (this.queues.bulk.bytes > 0) this.scheduler.schedule(this);
    });
    this.handshake = new NoiseHandshake(options.initiator, options.local, options.prologue);
    this.deadline = options.clock.setTimeout(() => this.close('handshake-timeout', undefined, false), options.handshakeTimeoutMs ?? 10_000);
    if (options.initiator) {
      const first = this.handshake.start();
      socket.write(encodeFrame(first));
    }
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get initiator(): boolean {
    return this.options.initiator;
  }

  /** The verified peer, once the handshake is done. */
  get peer(): HandshakeResult | undefined {
    return this.remote;
  }

  get reason(): string | undefined {
    return this.closeReason;
  }

  get bulkQueuedBytes(): number {
    return this.queues.bulk.bytes;
  }

  get remoteAddress(): string {
    return `${this.options.socket.remoteAddress ?? '?'}:${this.options.socket.remotePort ?? 0}`;
  }

  /**
   * Queues a message for the next flush. Returns false if the session cannot send (not open, or
   * the message alone exceeds the frame limit).
   */
  send(message: SessionMessage, priority: Priority = 'chat'): boolean {
    if (this.stateValue !== 'open') return false;
    return this.sendEncoded(encodeSessionMessage(message), priority);
  }

  /**
   * Queues an already MessagePack-encoded session message (encode once, send to many).
   * `awaitsAnswer`: false for an answer itself (a pong), which must not make us probe the peer
   * for a reply to it (that made each side ping the other five seconds after every pong).
   */
  sendEncoded(bytes: Buffer, priority: Priority = 'chat', awaitsAnswer = true): boolean {
    if (this.stateValue !== 'open') return false;
    if (bytes.length > this.maxBatchBytes) {
      this.options.counters.add('session.send.too-large');
      return false;
    }
    const queue = this.queues[priority];
    queue.parts.push(bytes);
    queue.bytes += bytes.length;
    this.scheduler.schedule(this);
    if (awaitsAnswer && this.sentUnanswered === undefined) {
      this.sentUnanswered = this.options.clock.monotonic();
      this.armKeepalive(this.sentUnanswered + this.probeAfterMs);
    }
    return true;
  }

  /** Seals and writes what is queued: control and chat all, bulk while the socket has room. */
  flush(): void {
    if (this.stateValue !== 'open' || !this.sealer) return;
    const frames: Buffer[] = [];
    let batch: Buffer[] = [];
    let bytes = 0;
    const seal = () => {
      if (bytes === 0) return;
      // One plaintext buffer per frame (the messages back to back: MessagePack values delimit
      // themselves): one seal per batch. A lone message (a genome piece) is sealed as it is.
      let plaintext = batch[0]!;
      if (batch.length > 1) {
        plaintext = Buffer.allocUnsafe(bytes);
        let offset = 0;
        for (const message of batch) {
          message.copy(plaintext, offset);
          offset += message.length;
        }
      }
      frames.push(this.sealer!.sealFrame(plaintext));
      this.stats.framesOut++;
      batch = [];
      bytes = 0;
    };
    const highWater = this.options.bulkHighWaterBytes ?? 1024 * 1024;
    for (const priority of priorities) {
      const queue = this.queues[priority];
      if (queue.bytes === 0) continue;
      if (priority === 'bulk' && this.options.socket.writableLength >= highWater) break;
      let taken = 0;
      // Each pass moves one message: bounded by the queue length.
      for (; taken < queue.parts.length; taken++) {
        const message = queue.parts[taken]!;
        const size = message.length;
        // A bulk message (a genome piece) goes in a frame of its own: the receiver can open and
        // use each as soon as it arrives instead of waiting for a megabyte batch.
        if (bytes + size > this.maxBatchBytes || (priority === 'bulk' && bytes > 0)) seal();
        batch.push(message);
        bytes += size;
        queue.bytes -= size;
        this.stats.messagesOut++;
        if (priority === 'bulk' && this.options.socket.writableLength + bytes >= highWater) {
          taken++;
          break;
        }
      }
      queue.parts = taken >= queue.parts.length ? [] : queue.parts.slice(taken);
    }
    seal();
    if (frames.length === 0) return;
    const socket = this.options.socket;
    if (frames.length === 1) socket.write(frames[0]!);
    else {
      // One writev for all the frames, without copying them into one buffer.
      socket.cork();
      for (const frame of frames) socket.write(frame);
      socket.uncork();
    }
    for (const frame of frames) this.stats.bytesOut += frame.length;
    if (this.queues.bulk.bytes === 0 && this.listenerCount('bulk-drain') > 0) this.emit('bulk-drain');
  }

  /**
   * Asks the peer to answer now: `done(true)` when the pong to a fresh ping arrives within
   * `timeoutMs`, `done(false)` on timeout or close. Tells a live peer from one whose socket merely
   * looks open (a machine switched off) sooner than the heartbeat would.
   */
  probe(timeoutMs: number, done: (answered: boolean) => void): void {
    if (this.stateValue !== 'open') return done(false);
    const n = ++this.pingNumber;
    const timer = this.options.clock.setTimeout(() => this.settleProbes((probe) => probe.n === n, false), timeoutMs);
    this.probes.push({ n, timer, done });
    this.send({ t: 'ping', n, ts: this.options.clock.monotonic() }, 'control');
  }

  private settleProbes(which: (probe: { n: number }) => boolean, answered: boolean): void {
    const settled = this.probes.filter(which);
    if (settled.length === 0) return;
    this.probes = this.probes.filter((probe) => !settled.includes(probe));
    for (const probe of settled) {
      probe.timer.cancel();
      probe.done(answered);
    }
  }

  /**
   * Closes the session. `graceful`: flush, send `bye` (by default one naming the reason),
   * half-close and keep reading until the peer closes too (messages it already sent are still
   * delivered); otherwise destroy at once.
   */
  close(reason: string, detail?: string, graceful = false, bye: Extract<SessionMessage, { t: 'bye' }> = { t: 'bye', reason }): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'closing') {
      if (!graceful) this.options.socket.destroy();
      return;
    }
    const wasOpen = this.stateValue === 'open';
    this.closeReason = reason;
    this.options.counters.add(`session.closed.${reason}`);
    const who = this.remote ? this.remote.remoteNodeId.slice(0, 7) : this.options.label;
    const line = `session ${who} closed: ${reason}${detail ? ` (${detail})` : ''}`;
    if (graceful || reason === 'remote-closed' || reason === 'duplicate') this.logger.debug(line);
    else this.logger.warn(line);
    if (graceful && wasOpen) {
      // What was queued goes first, then the bye.
      this.flush();
      this.send(bye, 'control');
      this.flush();
    }
    this.stateValue = 'closing';
    this.settleProbes(() => true, false);
    this.scheduler.cancel(this);
    this.stopKeepalive();
    this.deadline?.cancel();
    this.deadline = undefined;
    if (graceful && wasOpen) {
      this.options.socket.end();
      this.deadline = this.options.clock.setTimeout(() => this.options.socket.destroy(), 2000);
    } else {
      this.options.socket.destroy();
    }
  }

  private isClosed(): boolean {
    return this.stateValue === 'closed';
  }

  private finish(): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue !== 'closing') {
      this.closeReason = 'remote-closed';
      this.options.counters.add('session.closed.remote-closed');
    }
    this.stateValue = 'closed';
    this.settleProbes(() => true, false);
    this.scheduler.cancel(this);
    this.stopKeepalive();
    this.deadline?.cancel();
    this.deadline = undefined;
    this.sealer?.destroy();
    this.opener?.destroy();
    this.queues.control = { parts: [], bytes: 0 };
    this.queues.chat = { parts: [], bytes: 0 };
    this.queues.bulk = { parts: [], bytes: 0 };
    this.emit('close', this.closeReason ?? 'closed');
  }

  private onData(chunk: Buffer): void {
    if (this.stateValue === 'closed') return;
    this.stats.bytesIn += chunk.length;
    this.decoder.append(chunk);
    // One frame at a time, in order: the handshake's last frame raises the frame limit before the
    // frames behind it in the same chunk are measured. A failure stops the loop and closes.
    for (let frame = this.decoder.next(); frame !== undefined; frame = this.decoder.next()) {
      if (this.isClosed()) return;
      if (this.handshake) this.onHandshakeFrame(frame);
      else this.onSealedFrame(frame);
      if (this.closeReason !== undefined && this.stateValue !== 'open' && !this.acceptsAfterClose()) return;
    }
    const error = this.decoder.error;
    if (error !== undefined) this.close(error.startsWith('oversized') ? 'oversized-frame' : 'bad-frame', error, false);
  }

  /** A gracefully closing session still reads what the peer sent before it saw our bye. */
  private acceptsAfterClose(): boolean {
    return this.stateValue === 'closing' && this.opener !== undefined && this.options.socket.readable;
  }

  private onHandshakeFrame(frame: Buffer): void {
    const handshake = this.handshake!;
    if (!handshake.initiator && this.options.checkFirstMessage && this.stats.framesIn === 0) {
      const refusal = this.options.checkFirstMessage(frame);
      if (refusal !== undefined) {
        this.close('handshake-refused', refusal, false);
        return;
      }
    }
    this.stats.framesIn++;
    let step;
    try {
      step = handshake.receive(frame);
    } catch (error) {
      this.close('handshake-failed', error instanceof HandshakeError ? error.reason : String(error), false);
      return;
    }
    if (step.send) this.options.socket.write(encodeFrame(step.send));
    if (step.done) {
      this.handshake = undefined;
      this.remote = step.done;
      this.sealer = new Sealer(step.done.sendKey, this.options.clock, this.options.rekey);
      this.opener = new Opener(step.done.receiveKey);
      step.done.sendKey.fill(0);
      step.done.receiveKey.fill(0);
      this.decoder.setMaxFrameBytes(this.maxFrameBytes);
      this.deadline?.cancel();
      this.deadline = undefined;
      this.stateValue = 'open';
      this.logger = this.options.logger.child(step.done.remoteNodeId.slice(0, 7));
      this.lastReceived = this.options.clock.monotonic();
      if (step.done.remoteNodeId < this.options.local.identity.nodeId) this.quietMs = this.heartbeatMs * 1.4;
      this.armKeepalive(this.lastReceived + this.quietMs);
      this.emit('open', step.done);
      // One ping at once: the round trip and the peer's clock are known from the start, not
      // only after the first quiet heartbeat.
      if (this.stateValue === 'open') {
        this.pinged = true;
        this.send({ t: 'ping', n: ++this.pingNumber, ts: this.options.clock.monotonic() }, 'control');
      }
    }
  }

  /*
   * Keepalive and failure detection cost nothing while traffic flows both ways and one ping and
   * pong per `heartbeatMs` when a session is quiet (a 750 ms interval per session made idle CPU
   * grow with the number of peers). Only one side pings (both used to, with timers that fired
   * together), and deadlines fall on a grid so that a node's sessions share their wake-ups: on
   * this machine every wake-up of an idle process costs 0.3-0.8 ms of CPU, whatever it does.
   * A peer is declared dead only when something we sent has gone unanswered
   * (no frame at all came back) for `deadAfterMs`: a peer whose event loop stalls for seconds under
   * load still answers within that bound and keeps its session, instead of being dropped and
   * redialed, which costs more than the stall.
   */

  /** Makes the keepalive timer fire no later than `due` (monotonic ms). */
  private armKeepalive(exactDue: number): void {
    const due = Math.ceil(exactDue / this.keepaliveGridMs) * this.keepaliveGridMs;
    if (this.keepalive && due >= this.keepaliveDue) return;
    this.keepalive?.cancel();
    this.keepaliveDue = due;
    this.keepalive = this.options.clock.setTimeout(() => this.onKeepalive(), Math.max(0, due - this.options.clock.monotonic()));
  }

  private stopKeepalive(): void {
    this.keepalive?.cancel();
    this.keepalive = undefined;
    this.keepaliveDue = Infinity;
  }

  private onKeepalive(): void {
    this.keepalive = undefined;
    this.keepaliveDue = Infinity;
    if (this.stateValue !== 'open') return;
    const now = this.options.clock.monotonic();
    const waiting = this.sentUnanswered;
    if (waiting !== undefined && now - waiting >= this.deadAfterMs) {
      this.close('heartbeat-timeout', `no answer for ${Math.round(now - waiting)} ms`, false);
      return;
    }
    const quiet = now - this.lastReceived >= this.quietMs;
    if (!this.pinged && (quiet || (waiting !== undefined && now - waiting >= this.probeAfterMs))) {
      this.pinged = true;
      this.send({ t: 'ping', n: ++this.pingNumber, ts: now }, 'control');
    }
    const sent = this.sentUnanswered;
    if (sent === undefined) this.armKeepalive(this.lastReceived + this.quietMs);
    else this.armKeepalive(sent + (this.pinged ? this.deadAfterMs : this.probeAfterMs));
  }

  private onSealedFrame(frame: Buffer): void {
    this.stats.framesIn++;
    const plaintext = this.opener?.open(frame);
    if (!plaintext) {
      this.close('auth-failed', 'a frame did not authenticate', false);
      return;
    }
    this.lastReceived = this.options.clock.monotonic();
    this.sentUnanswered = undefined;
    this.pinged = false;
    // The whole batch in one decoder pass; the messages before a malformed one still count.
    const batch = decodeBatch(plaintext);
    // Bounded by the number of values decoded.
    for (const value of batch.values) {
      const decoded = toSessionMessage(value);
      if (!decoded.ok || !isRecord(decoded.value) || !messageTypes.has(decoded.value.t as SessionMessageType)) {
        return this.close('malformed-message', decoded.ok ? 'unknown message' : decoded.error, false);
      }
      this.stats.messagesIn++;
      const message = decoded.value as SessionMessage;
      if (message.t === 'ping') {
        if (typeof message.n === 'number' && typeof message.ts === 'number') this.sendEncoded(encodeSessionMessage({ t: 'pong', n: message.n, ts: message.ts, w: this.options.clock.now() }), 'control', false);
        continue;
      }
      if (message.t === 'pong') {
        if (typeof message.ts === 'number') {
          const rtt = this.options.clock.monotonic() - message.ts;
          this.emit('rtt', rtt);
          // Its clock read `w` about half a round trip ago.
          if (typeof message.w === 'number' && Number.isFinite(message.w)) this.emit('clock', message.w + rtt / 2 - this.options.clock.now());
        }
        if (typeof message.n === 'number' && this.probes.length > 0) this.settleProbes((probe) => probe.n <= message.n, true);
        continue;
      }
      try {
        this.emit('message', message);
      } catch (error) {
        // A bug in a handler must not take the session (or the node) down with it.
        this.options.counters.add('session.handler-error');
        this.logger.error(`message handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      if (this.stateValue === 'closed') return;
    }
    if (batch.error !== undefined && this.stateValue !== 'closed') this.close('malformed-batch', batch.error, false);
  }
}
