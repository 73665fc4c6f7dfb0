// Every SQL statement of the event review, rows decoded by schema.
import { z } from 'zod';
import type { ReviewItem } from '../../preload/contract';
import { command, jsonText, query, type Db } from '../store';
import type { BlobIndex } from './blobs';

const eventRow = z.object({
  id: z.number().int(),
  zone: z.string(),
  cls: z.string(),
  start_ts: z.number(),
  end_ts: z.number(),
  confirmed_at: z.number(),
  closed: z.number().int(),
  confirmers: jsonText(z.array(z.string())),
  reviewed_at: z.number().nullable(),
});
const snapRow = z.object({ event_id: z.number().int(), camera: z.string(), sha256: z.string().nullable(), bytes: z.number().int(), taken_at: z.number(), error: z.string().nullable() });

export interface ReviewFilter {
  zone?: string;
  cls?: string;
  camera?: string;
  reviewed: 'all' | 'reviewed' | 'unreviewed';
}

export function reviewStatements(db: Db) {
  const upsert = command(
    db,
    `INSERT INTO review_events (id, zone, cls, start_ts, end_ts, confirmed_at, closed, confirmers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET end_ts = excluded.end_ts, closed = excluded.closed, confirmers = excluded.confirmers`,
  );
  const one = query(db, 'SELECT * FROM review_events WHERE id = ?', eventRow);
  const snapsOf = query(db, 'SELECT * FROM review_snapshots WHERE event_id = ? ORDER BY camera', snapRow);
  const putSnap = command(db, 'INSERT OR REPLACE INTO review_snapshots (event_id, camera, sha256, bytes, taken_at, error) VALUES (?, ?, ?, ?, ?, ?)');
  const hasSnap = query(db, 'SELECT 1 AS x FROM review_snapshots WHERE event_id = ? AND camera = ?', z.object({ x: z.number() }));
  const blobHas = query(db, 'SELECT 1 AS x FROM review_blobs WHERE sha256 = ?', z.object({ x: z.number() }));
  const blobAdd = command(db, 'INSERT OR IGNORE INTO review_blobs (sha256, bytes, created_at) VALUES (?, ?, ?)');
  const blobDel = command(db, 'DELETE FROM review_blobs WHERE sha256 = ?');
  const blobOldest = query(db, 'SELECT sha256, bytes FROM review_blobs ORDER BY created_at, sha256 LIMIT ?', z.object({ sha256: z.string(), bytes: z.number().int() }));
  const blobTotal = query(db, 'SELECT coalesce(sum(bytes), 0) AS n, count(*) AS c FROM review_blobs', z.object({ n: z.number().int(), c: z.number().int() }));
  const facet = (col: 'zone' | 'cls') => query(db, `SELECT DISTINCT ${col} AS v FROM review_events ORDER BY v LIMIT 200`, z.object({ v: z.string() }));
  const zones = facet('zone');
  const classes = facet('cls');
  const cameras = query(db, 'SELECT DISTINCT camera AS v FROM review_snapshots ORDER BY v LIMIT 500', z.object({ v: z.string() }));
  const unreviewed = query(db, 'SELECT count(*) AS n FROM review_events WHERE reviewed_at IS NULL', z.object({ n: z.number().int() }));

  const toItem = (r: z.output<typeof eventRow>): ReviewItem => ({
    id: r.id,
    zone: r.zone,
    cls: r.cls,
    startTs: r.start_ts,
    endTs: r.end_ts,
    confirmedAt: r.confirmed_at,
    closed: r.closed === 1,
    confirmers: r.confirmers,
    reviewedAt: r.reviewed_at,
    snapshots: snapsOf.all(r.id).map((s) => ({ camera: s.camera, sha256: s.sha256, bytes: s.bytes, takenAt: s.taken_at, error: s.error })),
  });

  const blobs: BlobIndex = {
    oldest: (limit) => blobOldest.all(limit),
    totalBytes: () => blobTotal.get()!.n,
    has: (sha) => blobHas.get(sha) !== undefined,
    add: (sha, bytes, at) => void blobAdd.run(sha, bytes, at),
    // Snapshots keep their row (the event had a picture) with the hash cleared by the foreign key.
    remove: (sha) => void blobDel.run(sha),
  };

  return {
    blobs,
    blobFiles: () => blobTotal.get()!.c,
    upsert(e: { id: number; zone: string; cls: string; startTs: number; endTs: number; confirmedAt: number; closed: boolean; confirmers: string[] }): void {
      upsert.run(e.id, e.zone, e.cls, e.startTs, e.endTs, e.confirmedAt, e.closed ? 1 : 0, JSON.stringify(e.confirmers));
    },
    item: (id: number): ReviewItem | undefined => {
      const r = one.get(id);
      return r && toItem(r);
    },
    hasSnapshot: (id: number, camera: string): boolean => hasSnap.get(id, camera) !== undefined,
    putSnapshot(id: number, camera: string, s: { sha256: string | null; bytes: number; at: number; error: string | null }): void {
      putSnap.run(id, camera, s.sha256, s.bytes, s.at, s.error);
    },
    list(f: ReviewFilter, page: { limit: number; beforeId?: number }) {
      const clauses: string[] = [];
      const args: (string | number)[] = [];
      const add = (clause: string, arg?: string | number): void => {
        clauses.push(clause);
        if (arg !== undefined) args.push(arg);
      };
      if (f.zone) add('zone = ?', f.zone);
      if (f.cls) add('cls = ?', f.cls);
      if (f.camera) add('id IN (SELECT event_id FROM review_snapshots WHERE camera = ?)', f.camera);
      if (f.reviewed === 'reviewed') clauses.push('reviewed_at IS NOT NULL');
      if (f.reviewed === 'unreviewed') clauses.push('reviewed_at IS NULL');
      const where = (c: string[]): string => (c.length ? `WHERE ${c.join(' AND ')}` : '');
      const total = query(db, `SELECT count(*) AS n FROM review_events ${where(clauses)}`, z.object({ n: z.number().int() })).get(...args)!.n;
      if (page.beforeId) add('id < ?', page.beforeId);
      const rows = query(db, `SELECT * FROM review_events ${where(clauses)} ORDER BY id DESC LIMIT ?`, eventRow).all(...args, page.limit);
      return {
        items: rows.map(toItem),
        total,
        unreviewed: unreviewed.get()!.n,
        facets: { zones: zones.all().map((r) => r.v), classes: classes.all().map((r) => r.v), cameras: cameras.all().map((r) => r.v) },
      };
    },
    mark(ids: number[], at: number | null): number {
      return command(db, `UPDATE review_events SET reviewed_at = ? WHERE id IN (${ids.map(() => '?').join(',')})`).run(at, ...ids).changes;
    },
  };
}
