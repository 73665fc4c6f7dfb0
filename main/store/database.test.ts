import { describe, expect, it } from 'vitest';
import { tempDir } from '../app/testkit';
import { NewerDatabaseError, openDatabase } from './database';
import type { Migration } from './migrate';

describe('database', () => {
  it('opens in WAL mode with foreign keys on and records each migration once', () => {
    const dir = tempDir();
    const first = openDatabase({ dir });
    expect(first.migrated).toContain(1);
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(first.db.pragma('foreign_keys', { simple: true })).toBe(1);
    first.db.close();
    const again = openDatabase({ dir });
    expect(again.migrated).toEqual([]);
    const rows = again.db.prepare('SELECT version FROM schema_migrations').all();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    again.db.close();
  });

  it('applies new migrations in order and rolls back a failing one', () => {
    const dir = tempDir();
    const base: Migration[] = [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' }];
    openDatabase({ dir, migrations: base }).db.close();
    const bad: Migration[] = [...base, { version: 2, name: 'b', sql: 'CREATE TABLE b (x INTEGER); SELECT * FROM nope' }];
    expect(() => openDatabase({ dir, migrations: bad })).toThrow(/nope/);
    const { db } = openDatabase({ dir, migrations: base });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get()).toBeUndefined();
    db.close();
  });

  it('refuses a database written by a newer version with a message that says what to do', () => {
    const dir = tempDir();
    const newer: Migration[] = [
      { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
      { version: 7, name: 'future', sql: 'CREATE TABLE f (x INTEGER)' },
    ];
    openDatabase({ dir, migrations: newer }).db.close();
    let error: unknown;
    try {
      openDatabase({ dir, migrations: newer.slice(0, 1) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NewerDatabaseError);
    expect((error as Error).message).toMatch(/newer OmniSight \(schema 7; this build knows up to 1\)/);
    expect((error as Error).message).toMatch(/--data-dir/);
  });
});
