/** Evolution state in libsql: the trials of local personas (resumed after a restart) and the mesh's lineage events. */
import { personaKey, type SignalCategory } from '../../../protocol/academy';
import type { EvolutionTrigger, PersonaEvolutionEvent } from '../../../protocol/evolution';
import type { Db } from '../store/database';
import type { WindowMean } from './evolutionRules';

export interface Trial {
  id: string;
  personaId: string;
  genome: { id: string; name: string; capabilities: string[] };
  trigger: EvolutionTrigger;
  category: SignalCategory;
  before: WindowMean;
  capabilitiesBefore: string[];
  /** measuring: adopted, waiting for the window after; then kept, rolled-back or failed. */
  state: 'measuring' | 'kept' | 'rolled-back' | 'failed';
  startedTs: number;
}

const maxEvents = 10_000;

export class EvolutionStore {
  private readonly s;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      trialPut: p('INSERT INTO evolution_trials (id, persona_id, genome_id, state, started_ts, body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body'),
      trialsMeasuring: p("SELECT body FROM evolution_trials WHERE state = 'measuring' ORDER BY started_ts"),
      trialsOf: p('SELECT body FROM evolution_trials WHERE persona_id = ? ORDER BY started_ts'),
      eventPut: p('INSERT INTO evolution_events (id, persona_key, ts, body) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
      events: p('SELECT body FROM evolution_events ORDER BY ts DESC, id DESC LIMIT ?'),
      eventCount: p('SELECT count(*) AS n FROM evolution_events'),
      eventTrim: p('DELETE FROM evolution_events WHERE id IN (SELECT id FROM evolution_events ORDER BY ts, id LIMIT ?)'),
    };
  }

  saveTrial(trial: Trial): void {
    this.s.trialPut.run(trial.id, trial.personaId, trial.genome.id, trial.state, trial.startedTs, JSON.stringify(trial));
  }

  measuring(): Trial[] {
    return (this.s.trialsMeasuring.all() as { body: string }[]).map((row) => JSON.parse(row.body) as Trial);
  }

  trialsOf(personaId: string): Trial[] {
    return (this.s.trialsOf.all(personaId) as { body: string }[]).map((row) => JSON.parse(row.body) as Trial);
  }

  /** True when the event was new. Keeps the newest events only (a bounded lineage log). */
  addEvent(event: PersonaEvolutionEvent): boolean {
    const added = this.s.eventPut.run(event.id, personaKey(event.persona), event.ts, JSON.stringify(event)).changes > 0;
    if (added) {
      const count = Number((this.s.eventCount.get() as { n: number }).n);
      if (count > maxEvents) this.s.eventTrim.run(count - maxEvents);
    }
    return added;
  }

  events(limit = 500): PersonaEvolutionEvent[] {
    return (this.s.events.all(limit) as { body: string }[]).map((row) => JSON.parse(row.body) as PersonaEvolutionEvent);
  }
}
