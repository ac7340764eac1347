/**
 * One genome being downloaded. Every blob of the manifest that is not complete here is cut into
 * its pieces ("slots"); each up peer is asked which pieces it has, and pieces are requested from
 * several peers at once (rarest first, endgame at the end: see piecePicker.ts), as many in
 * flight per peer as its delay-based window allows (requestWindow.ts). Each piece is checked
 * against the manifest's SHA-256 before it is written at its offset in the partial blob; only
 * then is its bit set in the database, so after a kill -9 the download resumes with exactly the
 * pieces it had verified. A bad piece is fetched again
 * from another peer, and a peer that sends two bad pieces is dropped from this download.
 */
import { EventEmitter } from 'node:events';
import type { Clock, Random, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { GenomeDirect, GenomeManifest, GenomePieceMessage, GenomeProgress } from '../../../protocol/genomes';
import type { BlobStore } from './blobStore';
import { GenomeError } from './errors';
import type { GenomeIndex } from './genomeIndex';
import { PiecePicker } from './piecePicker';
import { RequestWindow, type RequestWindowOptions } from './requestWindow';
import { Bitmap, pieceCount, pieceRange, sha256Hex } from './pieces';

export interface DownloadOptions {
  id: string;
  manifest: GenomeManifest;
  index: GenomeIndex;
  blobs: BlobStore;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Sends a direct message to one peer. */
  send(peer: string, message: GenomeDirect): void;
  upPeers(): string[];
  /** Requests in flight per peer, fixed; by default each peer's window adapts to its round trips. */
  window?: number;
  /** How those windows adapt (requestWindow.ts defaults). */
  requestWindow?: RequestWindowOptions;
  requestTimeoutMs?: number;
  /** Bytes per second to request at most (0 or undefined: no limit). */
  maxBytesPerSecond?: number;
  /** Bad pieces after which a peer is dropped from the download. */
  maxBadPieces?: number;
  /** How often peers are asked again what they have while pieces are missing. */
  reaskMs?: number;
  /** Fails with `no-holders` when no peer has any missing piece for this long. Default 30 s. */
  stallMs?: number;
}

export interface DownloadEvents {
  progress: [GenomeProgress];
  piece: [{ blob: string; piece: number; from: string }];
  'bad-piece': [{ blob: string; piece: number; from: string; reason: string }];
  done: [];
  failed: [GenomeError];
}

interface Slot {
  blob: string;
  piece: number;
  hash: string;
  offset: number;
  length: number;
}

export class Download extends EventEmitter<DownloadEvents> {
  private readonly slots: Slot[] = [];
  private readonly slotByKey = new Map<string, number>();
  /** Each missing blob's slots, with its bitmap of verified pieces as stored in the database. */
  private readonly blobSlots = new Map<string, { first: number; count: number; size: number; stored: Bitmap; left: number }>();
  private readonly done: Bitmap;
  private readonly picker: PiecePicker;
  private readonly peerHave = new Map<string, Map<string, Bitmap | 'all'>>();
  private readonly requests = new Map<string, { peer: string; slot: number; timer: TimerHandle; sentAt: number }>();
  private readonly windows = new Map<string, RequestWindow>();
  private readonly bad = new Map<string, number>();
  private readonly banned = new Set<string>();
  private readonly writing = new Set<number>();
  private readonly sources = new Set<string>();
  private reaskTimer: TimerHandle | undefined;
  private rateTimer: TimerHandle | undefined;
  private nextRequestAt = 0;
  private finished = false;
  private finishing = false;
  private totalBytes = 0;
  private missingBytes = 0;
  private doneCount = 0;

  constructor(private readonly options: DownloadOptions) {
    super();
    const { manifest, index, blobs } = options;
    const seen = new Set<string>();
    for (const layer of manifest.layers) {
      if (seen.has(layer.blob)) continue;
      seen.add(layer.blob);
      this.totalBytes += layer.size;
      if (blobs.has(layer.blob)) continue;
      const first = this.slots.length;
      const count = pieceCount(layer.size);
      this.blobSlots.set(layer.blob, { first, count, size: layer.size, stored: index.bitmap(layer.blob, count), left: count });
      for (let piece = 0; piece < count; piece++) {
        const { offset, length } = pieceRange(layer.size, piece);
        this.slotByKey.set(`${layer.blob}:${piece}`, this.slots.length);
        this.slots.push({ blob: layer.blob, piece, hash: layer.pieces[piece]!, offset, length });
      }
    }
    this.done = new Bitmap(this.slots.length);
    for (const range of this.blobSlots.values()) {
      for (let piece = 0; piece < range.count; piece++) if (range.stored.has(piece)) this.markDone(range.first + piece);
      range.left = range.count - range.stored.count();
    }
    for (let slot = 0; slot < this.slots.length; slot++) if (!this.done.has(slot)) this.missingBytes += this.slots[slot]!.length;
    this.picker = new PiecePicker(this.slots.length, this.done, options.random);
  }

  get id(): string {
    return this.options.id;
  }

  /** Slots verified so far (at construction: those of an earlier run). */
  get piecesDone(): number {
    return this.doneCount;
  }

  private markDone(slot: number): void {
    if (this.done.has(slot)) return;
    this.done.set(slot);
    this.doneCount++;
  }

  private get complete(): boolean {
    return this.doneCount === this.slots.length;
  }

  start(): void {
    this.emitProgress('active');
    if (this.complete) {
      this.finish();
      return;
    }
    for (const peer of this.options.upPeers()) this.ask(peer);
    const reask = this.options.reaskMs ?? 3000;
    let stalledSince = this.options.clock.monotonic();
    this.reaskTimer = this.options.clock.setInterval(() => {
      const now = this.options.clock.monotonic();
      if (this.anyHolder() || this.requests.size > 0 || this.writing.size > 0) stalledSince = now;
      else if (now - stalledSince >= (this.options.stallMs ?? 30_000)) {
        this.fail(new GenomeError('no-holders', `no peer holds the missing pieces of genome "${this.options.manifest.name}" (${this.progress('active').piecesDone} of ${this.slots.length} pieces here); the verified pieces are kept, download it again when a holder is online`));
        return;
      }
      // Peers that had nothing may have got pieces since (they download too) or just joined.
      for (const peer of this.options.upPeers()) if (!this.banned.has(peer)) this.ask(peer);
    }, reask);
  }

  stop(): void {
    this.finished = true;
    this.reaskTimer?.cancel();
    this.rateTimer?.cancel();
    for (const request of this.requests.values()) request.timer.cancel();
    this.requests.clear();
    this.removeAllListeners();
  }

  private anyHolder(): boolean {
    for (let slot = 0; slot < this.slots.length; slot++) if (!this.done.has(slot) && this.picker.holders(slot) > 0) return true;
    return false;
  }

  /** Blobs this download fetches (the service routes `have` answers and pieces by blob). */
  blobsWanted(): string[] {
    return [...this.blobSlots.keys()];
  }

  peerUp(peer: string): void {
    if (!this.finished && !this.banned.has(peer)) this.ask(peer);
  }

  peerDown(peer: string): void {
    this.peerHave.delete(peer);
    this.windows.delete(peer);
    this.picker.removePeer(peer);
    for (const [key, request] of this.requests) {
      if (request.peer !== peer) continue;
      request.timer.cancel();
      this.requests.delete(key);
    }
    this.pumpAll();
  }

  /** A peer's answer to `have?`. */
  onHave(peer: string, blob: string, bitmap: Uint8Array | undefined, complete: boolean): void {
    const range = this.blobSlots.get(blob);
    if (!range || this.finished || this.banned.has(peer)) return;
    const have = this.peerHave.get(peer) ?? new Map<string, Bitmap | 'all'>();
    have.set(blob, complete ? 'all' : new Bitmap(range.count, bitmap));
    this.peerHave.set(peer, have);
    this.applyHave(peer);
    this.pump(peer);
  }

  onPiece(peer: string, message: GenomePieceMessage): void {
    const slot = this.slotByKey.get(`${message.blob}:${message.piece}`);
    if (slot === undefined || this.finished) return;
    const key = `${peer}:${slot}`;
    const request = this.requests.get(key);
    // Only answers to our requests count: a peer cannot push pieces nobody asked for.
    if (!request) return;
    request.timer.cancel();
    this.requests.delete(key);
    this.picker.release(peer, slot);
    if (message.error !== undefined || !(message.data instanceof Uint8Array)) {
      this.options.logger.debug(`genome ${this.id.slice(0, 12)}: ${peer.slice(0, 7)} has no piece ${message.piece} of blob ${message.blob.slice(0, 12)}: ${String(message.error)}`);
      this.forget(peer, slot);
      this.pumpAll();
      return;
    }
    // Only a piece's own round trip says how the link is doing (a refusal is small and quick).
    const now = this.options.clock.monotonic();
    this.windowOf(peer).onPiece(now - request.sentAt, now);
    if (this.done.has(slot) || this.writing.has(slot)) {
      this.pump(peer);
      return;
    }
    const info = this.slots[slot]!;
    const data = message.data;
    if (data.length !== info.length || sha256Hex(data) !== info.hash) {
      this.penalise(peer, info, data.length !== info.length ? `${data.length} bytes instead of ${info.length}` : 'SHA-256 mismatch');
      this.pumpAll();
      return;
    }
    this.writing.add(slot);
    void this.store(peer, slot, info, data);
    this.pump(peer);
  }

  private async store(peer: string, slot: number, info: Slot, data: Uint8Array): Promise<void> {
    try {
      await this.options.blobs.writePiece(info.blob, info.offset, data);
      if (this.finished) return;
      const range = this.blobSlots.get(info.blob)!;
      range.stored.set(info.piece);
      this.options.index.saveBitmap(info.blob, range.stored);
      this.writing.delete(slot);
      this.markDone(slot);
      this.missingBytes -= info.length;
      for (const other of this.picker.complete(slot)) {
        const key = `${other}:${slot}`;
        this.requests.get(key)?.timer.cancel();
        this.requests.delete(key);
      }
      this.sources.add(peer);
      this.emit('piece', { blob: info.blob, piece: info.piece, from: peer });
      this.emitProgress('active');
      if (--range.left === 0) {
        await this.options.blobs.complete(info.blob);
        this.options.index.dropBitmap(info.blob);
      }
      if (this.complete) this.finish();
      else this.pumpAll();
    } catch (error) {
      this.writing.delete(slot);
      this.fail(error instanceof GenomeError ? error : new GenomeError('io', `cannot store a piece of genome ${this.id.slice(0, 12)}…: ${(error as Error).message}`));
    }
  }

  private finish(): void {
    if (this.finishing) return;
    this.finishing = true;
    this.finished = true;
    this.reaskTimer?.cancel();
    this.rateTimer?.cancel();
    this.emitProgress('complete');
    this.emit('done');
  }

  private fail(error: GenomeError): void {
    if (this.finished) return;
    this.finished = true;
    this.reaskTimer?.cancel();
    this.rateTimer?.cancel();
    this.emitProgress('failed', error.message);
    this.emit('failed', error);
  }

  private penalise(peer: string, info: Slot, reason: string): void {
    const count = (this.bad.get(peer) ?? 0) + 1;
    this.bad.set(peer, count);
    this.options.logger.warn(`genome ${this.id.slice(0, 12)}: bad piece ${info.piece} of blob ${info.blob.slice(0, 12)}… from ${peer.slice(0, 7)} (${reason}); fetching it elsewhere`);
    this.emit('bad-piece', { blob: info.blob, piece: info.piece, from: peer, reason });
    if (count >= (this.options.maxBadPieces ?? 2)) {
      this.options.logger.warn(`genome ${this.id.slice(0, 12)}: dropping ${peer.slice(0, 7)} from this download after ${count} bad pieces`);
      this.banned.add(peer);
      this.peerDown(peer);
    } else {
      this.forget(peer, this.slotByKey.get(`${info.blob}:${info.piece}`)!);
    }
  }

  /** The peer does not have (or sent garbage for) this piece: do not ask it again for it. */
  private forget(peer: string, slot: number): void {
    const have = this.peerHave.get(peer);
    if (!have) return;
    const info = this.slots[slot]!;
    const range = this.blobSlots.get(info.blob)!;
    const pieces = have.get(info.blob);
    if (pieces === undefined) return;
    const next = pieces === 'all' ? Bitmap.full(range.count) : pieces;
    const copy = new Bitmap(range.count);
    for (let i = 0; i < range.count; i++) if (next.has(i) && i !== info.piece) copy.set(i);
    have.set(info.blob, copy);
    this.applyHave(peer);
  }

  /** Tells the picker what the peer has now, keeping its requests in flight. */
  private applyHave(peer: string): void {
    const have = this.peerHave.get(peer);
    if (!have) return;
    const combined = new Bitmap(this.slots.length);
    for (const [b, pieces] of have) {
      const r = this.blobSlots.get(b)!;
      for (let piece = 0; piece < r.count; piece++) if (pieces === 'all' || pieces.has(piece)) combined.set(r.first + piece);
    }
    const inFlight = [...this.requests.values()].filter((r) => r.peer === peer).map((r) => r.slot);
    this.picker.setHave(peer, combined);
    for (const slot of inFlight) this.picker.markRequested(peer, slot);
  }

  private ask(peer: string): void {
    for (const blob of this.blobSlots.keys()) this.options.send(peer, { t: 'have?', blob });
  }

  private windowOf(peer: string): RequestWindow {
    let window = this.windows.get(peer);
    if (!window) {
      window = new RequestWindow(this.options.requestWindow);
      this.windows.set(peer, window);
    }
    return window;
  }

  private pumpAll(): void {
    for (const peer of this.picker.peers()) this.pump(peer);
  }

  private pump(peer: string): void {
    if (this.finished || this.banned.has(peer)) return;
    const window = this.options.window ?? this.windowOf(peer).requests;
    let inFlight = 0;
    for (const request of this.requests.values()) if (request.peer === peer) inFlight++;
    const rate = this.options.maxBytesPerSecond ?? 0;
    while (inFlight < window) {
      if (rate > 0) {
        const now = this.options.clock.monotonic();
        if (now < this.nextRequestAt) {
          this.rateTimer ??= this.options.clock.setTimeout(() => {
            this.rateTimer = undefined;
            this.pumpAll();
          }, this.nextRequestAt - now);
          return;
        }
      }
      const slot = this.picker.pick(peer);
      if (slot === undefined) return;
      const info = this.slots[slot]!;
      if (rate > 0) this.nextRequestAt = Math.max(this.nextRequestAt, this.options.clock.monotonic()) + (info.length / rate) * 1000;
      const key = `${peer}:${slot}`;
      const timer = this.options.clock.setTimeout(() => {
        this.requests.delete(key);
        this.picker.release(peer, slot);
        this.windowOf(peer).onTimeout();
        this.options.logger.debug(`genome ${this.id.slice(0, 12)}: piece ${info.piece} from ${peer.slice(0, 7)} timed out`);
        this.pumpAll();
      }, this.options.requestTimeoutMs ?? 15_000);
      this.requests.set(key, { peer, slot, timer, sentAt: this.options.clock.monotonic() });
      this.options.send(peer, { t: 'get', blob: info.blob, piece: info.piece });
      inFlight++;
    }
  }

  progress(state: GenomeProgress['state'], error?: string): GenomeProgress {
    return {
      id: this.id,
      state,
      bytes: this.totalBytes - this.missingBytes,
      totalBytes: this.totalBytes,
      piecesDone: this.doneCount,
      pieces: this.slots.length,
      sources: [...this.sources],
      ...(error ? { error } : {}),
    };
  }

  private emitProgress(state: GenomeProgress['state'], error?: string): void {
    this.emit('progress', this.progress(state, error));
  }
}
