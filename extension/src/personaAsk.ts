/**
 * Asks one persona of the mesh a question and streams its answer back: the question is posted in
 * a room the persona takes part in with a mention (so the hosting node runs the brain, the
 * exchange stays in the room's history and can be rated like any other), and the persona's reply
 * is followed as it is edited token batch by token batch.
 *
 * A room reply has no "finished" mark; the persona is busy while it writes, so the answer is
 * complete once the persona's presence in the room is no longer busy (after a short grace, since
 * presence travels on the lossy fast lane and may overtake the last edit), or when it has not
 * changed for `idleMs`.
 */
import type * as vscode from 'vscode';
import type { CodeAttachment, ChatMessage, RoomSummary } from '../../protocol/rooms';
import type { PersonaSummary } from '../../protocol/personas';
import { JoinRoomRequest, MessageNotification, RoomsChangedNotification, SendMessageRequest } from '../../protocol/roomsRpc';
import type { Ctx } from './ctx';

export interface AskOptions {
  persona: PersonaSummary;
  question: string;
  attachment?: CodeAttachment;
  /** Receives the answer's text as it grows (only appended text). */
  onText?: (delta: string) => void;
  token?: vscode.CancellationToken;
  /** No answer at all after this long: an error. Default 120 s. */
  firstAnswerTimeoutMs?: number;
  /** The answer is taken as complete when it has not changed for this long. Default 20 s. */
  idleMs?: number;
}

export interface AskResult {
  text: string;
  roomId: string;
  questionId: string;
  answerId: string;
  /** The user cancelled before the answer was complete. */
  cancelled: boolean;
}

/** A failure the user can read as is (the persona's own notice, or why nothing came). */
export class AskError extends Error {}

const graceMs = 400;

/** The room to ask in: `general` when the persona is there, else its first room. */
export function roomFor(persona: PersonaSummary): string {
  return persona.rooms.includes('general') || persona.rooms.length === 0 ? 'general' : persona.rooms[0]!;
}

export async function askPersona(ctx: Ctx, options: AskOptions): Promise<AskResult> {
  const { persona } = options;
  const roomId = roomFor(persona);
  const isAnswerAuthor = (message: ChatMessage): boolean => message.author.nodeId === persona.nodeId && message.author.participantId === persona.id;
  const disposables: vscode.Disposable[] = [];
  const early: ChatMessage[] = [];
  let onMessage: (message: ChatMessage) => void = (message) => {
    if (isAnswerAuthor(message)) early.push(message);
  };
  let onRooms: (rooms: RoomSummary[]) => void = () => undefined;
  disposables.push(
    ctx.onNotification(MessageNotification.type, (message) => onMessage(message)),
    ctx.onNotification(RoomsChangedNotification.type, (rooms) => onRooms(rooms)),
  );
  try {
    await ctx.sendRequest(JoinRoomRequest.type, { roomId });
    const question = await ctx.sendRequest(SendMessageRequest.type, {
      roomId,
      text: `@${persona.id} ${options.question}`.trim(),
      mentions: [`${persona.nodeId}/${persona.id}`],
      ...(options.attachment ? { attachment: options.attachment } : {}),
    });
    return await new Promise<AskResult>((resolve, reject) => {
      let text = '';
      let answerId = '';
      let busy = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (cancelled: boolean): void => {
        clearTimeout(timer);
        resolve({ text, roomId, questionId: question.id, answerId, cancelled });
      };
      const fail = (message: string): void => {
        clearTimeout(timer);
        reject(new AskError(message));
      };
      const arm = (): void => {
        clearTimeout(timer);
        if (!answerId) timer = setTimeout(() => fail(`${persona.name} did not answer within ${Math.round((options.firstAnswerTimeoutMs ?? 120_000) / 1000)} s`), options.firstAnswerTimeoutMs ?? 120_000);
        else timer = setTimeout(() => finish(false), busy ? (options.idleMs ?? 20_000) : graceMs);
      };
      onMessage = (message) => {
        if (message.replyTo !== question.id || !isAnswerAuthor(message)) return;
        if (message.metadata?.['notice']) {
          fail(message.text.replace(/^⚠️\s*/, ''));
          return;
        }
        answerId = message.id;
        if (message.text.startsWith(text)) options.onText?.(message.text.slice(text.length));
        text = message.text;
        arm();
      };
      onRooms = (rooms) => {
        const participant = rooms.find((room) => room.id === roomId)?.participants.find((p) => p.nodeId === persona.nodeId && p.participantId === persona.id);
        if (!participant) return;
        const wasBusy = busy;
        busy = participant.presence === 'busy';
        if (answerId && wasBusy !== busy) arm();
      };
      const cancellation = options.token?.onCancellationRequested(() => finish(true));
      if (cancellation) disposables.push(cancellation);
      arm();
      for (const message of early.splice(0)) onMessage(message);
    });
  } finally {
    for (const disposable of disposables) disposable.dispose();
  }
}

/** The persona a prompt names: its id or its name, with or without `@`, case-insensitive. */
export function findPersona(personas: readonly PersonaSummary[], word: string): PersonaSummary | undefined {
  const wanted = word.replace(/^@/, '').toLowerCase();
  if (!wanted) return undefined;
  const matches = personas.filter((p) => p.id.toLowerCase() === wanted || p.name.toLowerCase() === wanted);
  // The same persona id hosted on several nodes: prefer one that is not degraded or disabled, then the local one.
  const rank = (p: PersonaSummary): number => (p.state === 'online' ? 0 : p.state === 'busy' ? 1 : 2) * 2 + (p.local ? 0 : 1);
  return matches.sort((a, b) => rank(a) - rank(b))[0];
}

/** Splits "`<persona> <question>`" into the persona and the question. */
export function parseAsk(prompt: string, personas: readonly PersonaSummary[]): { persona: PersonaSummary; question: string } | { error: string } {
  const trimmed = prompt.trim();
  const [first = '', ...rest] = trimmed.split(/\s+/);
  if (!first) return { error: 'Name a persona and a question: `/ask <persona> <question>`.' };
  const persona = findPersona(personas, first);
  if (!persona) return { error: `No persona \`${first.replace(/^@/, '')}\` on the mesh.` };
  const question = rest.join(' ').trim();
  if (!question) return { error: `What should ${persona.name} answer? \`/ask ${persona.id} <question>\`.` };
  return { persona, question };
}
