/**
 * The schema, owned here and nowhere else. Each migration runs once, in order, inside a
 * transaction, recorded in `schema_migrations` (and `PRAGMA user_version` holds the highest). Never
 * edit a released migration: append one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'node metadata and known peers',
    sql: `
      CREATE TABLE node_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      CREATE TABLE known_peers (
        node_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL,
        last_seen INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'rooms: event log, folded messages, members, high-water marks, local sequence counters',
    sql: `
      CREATE TABLE rooms (
        room_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        joined INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      ) STRICT;
      -- Every room event this node holds, as received: the source of truth that sync serves.
      -- status: 'ok' (folded into the views), 'refused' (breaks a rule), 'ignored' (unknown kind).
      CREATE TABLE room_events (
        room_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        room_seq INTEGER NOT NULL,
        hlc_wall INTEGER NOT NULL,
        hlc_logical INTEGER NOT NULL,
        type TEXT NOT NULL,
        target TEXT,
        status TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (room_id, origin, room_seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX room_events_target ON room_events (room_id, target) WHERE target IS NOT NULL;
      -- Messages with edits, deletion and reactions folded in (JSON ChatMessage), in display order.
      CREATE TABLE room_messages (
        room_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        room_seq INTEGER NOT NULL,
        hlc_wall INTEGER NOT NULL,
        hlc_logical INTEGER NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (room_id, origin, room_seq)
      ) STRICT, WITHOUT ROWID;
      CREATE UNIQUE INDEX room_messages_order ON room_messages (room_id, hlc_wall, hlc_logical, origin, room_seq);
      -- Per room and origin: the highest roomSeq held with nothing missing below it, and the highest held.
      CREATE TABLE room_heads (
        room_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        contiguous INTEGER NOT NULL,
        max_seq INTEGER NOT NULL,
        PRIMARY KEY (room_id, origin)
      ) STRICT, WITHOUT ROWID;
      -- This node's own per-room sequence: the last roomSeq it gave an event (never reused).
      CREATE TABLE room_local_seq (
        room_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
      ) STRICT;
      -- Who is in a room: the latest joined/left event per participant (in display order).
      CREATE TABLE room_members (
        room_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        participant_id TEXT NOT NULL,
        author TEXT NOT NULL,
        joined INTEGER NOT NULL,
        hlc_wall INTEGER NOT NULL,
        hlc_logical INTEGER NOT NULL,
        origin TEXT NOT NULL,
        room_seq INTEGER NOT NULL,
        PRIMARY KEY (room_id, node_id, participant_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: 'rooms: a full index on event targets (the partial one was not used for `target = ?`)',
    sql: `
      DROP INDEX room_events_target;
      CREATE INDEX room_events_target ON room_events (room_id, target);
    `,
  },
  {
    version: 4,
    name: 'rooms: the origin key and signature of each event',
    sql: `
      ALTER TABLE room_events ADD COLUMN key TEXT;
      ALTER TABLE room_events ADD COLUMN sig TEXT;
    `,
  },
  {
    version: 5,
    name: 'academy: signals, persona reply latencies, per-peer sync cursors',
    sql: `
      -- Every signal this node holds (recorded here or received), as signed. local_seq is this
      -- node's own storage order: peers pull "everything after local_seq N" from it.
      CREATE TABLE academy_signals (
        local_seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        persona_key TEXT NOT NULL,
        room TEXT NOT NULL,
        category TEXT NOT NULL,
        source TEXT NOT NULL,
        ts INTEGER NOT NULL,
        signer TEXT NOT NULL,
        body TEXT NOT NULL
      ) STRICT;
      CREATE INDEX academy_signals_persona ON academy_signals (persona_key, ts);
      CREATE INDEX academy_signals_order ON academy_signals (ts, id);
      -- Reply times of personas (from the room history: reply HLC minus prompt HLC, or metadata.latencyMs).
      CREATE TABLE academy_latency (
        room TEXT NOT NULL,
        message_id TEXT NOT NULL,
        persona_key TEXT NOT NULL,
        ms INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        PRIMARY KEY (room, message_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX academy_latency_persona ON academy_latency (persona_key);
      -- What this node has pulled from each peer: the peer's store epoch and last local_seq sent.
      CREATE TABLE academy_peer_cursors (
        peer TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL
      ) STRICT;
      -- key/value: 'epoch' = random id of this node's signal store (a new store restarts peers' cursors).
      CREATE TABLE academy_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'genomes: manifests held or downloading, downloads, piece bitmaps of partial blobs',
    sql: `
      -- Verified manifests this node holds or is downloading; body is the signed manifest JSON.
      -- local = 1 once every blob of the genome is complete in the blob store.
      CREATE TABLE genome_manifests (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        name TEXT NOT NULL,
        publisher TEXT NOT NULL,
        size INTEGER NOT NULL,
        local INTEGER NOT NULL DEFAULT 0,
        added_at INTEGER NOT NULL
      ) STRICT;
      -- One row per download started here: active ones resume after a restart.
      CREATE TABLE genome_downloads (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        error TEXT,
        started_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      -- Verified pieces of blobs still being downloaded (bit i in byte i>>3, LSB first).
      CREATE TABLE genome_blob_pieces (
        blob TEXT PRIMARY KEY,
        pieces INTEGER NOT NULL,
        bitmap BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'challenges: the state this node holds of each challenge it coordinates or takes part in',
    sql: `
      -- One row per challenge: body is the ChallengeView (JSON); secret holds what only the
      -- coordinator knows until the reveal (which persona wrote which answer, the judges' cards).
      CREATE TABLE challenges (
        id TEXT PRIMARY KEY,
        coordinator TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        secret TEXT
      ) STRICT;
      CREATE INDEX challenges_created ON challenges (created_at);
    `,
  },
  {
    version: 9,
    name: 'academy: evolution trials of local personas and the lineage events of the mesh',
    sql: `
      -- A local persona trying a genome: measured over the next window, then kept or rolled back.
      CREATE TABLE evolution_trials (
        id TEXT PRIMARY KEY,
        persona_id TEXT NOT NULL,
        genome_id TEXT NOT NULL,
        state TEXT NOT NULL,
        started_ts INTEGER NOT NULL,
        body TEXT NOT NULL
      ) STRICT;
      CREATE INDEX evolution_trials_persona ON evolution_trials (persona_id, started_ts);
      -- PersonaEvolutionEvents of every node (the lineage), as received.
      CREATE TABLE evolution_events (
        id TEXT PRIMARY KEY,
        persona_key TEXT NOT NULL,
        ts INTEGER NOT NULL,
        body TEXT NOT NULL
      ) STRICT;
      CREATE INDEX evolution_events_order ON evolution_events (ts);
    `,
  },
  {
    version: 10,
    name: 'rooms: per-author event counts per minute of event time (limits every node enforces on what it stores)',
    sql: `
      -- author: nodeId/participantId; kind: message, edit, reaction, delete, membership;
      -- minute: floor(hlc wall / 60,000). A count never exceeds that kind's limit.
      CREATE TABLE room_author_minutes (
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        minute INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (author, kind, minute)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX room_author_minutes_minute ON room_author_minutes (minute);
    `,
  },
];

export const schemaVersion = migrations[migrations.length - 1]!.version;
