import type Database from 'better-sqlite3';
import { z } from 'zod';
import { query } from './rows';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export class NewerDatabaseError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
    file: string,
  ) {
    super(
      `The database ${file} was written by a newer OmniSight (schema ${found}; this build knows up to ${known}). ` +
        'Update OmniSight, or start with another data folder (--data-dir) to keep this one untouched.',
    );
    this.name = 'NewerDatabaseError';
  }
}

/** Applies the migrations the database has not seen, each in its own transaction, and records them. */
export function migrate(db: Database.Database, all: readonly Migration[], file: string, now: () => number): number[] {
  const sorted = [...all].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) throw new Error(`Migration ${sorted[i]!.version} is defined twice`);
  }
  const latest = sorted.at(-1)?.version ?? 0;
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const applied = new Set(query(db, 'SELECT version FROM schema_migrations', z.object({ version: z.number().int() })).all().map((r) => r.version));
  const highest = Math.max(0, ...applied);
  if (highest > latest) throw new NewerDatabaseError(highest, latest, file);

  const ran: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, now());
    })();
    ran.push(m.version);
  }
  db.pragma(`user_version = ${latest}`);
  return ran;
}
