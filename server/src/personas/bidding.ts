/**
 * Who answers when several could: rounds of bids among the nodes of the mesh.
 *
 * A human's message that mentions nobody is open for bids: every node scores its eligible personas
 * (relevance.ts), publishes its bids on `/personas/bids`, waits `bidWindowMs` and then picks the best
 * bid it knows (score, then a hash of message and bidder as a tie-break every node computes the
 * same); only the node hosting the winner answers, so one question gets one answer mesh-wide.
 * The same persona file is often hosted by several nodes (it lives in the shared repository): a
 * mention by text only, or by the keys of several hosts, is settled by a round among the hosts
 * (mention bids, all scored {@link mentionScore}), so it is answered once.
 */
import { createHash } from 'node:crypto';
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { MeshPort, PortMessage } from '../kernel/meshPort';
import type { ChatMessage } from '../../../protocol/rooms';
import { personaIdPattern } from './schema';

/** A persona's offer to answer a message nobody was mentioned in. */
export interface Bid {
  messageId: string;
  roomId: string;
  nodeId: string;
  personaId: string;
  score: number;
  /** A round among the nodes hosting a mentioned persona (score {@link mentionScore}). */
  mention?: boolean;
}

/** The score of a mention bid: above any relevance bid. */
export const mentionScore = 1000;

export const bidTopic = '/personas/bids';

/** Best bid first: higher score, then the lower hash of (message, bidder), the same on every node. */
export function compareBids(a: Bid, b: Bid): number {
  return b.score - a.score || (bidTieKey(a) < bidTieKey(b) ? -1 : bidTieKey(a) > bidTieKey(b) ? 1 : 0);
}

function bidTieKey(bid: Bid): string {
  return createHash('sha256').update(`${bid.messageId}|${bid.nodeId}/${bid.personaId}`).digest('hex');
}

// Message ids (`origin:roomSeq`) are unique within a room only: every key carries the room.
function roundKey(bid: Pick<Bid, 'roomId' | 'messageId' | 'personaId' | 'mention'>): string {
  return bid.mention ? `${bid.roomId}/${bid.messageId}|@${bid.personaId}` : `${bid.roomId}/${bid.messageId}`;
}

export const messageKey = (roomId: string, messageId: string): string => `${roomId}/${messageId}`;

interface BidRound {
  bids: Bid[];
  message?: ChatMessage;
  timer?: TimerHandle;
}

/** Rounds kept at once (the oldest goes first); questions already answered remembered. */
const maxRounds = 500;
const maxAnswered = 5000;

export interface BidRoundsOptions {
  /** This node's id (read when needed: the rooms know it). */
  nodeId: () => string;
  clock: Clock;
  logger: Logger;
  /** Where bids travel; without it only this node's personas compete. */
  transport?: Pick<MeshPort, 'publish' | 'subscribe'> | undefined;
  /** How long bids are collected before the best one answers. */
  bidWindowMs: number;
  /** This node's bid won the round of `message`: answer it. */
  won: (best: Bid, message: ChatMessage) => void;
}

export class BidRounds {
  private readonly rounds = new Map<string, BidRound>();
  /** Messages some persona replied to (bounded). */
  private readonly answered = new Set<string>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: BidRoundsOptions) {}

  start(): void {
    this.unsubscribe = this.options.transport?.subscribe(bidTopic, (message) => this.receive(message));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const round of this.rounds.values()) round.timer?.cancel();
    this.rounds.clear();
  }

  /** Offers this node's relevance bids for a message that mentions nobody. */
  open(message: ChatMessage, bids: Bid[]): void {
    if (bids.length > 0) this.openRound(messageKey(message.roomId, message.id), message, bids);
  }

  /** Offers to answer a mention that other nodes may also host the persona for. */
  openMention(message: ChatMessage, personaId: string): void {
    const bid: Bid = { messageId: message.id, roomId: message.roomId, nodeId: this.options.nodeId(), personaId, score: mentionScore, mention: true };
    this.openRound(roundKey(bid), message, [bid]);
  }

  /** A persona's reply settles the question it answers: a late round for it stays silent. */
  noteAnswered(roomId: string, messageId: string): void {
    this.answered.add(messageKey(roomId, messageId));
    if (this.answered.size > maxAnswered) this.answered.delete(this.answered.values().next().value!);
  }

  private openRound(key: string, message: ChatMessage, bids: Bid[]): void {
    const round = this.roundOf(key);
    round.message = message;
    round.bids.push(...bids);
    try {
      this.options.transport?.publish(bidTopic, { bids });
    } catch (error) {
      this.options.logger.debug(`bids not sent: ${(error as Error).message}`);
    }
    round.timer ??= this.options.clock.setTimeout(() => this.decide(key), this.options.bidWindowMs);
  }

  private roundOf(key: string): BidRound {
    let round = this.rounds.get(key);
    if (!round) {
      round = { bids: [] };
      this.rounds.set(key, round);
      if (this.rounds.size > maxRounds) {
        const [oldest, stale] = this.rounds.entries().next().value!;
        stale.timer?.cancel();
        this.rounds.delete(oldest);
      }
    }
    return round;
  }

  private receive(message: PortMessage): void {
    const bids = (message.body as { bids?: unknown } | null)?.bids;
    if (!Array.isArray(bids) || bids.length > 100) return;
    for (const raw of bids as unknown[]) {
      const bid = raw as Partial<Bid> | null;
      if (
        !bid ||
        bid.nodeId !== message.from ||
        typeof bid.messageId !== 'string' ||
        bid.messageId.length > 200 ||
        typeof bid.roomId !== 'string' ||
        typeof bid.personaId !== 'string' ||
        !personaIdPattern.test(bid.personaId) ||
        typeof bid.score !== 'number' ||
        !Number.isFinite(bid.score) ||
        bid.score <= 0 ||
        bid.score > mentionScore ||
        (bid.mention !== undefined && typeof bid.mention !== 'boolean')
      ) {
        this.options.logger.debug(`dropped a malformed bid from ${message.from.slice(0, 7)}`);
        continue;
      }
      const mention = bid.mention === true;
      if (mention !== (bid.score === mentionScore)) continue;
      const round = this.roundOf(roundKey({ roomId: bid.roomId, messageId: bid.messageId, personaId: bid.personaId, mention }));
      if (!round.bids.some((b) => b.nodeId === bid.nodeId && b.personaId === bid.personaId)) {
        round.bids.push({ messageId: bid.messageId, roomId: bid.roomId, nodeId: bid.nodeId, personaId: bid.personaId, score: bid.score, ...(mention ? { mention } : {}) });
      }
    }
  }

  /** The bid window closed: the node of the best bid answers. */
  private decide(key: string): void {
    const round = this.rounds.get(key);
    this.rounds.delete(key);
    const message = round?.message;
    if (!round || !message) return;
    const best = [...round.bids].sort(compareBids)[0];
    if (!best) return;
    this.options.logger.debug(`bids for ${key}: ${round.bids.map((b) => `${b.personaId}@${b.nodeId.slice(0, 7)}=${b.score}`).join(', ')}; ${best.personaId}@${best.nodeId.slice(0, 7)} answers`);
    if (best.nodeId !== this.options.nodeId()) return;
    if (!best.mention && this.answered.has(messageKey(message.roomId, message.id))) {
      this.options.logger.debug(`${message.id}: another persona answered already`);
      return;
    }
    this.options.won(best, message);
  }
}
