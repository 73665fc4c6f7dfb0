// The replay state's own SQLite file and the messages between the replay writer and its thread.
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { ReplayEntry } from './replay';

/** camera, key, epoch, highest, window (unsigned 64-bit): one replay entry as it travels to the writer. */
export type ReplayRow = [camera: string, key: string, epoch: number, highest: number, window: bigint];
export type ToWriter =
  | { type: 'commit'; id: number; rows: ReplayRow[]; durable: boolean; at: number; sync: boolean }
  | { type: 'close'; id: number };
export interface WriterAnswer {
  id: number;
  error?: string;
  /** How long the commit took on the writer's thread (transaction and fsync), ms. */
  ms?: number;
}

const row = z.object({ camera: z.string(), key: z.string(), epoch: z.bigint(), highest: z.bigint(), window: z.bigint() });

/**
 * Opens (creating it when needed) the replay state's file: WAL, synchronous=FULL, the swarm_replay
 * table as the main database's migration 310 defines it.
 */
export function prepareReplayFile(file: string): Database.Database {
  // The better-sqlite3 build for this runtime (see store/database.ts sqliteOptions; worker threads see the variable too).
  const db = new Database(file, process.env.OMNISIGHT_SQLITE_BINDING ? { nativeBinding: process.env.OMNISIGHT_SQLITE_BINDING } : {});
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS swarm_replay (
      camera TEXT NOT NULL,
      key TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      highest INTEGER NOT NULL,
      window INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (camera, key)
    ) STRICT, WITHOUT ROWID`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Every entry in the file (read once at start, on the caller's thread). */
export function readReplayFile(file: string): ReplayEntry[] {
  const db = prepareReplayFile(file);
  try {
    return db
      .prepare('SELECT camera, key, epoch, highest, window FROM swarm_replay')
      .safeIntegers(true)
      .all()
      .map((raw) => {
        const r = row.parse(raw);
        return { camera: r.camera, key: r.key, epoch: Number(r.epoch), highest: Number(r.highest), window: BigInt.asUintN(64, r.window) };
      });
  } finally {
    db.close();
  }
}
