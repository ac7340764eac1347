/**
 * What the parts of the rooms service (intake.ts, localWrites.ts, membership.ts, presenceLane.ts)
 * share, handed to each by rooms.ts. The log and the sync exist only while the node runs, so the
 * parts ask for them each time instead of holding them.
 */
import type { Clock } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import type { MeshPort } from '../kernel/meshPort';
import type { ChatMessage, CodeAttachment, RoomEvent, RoomSummary, TypingEvent } from '../../../protocol/rooms';
import type { ApplyOutcome, EventLog } from './eventLog';
import type { RoomSync } from './sync';

export interface RoomsContext {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly transport: MeshPort;
  /** Throws `unavailable` while the node is not running (Rooms.log). */
  readonly log: () => EventLog;
  readonly sync: () => RoomSync | undefined;
  /** False before start and from the first moment of stop: late messages change nothing then. */
  readonly running: () => boolean;
  /** A message was added or changed. */
  readonly message: (message: ChatMessage) => void;
  /** The room list, or a room's participants or their presence, changed. */
  readonly roomsChanged: () => void;
  /** Emits what applying an event brought: its messages, a change of members. */
  readonly notify: (outcome: ApplyOutcome) => void;
}

/** What a local write asks for (Rooms.send). */
export interface SendOptions {
  roomId: string;
  text: string;
  attachment?: CodeAttachment;
  replyTo?: string;
  mentions?: string[];
  metadata?: Record<string, unknown>;
}

export interface RoomsEvents {
  /** A message was added or changed (any room this node holds). */
  message: [ChatMessage];
  /** The room list, or a room's participants or their presence, changed. */
  roomsChanged: [RoomSummary[]];
  /** Someone on another node is typing. */
  typing: [TypingEvent];
  /** A received event broke a rule and was not applied (also logged). */
  refused: [{ event: RoomEvent; reason: string; from: string }];
}
