import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../store';
import { swarmStatements } from './statements';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const open = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-sql-'));
  dirs.push(dir);
  return openDatabase({ dir }).db;
};
const event = { id: 'ev1', zone: 'gate', cls: 'Human' as const, startTs: 1, endTs: 2, confirmedAt: 3, x: 4, y: 5, confirmers: ['A', 'B'], disagreed: [], f: 1, n: 4, closed: false };

describe('swarm statements', () => {
  it('writtenBehind commits without waiting for the disk and leaves the connection at synchronous=FULL; a throw rolls back', () => {
    const db = open();
    const sql = swarmStatements(db);
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL, as the store opens it
    const seen = sql.writtenBehind(() => {
      sql.insertEvent(event);
      return db.pragma('synchronous', { simple: true });
    });
    expect(seen).toBe(1); // NORMAL for this commit only
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(() =>
      sql.writtenBehind(() => {
        sql.insertEvent(event);
        throw new Error('listener bug');
      }),
    ).toThrow('listener bug');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(sql.events({ limit: 10 }).total).toBe(1);
    // Nested in an outer transaction it is part of it (the outer commit decides).
    sql.transaction(() => sql.writtenBehind(() => sql.insertEvent(event)));
    expect(sql.events({ limit: 10 }).total).toBe(2);
  });

  it('stores and pages events, by zone too, decoding each row', () => {
    const db = open();
    const sql = swarmStatements(db);
    const first = sql.insertEvent(event);
    sql.insertEvent({ ...event, zone: 'dock' });
    const third = sql.insertEvent(event);
    expect(sql.updateEvent(first.id, { ...event, closed: true, disagreed: ['C'] })).toMatchObject({ closed: 1, disagreed: ['C'], confirmers: ['A', 'B'] });
    expect(sql.events({ limit: 10 }).total).toBe(3);
    const gate = sql.events({ limit: 10, zone: 'gate' });
    expect([gate.total, gate.rows.map((r) => r.id)]).toEqual([2, [third.id, first.id]]);
    expect(sql.events({ limit: 10, beforeId: third.id, zone: 'gate' }).rows.map((r) => r.id)).toEqual([first.id]);
    db.close();
  });

  it('keeps every bit of a 64-bit replay window, the top one included', () => {
    const db = open();
    const sql = swarmStatements(db);
    const window = (1n << 63n) | 0b1011n;
    sql.saveReplay([{ camera: 'B8A44F000001', key: '0123456789abcdef', epoch: 2 ** 32 - 1, highest: 2 ** 40, window }], 5);
    expect(sql.loadReplay()).toEqual([{ camera: 'B8A44F000001', key: '0123456789abcdef', epoch: 2 ** 32 - 1, highest: 2 ** 40, window }]);
    db.close();
  });

  it('refuses a stored row of the wrong shape instead of passing it on', () => {
    const db = open();
    const sql = swarmStatements(db);
    db.prepare("INSERT INTO swarm_events (zone, cls, start_ts, end_ts, confirmed_at, confirmers, f, n) VALUES ('z', 'Human', 1, 2, 3, 'not json', 1, 4)").run();
    expect(() => sql.events({ limit: 5 })).toThrow(/JSON array/);
    db.prepare("INSERT INTO swarm_state (key, value) VALUES ('zones', '{\"zones\":5}')").run();
    expect(() => sql.readZones()).toThrow();
    db.close();
  });
});
