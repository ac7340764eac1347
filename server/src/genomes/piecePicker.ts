/**
 * Which piece to ask which peer for next. Rarest first: among the pieces a peer has that nobody
 * is fetching yet, the one the fewest peers have (ties broken at random, so downloaders spread
 * over different pieces). Endgame: once every missing piece is being fetched, a free peer asks
 * for a piece already in flight elsewhere, so one slow peer does not hold up the last pieces.
 */
import type { Random } from '../kernel/clock';
import { Bitmap } from './pieces';

/** Most requests for one piece at once in the endgame. */
const maxEndgameDuplicates = 2;

export class PiecePicker {
  private readonly have = new Map<string, Bitmap>();
  private readonly availability: Uint16Array;
  private readonly inFlight = new Map<number, Set<string>>();

  constructor(
    readonly count: number,
    private readonly done: Bitmap,
    private readonly random: Random,
  ) {
    this.availability = new Uint16Array(count);
  }

  /** Replaces what `peer` has. */
  setHave(peer: string, bitmap: Bitmap): void {
    this.removePeer(peer);
    this.have.set(peer, bitmap);
    for (let i = 0; i < this.count; i++) if (bitmap.has(i)) this.availability[i]!++;
  }

  removePeer(peer: string): void {
    const old = this.have.get(peer);
    if (!old) return;
    this.have.delete(peer);
    for (let i = 0; i < this.count; i++) if (old.has(i)) this.availability[i]!--;
    for (const [piece, peers] of this.inFlight) {
      peers.delete(peer);
      if (peers.size === 0) this.inFlight.delete(piece);
    }
  }

  peers(): string[] {
    return [...this.have.keys()];
  }

  /** How many peers have the piece (for tests and progress). */
  holders(piece: number): number {
    return this.availability[piece] ?? 0;
  }

  /** The next piece `peer` should fetch (and records the request), or undefined. */
  pick(peer: string): number | undefined {
    const has = this.have.get(peer);
    if (!has) return undefined;
    let best: number[] = [];
    let bestAvailability = Infinity;
    let missing = 0;
    for (let i = 0; i < this.count; i++) {
      if (this.done.has(i)) continue;
      missing++;
      if (!has.has(i) || this.inFlight.has(i)) continue;
      const availability = this.availability[i]!;
      if (availability < bestAvailability) {
        bestAvailability = availability;
        best = [i];
      } else if (availability === bestAvailability) best.push(i);
    }
    if (best.length === 0 && missing > 0) {
      // Endgame: every missing piece this peer has is already asked of someone else.
      let fewest = maxEndgameDuplicates;
      for (const [piece, peers] of this.inFlight) {
        if (this.done.has(piece) || !has.has(piece) || peers.has(peer) || peers.size >= maxEndgameDuplicates) continue;
        if (peers.size < fewest) {
          fewest = peers.size;
          best = [piece];
        } else if (peers.size === fewest) best.push(piece);
      }
    }
    if (best.length === 0) return undefined;
    const piece = best[Math.floor(this.random.next() * best.length)]!;
    const peers = this.inFlight.get(piece) ?? new Set<string>();
    peers.add(peer);
    this.inFlight.set(piece, peers);
    return piece;
  }

  /** Records a request made before the peer's have-map changed. */
  markRequested(peer: string, piece: number): void {
    if (this.done.has(piece)) return;
    const peers = this.inFlight.get(piece) ?? new Set<string>();
    peers.add(peer);
    this.inFlight.set(piece, peers);
  }

  /** The request of `peer` for `piece` ended (answered, failed or timed out). */
  release(peer: string, piece: number): void {
    const peers = this.inFlight.get(piece);
    if (!peers) return;
    peers.delete(peer);
    if (peers.size === 0) this.inFlight.delete(piece);
  }

  /** A piece arrived verified: nobody needs to fetch it any more. Returns the peers still asked. */
  complete(piece: number): string[] {
    this.done.set(piece);
    const others = [...(this.inFlight.get(piece) ?? [])];
    this.inFlight.delete(piece);
    return others;
  }

  isInFlight(piece: number, peer: string): boolean {
    return this.inFlight.get(piece)?.has(peer) ?? false;
  }
}
