// Every SQL statement of the swarm capability, in one place, with rows decoded by schema rather
// than cast: a row that does not have the shape the code expects is an error here, not a wrong
// value further on.
import { z } from 'zod';
import type { Db } from '../store';
import type { ZoneConfig } from './coverage';
import type { ConfirmedEvent, EquivocationProof } from './fusion';
import type { ReplayEntry } from './replay';

// Built once: a schema made inside the transform was rebuilt for every event row (each update of
// an open event), a visible share of the main thread at 10,000 reports/s.
const strings = z.array(z.string());
const stringArray = z.string().transform((s, ctx) => {
  try {
    const v = strings.safeParse(JSON.parse(s));
    if (v.success) return v.data;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'not a JSON array of strings' });
  return z.NEVER;
});

const eventRow = z.object({
  id: z.number().int(),
  zone: z.string(),
  cls: z.string(),
  start_ts: z.number(),
  end_ts: z.number(),
  confirmed_at: z.number(),
  confirmers: stringArray,
  disagreed: stringArray,
  // Only events stored before version 2 of the envelope can have entries here: since then a report
  // that failed a check never counts toward confirmation, whatever the verification mode.
  flagged: stringArray,
  f: z.number().int(),
  n: z.number().int(),
  closed: z.number().int(),
});
export type StoredEvent = z.infer<typeof eventRow>;

const quarantineRow = z.object({
  camera: z.string(),
  reason: z.string(),
  track_id: z.string(),
  ts: z.number(),
  first: z.string(),
  second: z.string(),
  detected_at: z.number(),
});

const zoneState = z.object({
  zones: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      polygon: z.array(z.object({ x: z.number(), y: z.number() })),
      cameras: z.array(z.string()),
    }),
  ),
  source: z.enum(['none', 'demo', 'user']),
});
export type StoredZones = { zones: ZoneConfig[]; source: 'none' | 'demo' | 'user' };

const replayRow = z.object({ camera: z.string(), key: z.string(), epoch: z.bigint(), highest: z.bigint(), window: z.bigint() });
const stateRow = z.object({ value: z.string() });
const countRow = z.object({ n: z.number().int() });

export interface SwarmStatements {
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  /** The stored zones, or undefined when none were stored or what is stored is unreadable (the reason is thrown to the caller). */
  readZones(): StoredZones | undefined;
  writeZones(z: StoredZones): void;
  insertEvent(ev: ConfirmedEvent): StoredEvent;
  updateEvent(id: number, ev: ConfirmedEvent): StoredEvent;
  events(o: { limit: number; beforeId?: number; zone?: string }): { rows: StoredEvent[]; total: number };
  insertQuarantine(p: EquivocationProof): void;
  releaseQuarantine(camera: string, at: number, note: string | null): void;
  openQuarantines(): EquivocationProof[];
  bumpDecision(day: number, rule: string, subject: string): void;
  loadReplay(): ReplayEntry[];
  /** Upserts the entries in one transaction (one fsync with synchronous=FULL). */
  saveReplay(entries: readonly ReplayEntry[], at: number): void;
  transaction<T>(fn: () => T): T;
  /**
   * A transaction whose commit does not wait for the disk (synchronous=NORMAL for it; the database is
   * in WAL mode): it survives a crash of the process at once, and a power loss from the next full
   * commit on, whose fsync of the WAL covers every frame before it. For what is written behind anyway
   * — a batch's events and counters, after the replay state that guards acting on it was committed
   * with a full fsync — so a verification cycle costs one fsync, not two.
   */
  writtenBehind<T>(fn: () => T): T;
}

export function swarmStatements(db: Db): SwarmStatements {
  const getState = db.prepare('SELECT value FROM swarm_state WHERE key = ?');
  const setState = db.prepare('INSERT INTO swarm_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  const insertEvent = db.prepare(
    'INSERT INTO swarm_events (zone, cls, start_ts, end_ts, confirmed_at, confirmers, disagreed, flagged, f, n, closed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const updateEvent = db.prepare('UPDATE swarm_events SET end_ts = ?, confirmers = ?, disagreed = ?, closed = ? WHERE id = ? RETURNING *');
  // The event list's filters are fixed: one statement per combination, no SQL built from input.
  const countAll = db.prepare('SELECT count(*) AS n FROM swarm_events');
  const countZone = db.prepare('SELECT count(*) AS n FROM swarm_events WHERE zone = ?');
  const page = db.prepare('SELECT * FROM swarm_events WHERE id < ? ORDER BY id DESC LIMIT ?');
  const pageZone = db.prepare('SELECT * FROM swarm_events WHERE zone = ? AND id < ? ORDER BY id DESC LIMIT ?');
  const insertQuarantine = db.prepare('INSERT INTO swarm_quarantines (camera, reason, track_id, ts, first, second, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const releaseQuarantine = db.prepare('UPDATE swarm_quarantines SET released_at = ?, released_note = ? WHERE camera = ? AND released_at IS NULL');
  const openQuarantines = db.prepare('SELECT camera, reason, track_id, ts, first, second, detected_at FROM swarm_quarantines WHERE released_at IS NULL ORDER BY id');
  const bumpDecision = db.prepare('INSERT INTO swarm_decisions (day, rule, subject, count) VALUES (?, ?, ?, 1) ON CONFLICT(day, rule, subject) DO UPDATE SET count = count + 1');
  // 64-bit window: read as BigInt so no bit is lost to a double.
  const replayAll = db.prepare('SELECT camera, key, epoch, highest, window FROM swarm_replay').safeIntegers(true);
  const replayUpsert = db.prepare(
    `INSERT INTO swarm_replay (camera, key, epoch, highest, window, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(camera, key) DO UPDATE SET epoch = excluded.epoch, highest = excluded.highest, window = excluded.window, updated_at = excluded.updated_at`,
  );
  const saveReplay = db.transaction((entries: readonly ReplayEntry[], at: number) => {
    for (const e of entries) replayUpsert.run(e.camera, e.key, e.epoch, e.highest, BigInt.asIntN(64, e.window), at);
  });
  const event = (row: unknown): StoredEvent => eventRow.parse(row);
  let syncLevel: number | undefined;

  return {
    getState: (key) => {
      const r = getState.get(key);
      return r === undefined ? undefined : stateRow.parse(r).value;
    },
    setState: (key, value) => void setState.run(key, value),
    readZones() {
      const r = getState.get('zones');
      if (r === undefined) return undefined;
      return zoneState.parse(JSON.parse(stateRow.parse(r).value));
    },
    writeZones: (z) => void setState.run('zones', JSON.stringify(z)),
    insertEvent: (ev) =>
      event(insertEvent.get(ev.zone, ev.cls, ev.startTs, ev.endTs, ev.confirmedAt, JSON.stringify(ev.confirmers), JSON.stringify(ev.disagreed), '[]', ev.f, ev.n, ev.closed ? 1 : 0)),
    updateEvent: (id, ev) => event(updateEvent.get(ev.endTs, JSON.stringify(ev.confirmers), JSON.stringify(ev.disagreed), ev.closed ? 1 : 0, id)),
    events({ limit, beforeId, zone }) {
      const before = beforeId ?? Number.MAX_SAFE_INTEGER;
      const total = countRow.parse(zone ? countZone.get(zone) : countAll.get()).n;
      const rows = (zone ? pageZone.all(zone, before, limit) : page.all(before, limit)).map(event);
      return { rows, total };
    },
    insertQuarantine: (p) => void insertQuarantine.run(p.camera, p.reason, p.trackId, p.ts, p.first, p.second, p.detectedAt),
    releaseQuarantine: (camera, at, note) => void releaseQuarantine.run(at, note, camera),
    openQuarantines: () =>
      openQuarantines.all().map((raw) => {
        const q = quarantineRow.parse(raw);
        return { camera: q.camera, reason: q.reason, trackId: q.track_id, ts: q.ts, first: q.first, second: q.second, detectedAt: q.detected_at };
      }),
    bumpDecision: (day, rule, subject) => void bumpDecision.run(day, rule, subject),
    loadReplay: () =>
      replayAll.all().map((raw) => {
        const r = replayRow.parse(raw);
        return { camera: r.camera, key: r.key, epoch: Number(r.epoch), highest: Number(r.highest), window: BigInt.asUintN(64, r.window) };
      }),
    saveReplay: (entries, at) => saveReplay(entries, at),
    transaction: (fn) => db.transaction(fn)(),
    writtenBehind: (fn) => {
      if (db.inTransaction) return db.transaction(fn)(); // part of an outer transaction: its commit decides
      // The level to return to is read once: only this function changes it, and always restores it
      // (a pragma read on every call was three pragma statements per batch on the main thread).
      syncLevel ??= Number(db.pragma('synchronous', { simple: true }));
      db.pragma('synchronous = NORMAL');
      try {
        return db.transaction(fn)();
      } finally {
        db.pragma(`synchronous = ${Number.isInteger(syncLevel) ? syncLevel : 2}`);
      }
    },
  };
}
