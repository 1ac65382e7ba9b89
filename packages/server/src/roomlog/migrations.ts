/**
 * Versioned schema migrations. Index i migrates from version i to i + 1; never edit a released
 * entry, only append. SQLite tracks the version in `PRAGMA user_version`.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rooms (
    name TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
  );
  CREATE TABLE entries (
    room TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  CREATE TABLE participants (
    room TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    PRIMARY KEY (room, name)
  ) WITHOUT ROWID;
  `,
  // 1 → 2: per-room file references (one row per `file` entry, dropped with it) and an index
  // for age-based retention.
  `
  CREATE TABLE room_files (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (room, seq),
    FOREIGN KEY (room, seq) REFERENCES entries(room, seq) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX room_files_sha256 ON room_files (sha256);
  CREATE INDEX room_files_room_sha256 ON room_files (room, sha256, seq);
  CREATE INDEX entries_room_ts ON entries (room, ts);
  INSERT INTO room_files (room, seq, sha256, name, size, type)
    SELECT room, seq, json_extract(payload, '$.file.sha256'), json_extract(payload, '$.file.name'),
           json_extract(payload, '$.file.size'), json_extract(payload, '$.file.type')
    FROM entries WHERE kind = 'file';
  `,
  // 2 → 3: WHIP stream keys (StreamKeyStore.ts). Only a SHA-256 of each secret, unique so a key is
  // found by it. No foreign key to rooms: a key may be minted before its room has a log row.
  `
  CREATE TABLE stream_keys (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
  );
  CREATE INDEX stream_keys_room ON stream_keys (room, created_at);
  `,
];

/**
 * PostgreSQL migrations, tracked in the `schema_migrations` table. Same rule: only append.
 * Payloads are kept as TEXT (not jsonb) so they read back byte for byte.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rooms (
    name TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0,
    messages BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL
  );
  CREATE TABLE entries (
    room TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
  );
  CREATE INDEX entries_room_ts ON entries (room, ts);
  CREATE TABLE participants (
    room TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (room, name)
  );
  CREATE TABLE room_files (
    room TEXT NOT NULL,
    seq BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (room, seq),
    FOREIGN KEY (room, seq) REFERENCES entries(room, seq) ON DELETE CASCADE
  );
  CREATE INDEX room_files_sha256 ON room_files (sha256);
  CREATE INDEX room_files_room_sha256 ON room_files (room, sha256, seq);
  `,
  // 1 → 2: WHIP stream keys, as SQLite's 2 → 3.
  `
  CREATE TABLE stream_keys (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
  );
  CREATE INDEX stream_keys_room ON stream_keys (room, created_at);
  `,
];
