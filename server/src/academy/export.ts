/**
 * Training data from the rooms' history and the academy's signals, in formats real trainers read:
 *
 * - `openai`: OpenAI chat fine-tuning JSONL, `{"messages":[system, user, assistant]}`, one line per
 *   persona answer whose ratings add up to a positive value, and per review comment whose
 *   judgements do (reviewPairs.ts).
 * - `dpo`: preference pairs `{"prompt","chosen","rejected"}`: two answers to the same prompt, one
 *   rated up overall and one rated down (TRL's DPOTrainer reads them as is); from challenges,
 *   the winner's answer against each loser's (a forfeit without an answer pairs with nothing); and
 *   review suggestions the user rejected and rewrote (chosen: the user's text; reviewPairs.ts).
 * - `kto`: `{"prompt","completion","label"}`, one line per rated answer and per judged review
 *   comment, label true when its ratings add up to a positive value (TRL's KTOTrainer).
 *
 * An answer is the persona message a signal names (its current text: edits folded in); its prompt
 * is the message it replied to. When this node lacks that history (a room it never joined), the
 * texts the signal carries in its context are used. Lines come out in signal order (ts, then id),
 * so the same data gives the same file on every node.
 */
import { personaKey, type ExportFilter, type ExportFormat, type ExportSummary, type PersonaRef, type Signal } from '../../../protocol/academy';
import type { ChatMessage } from '../../../protocol/rooms';
import { messageIdPattern, parseMessageId } from '../../../protocol/rooms';
import type { Db } from '../store/database';
import { reviewAnswers, reviewPairs } from './reviewPairs';
import { compareSignals, effectiveSignals } from './scores';

/** Where the export reads from (a database, or fixtures in tests). */
export interface ExportSource {
  /** Every signal (the export keeps the effective ones). */
  signals(): Signal[];
  message(roomId: string, messageId: string): ChatMessage | undefined;
}

export interface ExportOptions {
  /** The system message of `openai` lines; default "You are {name}." */
  systemPrompt?: (persona: PersonaRef) => string | undefined;
}

export interface ExportResult {
  /** JSON texts, one per line (without newlines). */
  lines: string[];
  summary: ExportSummary;
}

/** A rated persona answer: the signals on one message folded together. */
interface RatedAnswer {
  room: string;
  messageId: string;
  promptId?: string;
  persona: PersonaRef;
  net: number;
  /** The newest signal's ts and id: the answer's place in the output. */
  ts: number;
  id: string;
  prompt: string;
  completion: string;
}

/** Reads signals and folded room messages straight from a node's database (no component needed). */
export function dbExportSource(db: Db): ExportSource {
  const signals = db.prepare('SELECT body FROM academy_signals ORDER BY ts, id');
  const message = db.prepare('SELECT message FROM room_messages WHERE room_id = ? AND origin = ? AND room_seq = ?');
  return {
    signals: () => (signals.all() as { body: string }[]).map((row) => JSON.parse(row.body) as Signal),
    message: (roomId, messageId) => {
      if (!messageIdPattern.test(messageId)) return undefined;
      const { origin, roomSeq } = parseMessageId(messageId);
      const row = message.get(roomId, origin, roomSeq) as { message: string } | undefined;
      return row && (JSON.parse(row.message) as ChatMessage);
    },
  };
}

export function matchesPersona(persona: PersonaRef, wanted: string | undefined): boolean {
  if (wanted === undefined) return true;
  return personaKey(persona) === wanted || persona.personaId === wanted || persona.name.toLowerCase() === wanted.toLowerCase();
}

/**
 * DPO pairs from challenge results: each pairwise signal (winner, opponent) with the winner's
 * answer chosen and the loser's answer, from the loser's own challenge signals on the same task
 * (`promptId`), rejected.
 */
function challengePairs(effective: readonly Signal[], filter: ExportFilter, skip: (reason: string) => void): string[] {
  const inScope = effective.filter((s) => s.source === 'challenge' && s.promptId !== undefined && (filter.room === undefined || s.room === filter.room) && (filter.since === undefined || s.ts >= filter.since));
  const answers = new Map<string, string>();
  for (const signal of inScope) if (signal.context.actual?.trim()) answers.set(`${signal.promptId}|${personaKey(signal.persona)}`, signal.context.actual);
  const lines: string[] = [];
  for (const signal of inScope) {
    if (!signal.opponent || signal.value <= 0) continue;
    if (!matchesPersona(signal.persona, filter.persona) && !matchesPersona(signal.opponent, filter.persona)) continue;
    const chosen = answers.get(`${signal.promptId}|${personaKey(signal.persona)}`);
    const rejected = answers.get(`${signal.promptId}|${personaKey(signal.opponent)}`);
    if (!chosen || !rejected) {
      skip('a challenge pair without both answers (a forfeit)');
      continue;
    }
    if (chosen === rejected) {
      skip('a challenge pair of two identical answers');
      continue;
    }
    lines.push(JSON.stringify({ prompt: signal.context.input, chosen, rejected }));
  }
  return lines;
}

export function exportTrainingData(source: ExportSource, format: ExportFormat, filter: ExportFilter = {}, options: ExportOptions = {}): ExportResult {
  const skipped: Record<string, number> = {};
  const skip = (reason: string, count = 1) => void (skipped[reason] = (skipped[reason] ?? 0) + count);

  // Fold the signals on each persona message; the filters apply to the signals.
  const answers = new Map<string, RatedAnswer & { signals: Signal[] }>();
  // Read and folded once: every kind of line below comes from the same effective signals.
  const effective = effectiveSignals(source.signals());
  for (const signal of effective) {
    if (signal.messageId === undefined || signal.source === 'challenge') continue;
    if (filter.room !== undefined && signal.room !== filter.room) continue;
    if (filter.since !== undefined && signal.ts < filter.since) continue;
    const key = `${signal.room}/${signal.messageId}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = { room: signal.room, messageId: signal.messageId, persona: signal.persona, net: 0, ts: 0, id: '', prompt: '', completion: '', signals: [] };
      answers.set(key, answer);
    }
    answer.signals.push(signal);
    answer.net += signal.value;
    answer.ts = signal.ts;
    answer.id = signal.id;
    if (signal.promptId !== undefined) answer.promptId = signal.promptId;
  }

  const usable: RatedAnswer[] = [];
  for (const answer of [...answers.values()].sort(compareSignals)) {
    const newest = answer.signals.at(-1)!;
    const message = source.message(answer.room, answer.messageId);
    if (message?.deleted) {
      skip('the answer was deleted');
      continue;
    }
    const completion = message ? message.text : (newest.context.actual ?? '');
    const promptMessage = answer.promptId ? source.message(answer.room, answer.promptId) : undefined;
    if (promptMessage?.deleted) {
      skip('the prompt was deleted');
      continue;
    }
    const prompt = promptMessage ? promptMessage.text : newest.context.input;
    if (completion.trim() === '') {
      skip('the answer is not in the history or the signal');
      continue;
    }
    if (prompt.trim() === '') {
      skip('no prompt (the answer replied to nothing known)');
      continue;
    }
    usable.push({ ...answer, prompt, completion });
  }

  const lines: string[] = [];
  // Review comments are rated answers too; they come after the room answers.
  const rated: RatedAnswer[] = format === 'dpo' ? usable : [...usable, ...reviewAnswers(effective, filter, matchesPersona).map((a) => ({ ...a, room: '', messageId: '' }))];
  switch (format) {
    case 'openai': {
      for (const answer of rated) {
        if (!matchesPersona(answer.persona, filter.persona)) continue;
        if (answer.net <= 0) {
          skip('not rated positively overall');
          continue;
        }
        const system = options.systemPrompt?.(answer.persona) ?? `You are ${answer.persona.name}.`;
        lines.push(
          JSON.stringify({
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: answer.prompt },
              { role: 'assistant', content: answer.completion },
            ],
          }),
        );
      }
      break;
    }
    case 'kto': {
      for (const answer of rated) {
        if (!matchesPersona(answer.persona, filter.persona)) continue;
        if (answer.net === 0) {
          skip('its ratings cancel out');
          continue;
        }
        lines.push(JSON.stringify({ prompt: answer.prompt, completion: answer.completion, label: answer.net > 0 }));
      }
      break;
    }
    case 'dpo': {
      const byPrompt = new Map<string, RatedAnswer[]>();
      for (const answer of usable) {
        if (answer.promptId === undefined) {
          skip('no prompt id to pair answers on');
          continue;
        }
        const key = `${answer.room}/${answer.promptId}`;
        byPrompt.set(key, [...(byPrompt.get(key) ?? []), answer]);
      }
      for (const group of byPrompt.values()) {
        const chosen = group.filter((a) => a.net > 0);
        const rejected = group.filter((a) => a.net < 0);
        let paired = 0;
        for (const good of chosen) {
          for (const bad of rejected) {
            if (!matchesPersona(good.persona, filter.persona) && !matchesPersona(bad.persona, filter.persona)) continue;
            lines.push(JSON.stringify({ prompt: good.prompt, chosen: good.completion, rejected: bad.completion }));
            paired++;
          }
        }
        if (paired === 0) {
          const relevant = group.filter((a) => matchesPersona(a.persona, filter.persona)).length;
          if (relevant > 0) skip('no opposite-rated answer to the same prompt', relevant);
        }
      }
      lines.push(...challengePairs(effective, filter, skip));
      const review = reviewPairs(effective, filter, matchesPersona);
      lines.push(...review.lines);
      for (const [reason, count] of Object.entries(review.skipped)) skip(reason, count);
      break;
    }
  }
  return { lines, summary: { format, written: lines.length, skipped } };
}
