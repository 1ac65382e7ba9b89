import { createRequire } from 'node:module';
import { ConfigError } from '../config.ts';

/**
 * The two SQLite engines the room log runs on, behind one small interface:
 * - `node:sqlite`, built into Node 22.13+ / 23.4+ (nothing to compile or download);
 * - `better-sqlite3`, an optional dependency compiled at install time, for Node 20.
 * `auto` takes node:sqlite where the runtime has it and better-sqlite3 otherwise.
 */
export type SqliteDriverChoice = 'auto' | 'node' | 'better-sqlite3';

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqliteStatement {
  run(...params: SqlValue[]): unknown;
  /** The first row, or undefined. */
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}

export interface SqliteDatabase {
  readonly driver: 'node:sqlite' | 'better-sqlite3';
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  /** Runs `fn` in one IMMEDIATE transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

interface NodeSqliteModule {
  DatabaseSync: new (path: string) => { prepare(sql: string): SqliteStatement; exec(sql: string): void; close(): void };
}

interface BetterSqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  transaction<T>(fn: () => T): { immediate(): T };
  close(): void;
}

/** node:sqlite when this Node has it (unflagged), else undefined. */
function nodeSqlite(): NodeSqliteModule | undefined {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  // Loading it prints "SQLite is an experimental feature" on Node 22/23: a warning for us, not
  // for the person running the server, so that one is held back while the module loads.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, and called with .call(process)
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    if (/SQLite is an experimental feature/.test(typeof warning === 'string' ? warning : warning.message)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  let mod: unknown;
  try {
    mod = get?.call(process, 'node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
  return mod && typeof mod === 'object' && 'DatabaseSync' in mod ? (mod as NodeSqliteModule) : undefined;
}

let betterSqliteProbe: { ctor: (new (path: string) => BetterSqliteDatabase) | undefined } | undefined;

/** better-sqlite3 when it is installed and its compiled addon loads in this Node (checked once). */
function betterSqlite(): (new (path: string) => BetterSqliteDatabase) | undefined {
  if (!betterSqliteProbe) {
    try {
      const ctor = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => BetterSqliteDatabase;
      new ctor(':memory:').close(); // the addon loads here: built for another Node, it throws
      betterSqliteProbe = { ctor };
    } catch {
      betterSqliteProbe = { ctor: undefined };
    }
  }
  return betterSqliteProbe.ctor;
}

/** Which engine `choice` resolves to on this runtime, or an error saying what to install. */
export function resolveSqliteDriver(choice: SqliteDriverChoice): 'node:sqlite' | 'better-sqlite3' {
  const hasNode = nodeSqlite() !== undefined;
  if (choice === 'node' || (choice === 'auto' && hasNode)) {
    if (!hasNode) throw new ConfigError(`storage.sqliteDriver is "node" but node:sqlite needs Node 22.13+ (this is ${process.version})`);
    return 'node:sqlite';
  }
  if (!betterSqlite()) {
    throw new ConfigError(
      `no SQLite engine: ${process.version} has no node:sqlite (Node 22.13+ does) and better-sqlite3 is not installed ` +
        '(npm install better-sqlite3, which compiles with a C++ toolchain), or use storage.driver "postgres"',
    );
  }
  return 'better-sqlite3';
}

export function openSqlite(path: string, choice: SqliteDriverChoice = 'auto'): SqliteDatabase {
  if (resolveSqliteDriver(choice) === 'node:sqlite') {
    const db = new (nodeSqlite()!.DatabaseSync)(path);
    return {
      driver: 'node:sqlite',
      prepare: (sql) => db.prepare(sql),
      exec: (sql) => db.exec(sql),
      transaction<T>(fn: () => T): T {
        db.exec('BEGIN IMMEDIATE');
        let result: T;
        try {
          result = fn();
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
        db.exec('COMMIT');
        return result;
      },
      close: () => db.close(),
    };
  }
  const Database = betterSqlite()!;
  const db = new Database(path);
  return {
    driver: 'better-sqlite3',
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
