/**
 * Challenges in libsql: the view every node taking part holds and, on the coordinator, the secret
 * part (who wrote which answer, the judges' cards) until the reveal. A row is replaced whole on
 * every change, so a restart finds the last state that was written.
 */
import type { ChallengeView } from '../../../protocol/challenges';
import type { Db } from '../store/database';

/** What only the coordinator knows before the reveal. */
export interface ChallengeSecret {
  /** Persona key → its answer (label assigned when judging starts). */
  answers: Record<string, { text: string; label?: string }>;
  /** Judge key → card. */
  cards: Record<string, { scores: Record<string, Record<string, number>>; ts: number }>;
  /** Judge key → why it gave no card (its brain failed, its node left). */
  judgeFailures: Record<string, string>;
}

export interface StoredChallenge {
  view: ChallengeView;
  secret?: ChallengeSecret;
}

export class ChallengeStore {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      upsert: db.prepare(
        'INSERT INTO challenges (id, coordinator, state, created_at, updated_at, body, secret) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, body = excluded.body, secret = excluded.secret',
      ),
      all: db.prepare('SELECT body, secret FROM challenges ORDER BY created_at DESC, id'),
      get: db.prepare('SELECT body, secret FROM challenges WHERE id = ?'),
    };
  }

  save(entry: StoredChallenge): void {
    const v = entry.view;
    this.s.upsert.run(v.id, v.coordinator, v.state, v.createdAt, v.updatedAt, JSON.stringify(v), entry.secret ? JSON.stringify(entry.secret) : null);
  }

  get(id: string): StoredChallenge | undefined {
    const row = this.s.get.get(id) as { body: string; secret: string | null } | undefined;
    return row && parse(row);
  }

  /** Newest first. */
  all(): StoredChallenge[] {
    return (this.s.all.all() as { body: string; secret: string | null }[]).map(parse);
  }
}

function parse(row: { body: string; secret: string | null }): StoredChallenge {
  const view = JSON.parse(row.body) as ChallengeView;
  return row.secret ? { view, secret: JSON.parse(row.secret) as ChallengeSecret } : { view };
}
