/**
 * A persona's reply as the room sees it while the brain writes it: one message when the brain
 * finishes quickly; a slower brain's reply is posted after `firstFlushMs` and then grown by edits
 * at most every `streamIntervalMs`, so a room is not flooded with an edit per token.
 */
import type { Clock, TimerHandle } from '../kernel/clock';
import type { Logger } from '../kernel/log';
import { participantKey, type ChatMessage, type ParticipantKind } from '../../../protocol/rooms';
import { fitMessage } from './mentions';

/** Who writes the reply (the persona as a room participant). */
export interface ReplyAuthor {
  participantId: string;
  displayName: string;
  kind: ParticipantKind;
}

/** What a reply needs of the rooms (Rooms fits). */
export interface RoomWriter {
  send(params: { roomId: string; text: string; replyTo: string; metadata: Record<string, unknown>; mentions: string[] }, as: ReplyAuthor): ChatMessage;
  edit(roomId: string, messageId: string, text: string, as: ReplyAuthor): ChatMessage;
}

export interface ReplyStreamOptions {
  rooms: RoomWriter;
  clock: Clock;
  logger: Logger;
  /** The message answered, the persona answering, and what the reply carries. */
  question: ChatMessage;
  as: ReplyAuthor;
  metadata: Record<string, unknown>;
  firstFlushMs: number;
  streamIntervalMs: number;
  /** False once the node stops: no new flush is scheduled. */
  running: () => boolean;
}

export class ReplyStream {
  private text = '';
  private posted: ChatMessage | undefined;
  private postedText = '';
  private timer: TimerHandle | undefined;

  constructor(private readonly options: ReplyStreamOptions) {}

  /** The message posted so far, if any. */
  get message(): ChatMessage | undefined {
    return this.posted;
  }

  get written(): string {
    return this.text;
  }

  push(chunk: string): void {
    this.text += chunk;
    if (this.timer || !this.options.running()) return;
    this.timer = this.options.clock.setTimeout(() => this.flush(), this.posted ? this.options.streamIntervalMs : this.options.firstFlushMs);
  }

  /** The brain is done: everything written is posted now. */
  finish(): ChatMessage | undefined {
    this.cancel();
    this.flush();
    return this.posted;
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const { rooms, question, as } = this.options;
    const roomId = question.roomId;
    const shown = fitMessage(this.text);
    if (shown.trim() === '' || shown === this.postedText) return;
    try {
      // Mention a human asker (a notification); a persona asker is only replied to, so it is not pinged into a loop.
      const ping = question.author.kind === 'human' ? [participantKey(question.author)] : [];
      if (!this.posted) this.posted = rooms.send({ roomId, text: shown, replyTo: question.id, metadata: this.options.metadata, mentions: ping }, as);
      else this.posted = rooms.edit(roomId, this.posted.id, shown, as);
      this.postedText = shown;
    } catch (error) {
      this.options.logger.warn(`${as.participantId} could not post in ${roomId}: ${(error as Error).message}`);
    }
  }
}
