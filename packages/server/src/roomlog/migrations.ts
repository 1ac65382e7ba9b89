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
];
