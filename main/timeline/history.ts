// The Timeline's history: which camera saw which track when (segments), and the intervention
// points raised, kept in the database for a retention period so the strip shows the hours before
// the view was opened. Fed from the published tracks (the composition root wires it); persistence
// only, the tracker does not know it exists.
import { z } from 'zod';
import type { TimelineIntervention, TimelineTrack } from '../../preload/contract';
import { command, query, type Db } from '../store';

export interface HistorySegment {
  trackId: string;
  camera: string;
  cls: string;
  from: number;
  to: number;
}

export interface TimelineHistory {
  /** A published snapshot of the tracks (frame time `at`, ms). */
  recordTracks(at: number, tracks: readonly TimelineTrack[]): void;
  recordIntervention(iv: TimelineIntervention): void;
  /** Segments and interventions that overlap [from, to], oldest first, at most `limit` of each. */
  range(from: number, to: number, limit?: number): { segments: HistorySegment[]; interventions: TimelineIntervention[] };
  /** Writes open segments now and drops what is older than the retention. */
  flush(now: number): void;
  /** Changes the retention (the Settings value); a shorter one drops what it no longer keeps at once. */
  setRetentionMs(ms: number): void;
  /** The oldest moment still kept at `now`. */
  keptSince(now: number): number;
  close(): void;
}

/** A track unseen by a camera for longer than this ends that camera's segment (publishing is ~5 Hz). */
export const GAP_MS = 1500;

export function createTimelineHistory(db: Db, opts: { retentionMs: number; flushEveryMs?: number; now: () => number }): TimelineHistory {
  const upsert = command(
    db,
    `INSERT INTO timeline_segments (track_id, camera, cls, from_ts, to_ts) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (track_id, camera, from_ts) DO UPDATE SET to_ts = max(to_ts, excluded.to_ts), cls = excluded.cls`,
  );
  const putIv = command(
    db,
    'INSERT OR IGNORE INTO timeline_intervention_log (track_id, zone_id, at, probability, lead_time_s, act_by, suggested_action) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const segs = query(
    db,
    'SELECT track_id, camera, cls, from_ts, to_ts FROM timeline_segments WHERE to_ts >= ? AND from_ts <= ? ORDER BY from_ts LIMIT ?',
    z.object({ track_id: z.string(), camera: z.string(), cls: z.string(), from_ts: z.number(), to_ts: z.number() }),
  );
  const ivs = query(
    db,
    'SELECT * FROM timeline_intervention_log WHERE at >= ? AND at <= ? ORDER BY at LIMIT ?',
    z.object({ track_id: z.string(), zone_id: z.string(), at: z.number(), probability: z.number(), lead_time_s: z.number(), act_by: z.number(), suggested_action: z.string() }),
  );
  const dropSegs = command(db, 'DELETE FROM timeline_segments WHERE to_ts < ?');
  const dropIvs = command(db, 'DELETE FROM timeline_intervention_log WHERE at < ?');

  // Open segments by track|camera; written every flushEveryMs and when they end.
  const open = new Map<string, HistorySegment>();
  const dirty = new Set<string>();
  let lastFlush = opts.now();
  const every = opts.flushEveryMs ?? 2000;
  const checkRetention = (ms: number): number => {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`Timeline history retention must be a positive number of ms, got ${ms}`);
    return ms;
  };
  let retentionMs = checkRetention(opts.retentionMs);
  const write = (s: HistorySegment): void => void upsert.run(s.trackId, s.camera, s.cls, s.from, s.to);

  const flush = (now: number): void => {
    db.transaction(() => {
      for (const k of dirty) {
        const s = open.get(k);
        if (s) write(s);
      }
      dirty.clear();
      dropSegs.run(now - retentionMs);
      dropIvs.run(now - retentionMs);
    })();
    lastFlush = now;
  };

  return {
    recordTracks(at, tracks) {
      if (!at) return;
      for (const t of tracks) {
        const key = `${t.id}|${t.lastCamera}`;
        const s = open.get(key);
        if (s && at - s.to <= GAP_MS && at >= s.to) s.to = at;
        else {
          if (s) write(s);
          open.set(key, { trackId: t.id, camera: t.lastCamera, cls: t.cls, from: at, to: at });
        }
        dirty.add(key);
      }
      // Segments whose track was not in this snapshot for longer than the gap have ended.
      for (const [k, s] of open)
        if (at - s.to > GAP_MS) {
          write(s);
          open.delete(k);
          dirty.delete(k);
        }
      const now = opts.now();
      if (now - lastFlush >= every) flush(now);
    },
    recordIntervention(iv) {
      putIv.run(iv.trackId, iv.zoneId, iv.at, iv.probability, iv.leadTimeS, iv.actBy, iv.suggestedAction);
    },
    range(from, to, limit = 20_000) {
      return {
        segments: segs.all(from, to, limit).map((r) => ({ trackId: r.track_id, camera: r.camera, cls: r.cls, from: r.from_ts, to: r.to_ts })),
        interventions: ivs.all(from, to, limit).map((r) => ({ trackId: r.track_id, zoneId: r.zone_id, at: r.at, probability: r.probability, leadTimeS: r.lead_time_s, actBy: r.act_by, suggestedAction: r.suggested_action })),
      };
    },
    flush,
    setRetentionMs(ms) {
      const shorter = checkRetention(ms) < retentionMs;
      retentionMs = ms;
      if (shorter) flush(opts.now());
    },
    keptSince: (now) => now - retentionMs,
    close() {
      flush(opts.now());
    },
  };
}
