/**
 * Who is typing: the others' typing events, per room, each until its time is up or its author's
 * message arrives; and the person's own typing, told to the room at most every 2 s.
 */
import type { ReactiveControllerHost } from 'lit';
import { vscode } from './vscodeApi';

const typingEveryMs = 2000;

export class Typing {
  private readonly typing = new Map<string, Map<string, { name: string; until: number }>>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;
  private typingNames: string[] = [];

  /** @param room the room shown now. */
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly room: () => string,
  ) {}

  /** Who is typing in the room shown. */
  get names(): string[] {
    return this.typingNames;
  }

  /** Someone else is typing (participant key and name), for `ttlMs` unless they type again. */
  started(roomId: string, key: string, name: string, ttlMs: number): void {
    const room = this.typing.get(roomId) ?? new Map<string, { name: string; until: number }>();
    this.typing.set(roomId, room);
    room.set(key, { name, until: Date.now() + Math.min(Math.max(ttlMs, 500), 30_000) });
    this.update();
  }

  /** Their message arrived: whoever wrote stops typing. */
  stopped(roomId: string, key: string): void {
    this.typing.get(roomId)?.delete(key);
    this.update();
  }

  /** Drops what expired, and wakes up when the next one does. Also when another room is shown. */
  update(): void {
    clearTimeout(this.timer);
    const now = Date.now();
    let next = Infinity;
    for (const room of this.typing.values()) {
      for (const [key, entry] of room) {
        if (entry.until <= now) room.delete(key);
        else next = Math.min(next, entry.until);
      }
    }
    this.typingNames = [...(this.typing.get(this.room())?.values() ?? [])].map((entry) => entry.name);
    this.host.requestUpdate();
    if (next !== Infinity) this.timer = setTimeout(() => this.update(), next - now + 10);
  }

  /** The person typed in the composer. */
  typed(): void {
    const now = Date.now();
    if (now - this.lastSent < typingEveryMs || !this.room()) return;
    this.lastSent = now;
    vscode.postMessage({ type: 'typing', roomId: this.room() });
  }

  /** The person's message was sent: the next key they type says they type again. */
  sent(): void {
    this.lastSent = 0;
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
