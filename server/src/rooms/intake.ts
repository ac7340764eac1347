/**
 * The intake of events from other nodes, live on a joined room's topic or in a sync batch: the
 * checks of validate.ts, the origin's signature, the authors' limits (authorLimits.ts), storing,
 * and a pull from the sender when a live event shows a gap. Typing indicators arrive on the same
 * topic and are taken in here too.
 */
import { topics } from '../../../protocol/mesh';
import { participantKey, roomWireLimits, type RoomEvent, type TypingEvent } from '../../../protocol/rooms';
import type { PortMessage } from '../kernel/meshPort';
import { limitKindOf, type LimitReport } from './authorLimits';
import type { RoomsEvents, RoomsContext } from './context';
import type { EventStatus } from './eventLog';
import type { HybridClock } from './hlc';
import type { OwnNumbering } from './ownNumbering';
import type { EventAuthenticator } from './signing';
import type { TypingTable } from './typing';
import { checkRemoteEvent } from './validate';

export interface IntakeOptions extends RoomsContext {
  readonly hlc: HybridClock;
  readonly numbering: OwnNumbering;
  readonly limitReport: LimitReport;
  readonly typingTable: TypingTable;
  readonly authenticator: EventAuthenticator | undefined;
  /** A received event broke a rule and was not applied (it is logged here). */
  readonly refused: (...refusal: RoomsEvents['refused']) => void;
  readonly typing: (event: TypingEvent) => void;
}

export class RoomIntake {
  constructor(private readonly options: IntakeOptions) {}

  onRoomMessage(roomId: string, message: PortMessage): void {
    if (!this.options.running()) return;
    const eventType = message.topic.slice(topics.chatRoom(roomId).length).split('/')[1];
    if (eventType === 'typing') {
      this.onTyping(roomId, message);
      return;
    }
    const body = message.body as Partial<RoomEvent> | null;
    if (body?.roomId !== roomId) {
      this.options.logger.debug(`dropped an event on ${message.topic} for another room`);
      return;
    }
    // Live events come from their origin; relayed copies of others' events travel by sync only.
    if (body.origin !== message.from) {
      this.options.logger.warn(`dropped an event from ${message.from.slice(0, 7)} claiming origin ${String(body.origin).slice(0, 7)}`);
      return;
    }
    this.applyReceived([body], message.from, true);
  }

  /** Validates and applies received events; returns how many were new. */
  applyReceived(values: unknown[], from: string, live: boolean): number {
    if (!this.options.running()) return 0;
    const { logger, authenticator, hlc, numbering } = this.options;
    const accepted: { event: RoomEvent; status: EventStatus }[] = [];
    const conflicts: RoomEvent[] = [];
    for (const value of values) {
      const verdict = checkRemoteEvent(value);
      if (verdict.kind === 'drop') {
        logger.warn(`dropped a room event from ${from.slice(0, 7)}: ${verdict.reason}`);
        continue;
      }
      const { event } = verdict;
      if (this.options.log().has(event.roomId, event.origin, event.roomSeq)) {
        if (event.origin === this.options.nodeId && this.differsFromOurs(event)) conflicts.push(event);
        continue;
      }
      // Over the limit and sent by its origin itself (the session proved who that is): it will be
      // dropped, so a flood costs no signature check. Relayed, it must be genuine before its key
      // is kept, or a forger could void the real event's place.
      const dropping = verdict.kind === 'accept' && from === event.origin && !this.options.log().withinLimit(event);
      if (authenticator && !dropping && !authenticator.verify(event)) {
        logger.warn(`dropped ${describe(event)} from ${from.slice(0, 7)}: it is not signed by its origin`);
        continue;
      }
      if (verdict.kind === 'refuse') {
        logger.warn(`refused ${describe(verdict.event)} from ${from.slice(0, 7)}: ${verdict.reason}`);
        this.options.refused({ event: verdict.event, reason: verdict.reason, from });
      } else if (verdict.kind === 'ignore') {
        logger.debug(`ignored ${describe(verdict.event)}: ${verdict.reason}`);
      }
      const status: EventStatus = verdict.kind === 'accept' ? 'ok' : verdict.kind === 'refuse' ? 'refused' : 'ignored';
      accepted.push({ event: verdict.event, status });
      if (status === 'ok' && !hlc.observe(verdict.event.hlc)) {
        logger.debug(`${describe(verdict.event)} is more than the allowed drift ahead of our clock; not adopting its time`);
      }
    }
    if (conflicts.length > 0) {
      logger.warn(`the mesh holds ${conflicts.length} event(s) of this node under numbers it used again: its database is older than what it wrote (restored from a backup, or a copied data folder); those numbers go to the mesh's events and this node's are written again after them`);
      for (const event of conflicts) this.yieldNumber(event);
    }
    if (accepted.length === 0) {
      numbering.rewriteLost();
      return 0;
    }
    const outcomes = this.options.log().applyRemote(accepted);
    // After this batch, so the rewritten events go after what it brought of ours.
    numbering.rewriteLost();
    let fresh = 0;
    let gap = false;
    let membersChanged = false;
    outcomes.forEach((outcome, index) => {
      if (!outcome.inserted) return;
      fresh++;
      const { event } = accepted[index]!;
      if (outcome.limited) {
        this.options.limitReport.note(participantKey(event.body.author), limitKindOf(event.body), from);
        return;
      }
      gap ||= outcome.gap;
      membersChanged ||= outcome.membersChanged;
      if (event.body.type === 'message' && accepted[index]!.status === 'ok') this.options.typingTable.clear(event.roomId, event.body.author);
      if (outcome.refusal) {
        logger.warn(`refused ${describe(event)} from ${from.slice(0, 7)}: ${outcome.refusal}`);
        this.options.refused({ event, reason: outcome.refusal, from });
      }
      for (const message of outcome.messages) this.options.message(message);
    });
    if (membersChanged) this.options.roomsChanged();
    if (live && gap) this.options.sync()?.gapSeen(from);
    return fresh;
  }

  /**
   * The mesh holds a different event of ours under a number we used: ours came from an older copy
   * of this node's database (ownNumbering.ts). Theirs takes the number, every node must agree on it.
   */
  private yieldNumber(theirs: RoomEvent): void {
    const mine = this.options.log().event(theirs.roomId, theirs.origin, theirs.roomSeq);
    if (!mine) return;
    this.options.notify(this.options.log().replaceOwn(theirs));
    this.options.numbering.lost(mine.event, mine.status === 'ok');
  }

  /** A genuine event of ours, as the mesh holds it, that is not the one we hold under its number. */
  private differsFromOurs(event: RoomEvent): boolean {
    const held = this.options.log().event(event.roomId, event.origin, event.roomSeq);
    if (!held || held.status === 'limited') return false;
    if (held.event.sig !== undefined && held.event.sig === event.sig) return false;
    if (JSON.stringify(held.event.body) === JSON.stringify(event.body) && held.event.hlc.wall === event.hlc.wall && held.event.hlc.logical === event.hlc.logical) return false;
    return !this.options.authenticator || this.options.authenticator.verify(event);
  }

  private onTyping(roomId: string, message: PortMessage): void {
    const body = message.body as Partial<TypingEvent> | null;
    if (!body || body.roomId !== roomId || typeof body.author !== 'object' || body.author === null) return;
    const author = body.author;
    if (author.nodeId !== message.from || typeof author.participantId !== 'string' || typeof author.displayName !== 'string') return;
    if (author.participantId.length > roomWireLimits.maxNameChars || author.displayName.length > roomWireLimits.maxNameChars) return;
    const kind = author.kind === 'persona' || author.kind === 'system' ? author.kind : 'human';
    const event = this.options.typingTable.seen(roomId, { nodeId: author.nodeId, participantId: author.participantId, displayName: author.displayName, kind }, Number(body.ttlMs));
    this.options.typing(event);
  }
}

function describe(event: RoomEvent): string {
  const type = typeof (event.body as { type?: unknown })?.type === 'string' ? (event.body as { type: string }).type : 'event';
  return `${type} ${event.origin.slice(0, 7)}:${event.roomSeq} in "${event.roomId}"`;
}
