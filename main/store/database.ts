import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate, type Migration } from './migrate';
import { migrations as allMigrations } from './migrations';

export type Db = Database.Database;

export interface OpenOptions {
  dir: string;
  fileName?: string;
  now?: () => number;
  migrations?: readonly Migration[];
}

/**
 * better-sqlite3's compiled part for this process. One node_modules holds it for one ABI only: it
 * is Node's (browser mode, tests, CLI). App mode runs under Electron's ABI and names its own build
 * in OMNISIGHT_SQLITE_BINDING (main/electron sets it before the core starts; worker threads see it
 * too). README, "Two runtimes, two better-sqlite3 builds".
 */
export function sqliteOptions(env: NodeJS.ProcessEnv = process.env): Database.Options {
  return env.OMNISIGHT_SQLITE_BINDING ? { nativeBinding: env.OMNISIGHT_SQLITE_BINDING } : {};
}

/**
 * Opens (or creates) the one database in the data folder. WAL with synchronous=FULL: a write that
 * was acknowledged is on disk, even if the process is killed or the machine loses power.
 */
export function openDatabase(opts: OpenOptions): { db: Db; file: string; migrated: number[] } {
  fs.mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, opts.fileName ?? 'omnisight.db');
  const db = new Database(file, sqliteOptions());
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const migrated = migrate(db, opts.migrations ?? allMigrations, file, opts.now ?? Date.now);
    return { db, file, migrated };
  } catch (err) {
    db.close();
    throw err;
  }
}

export { NewerDatabaseError, type Migration } from './migrate';
