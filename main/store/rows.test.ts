import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { command, jsonText, query, RowDecodeError } from './rows';

let db: Database.Database | undefined;
afterEach(() => db?.close());

describe('rows decoded by schema', () => {
  it('decodes rows and JSON columns, and refuses a row of the wrong shape with the column named', () => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, tags TEXT NOT NULL, n INTEGER)');
    const insert = command(db, 'INSERT INTO t (id, tags, n) VALUES (?, ?, ?)');
    insert.run(1, JSON.stringify(['a', 'b']), 3);
    const row = z.object({ id: z.number().int(), tags: jsonText(z.array(z.string())), n: z.number().int().nullable() });
    const byId = query(db, 'SELECT * FROM t WHERE id = ?', row);
    expect(byId.get(1)).toEqual({ id: 1, tags: ['a', 'b'], n: 3 });
    expect(byId.get(2)).toBeUndefined();

    insert.run(2, 'not json', null);
    insert.run(3, JSON.stringify([1, 2]), null);
    expect(() => byId.get(2)).toThrow(RowDecodeError);
    expect(() => byId.get(2)).toThrow(/tags: is not valid JSON/);
    expect(() => byId.get(3)).toThrow(/tags\.0/);
    expect(() => query(db!, 'SELECT id, n AS tags FROM t WHERE id = 1', row).all()).toThrow(/tags/);
  });
});
