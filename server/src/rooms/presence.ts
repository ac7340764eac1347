/**
 * Presence of participants mesh-wide. Local participants are set by the user (or a persona's
 * component); remote ones come from announcements on the fast lane, which may be lost, so each
 * node re-announces periodically and a remote participant turns `offline` when its announcement
 * expires or its node goes away.
 */
import { participantKey, presenceStates, roomWireLimits, type Author, type Participant, type PresenceAnnouncement, type PresenceState } from '../../../protocol/rooms';
import { isAuthor } from './validate';

interface RemoteEntry {
  participant: Participant;
  expiresAt: number;
}

const states = new Set<string>(presenceStates);

export function isPresenceState(value: unknown): value is PresenceState {
  return typeof value === 'string' && states.has(value);
}

export class PresenceTable {
  private readonly local = new Map<string, Participant>();
  private readonly remote = new Map<string, RemoteEntry>();

  constructor(private readonly now: () => number) {}

  setLocal(author: Author, presence: PresenceState, statusText?: string): Participant {
    const participant: Participant = { ...author, presence };
    const text = statusText?.trim();
    if (text) participant.statusText = text.slice(0, roomWireLimits.maxStatusTextChars);
    this.local.set(participantKey(author), participant);
    return { ...participant };
  }

  localParticipants(): Participant[] {
    return [...this.local.values()].map((p) => ({ ...p }));
  }

  announcement(nodeId: string, ttlMs: number): PresenceAnnouncement {
    return { nodeId, participants: this.localParticipants(), ttlMs };
  }

  /** Takes in a peer's announcement; returns true if anything visible changed. */
  receive(from: string, value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const { participants, ttlMs } = value as Partial<PresenceAnnouncement>;
    if (!Array.isArray(participants) || participants.length > 256 || typeof ttlMs !== 'number' || !Number.isFinite(ttlMs)) return false;
    const expiresAt = this.now() + Math.min(Math.max(ttlMs, 1000), 10 * 60_000);
    let changed = false;
    const seen = new Set<string>();
    for (const entry of participants as unknown[]) {
      if (!isAuthor(entry) || entry.nodeId !== from) continue;
      const { presence, statusText } = entry as Partial<Participant>;
      if (!isPresenceState(presence)) continue;
      const participant: Participant = { nodeId: entry.nodeId, participantId: entry.participantId, displayName: entry.displayName, kind: entry.kind, presence };
      if (typeof statusText === 'string' && statusText.trim()) participant.statusText = statusText.trim().slice(0, roomWireLimits.maxStatusTextChars);
      const key = participantKey(participant);
      seen.add(key);
      const before = this.remote.get(key);
      if (!before || before.participant.presence !== participant.presence || before.participant.statusText !== participant.statusText || before.participant.displayName !== participant.displayName) changed = true;
      this.remote.set(key, { participant, expiresAt });
    }
    // Participants of that node no longer announced have gone (a persona was unloaded).
    for (const [key, entry] of this.remote) {
      if (entry.participant.nodeId === from && !seen.has(key)) {
        this.remote.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  /** Every participant of `nodeId` goes offline (its node went away). */
  /** Nodes heard from (each with its participants), this one included. */
  nodeCount(): number {
    const nodes = new Set<string>();
    for (const entry of this.remote.values()) nodes.add(entry.participant.nodeId);
    return nodes.size + 1;
  }

  nodeDown(nodeId: string): boolean {
    let changed = false;
    for (const [key, entry] of this.remote) {
      if (entry.participant.nodeId !== nodeId) continue;
      this.remote.delete(key);
      changed = true;
    }
    return changed;
  }

  /** Drops expired announcements; returns true if any expired. */
  expire(): boolean {
    const now = this.now();
    let changed = false;
    for (const [key, entry] of this.remote) {
      if (entry.expiresAt > now) continue;
      this.remote.delete(key);
      changed = true;
    }
    return changed;
  }

  /** The presence of a participant as far as this node knows (`offline` when unknown). */
  lookup(author: Author): Participant {
    const key = participantKey(author);
    const known = this.local.get(key) ?? this.remote.get(key)?.participant;
    if (!known) return { ...author, presence: 'offline' };
    const participant: Participant = { ...author, displayName: known.displayName || author.displayName, presence: known.presence };
    if (known.statusText) participant.statusText = known.statusText;
    return participant;
  }
}
