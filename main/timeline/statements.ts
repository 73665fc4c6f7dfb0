// Every SQL statement of the timeline capability, in one place, with rows decoded by schema rather
// than cast: a stored value of the wrong shape is reported (and skipped) here, not used further on.
import { z } from 'zod';
import { cameraIdSchema, type CameraId } from '../../preload/contract/camera-id';
import type { Db } from '../store';
import type { Mat3, PointPair } from './homography';
import type { OutcomeState } from './outcomes';
import type { Zone } from './zones';

export type CalibrationSource = 'reference-points' | 'simulator' | 'camera';

const json = <T extends z.ZodType>(schema: T) =>
  z.string().transform((s, ctx): z.output<T> => {
    try {
      const r = schema.safeParse(JSON.parse(s));
      if (r.success) return r.data;
      ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'invalid' });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
    }
    return z.NEVER;
  });

const point = z.object({ x: z.number(), y: z.number() });
const zoneSchema = z.object({
  id: z.string(),
  name: z.string(),
  polygon: z.array(point),
  threshold: z.number(),
  reactionS: z.number(),
  action: z.string().optional(),
});
const pointPair = z.object({ image: z.object({ u: z.number(), v: z.number() }), ground: point });
const n = z.number();
const mat3 = z.tuple([n, n, n, n, n, n, n, n, n]);
const calibrationRow = z.object({
  camera_id: cameraIdSchema,
  points: json(z.array(pointPair)),
  homography: json(mat3),
  rms_error_m: z.number(),
  source: z.enum(['reference-points', 'simulator', 'camera']),
  include_area: json(z.array(z.object({ u: z.number(), v: z.number() })).min(3).max(32)).nullable(),
});
const errorSums = z.object({ ade: z.number(), fde: z.number(), n: z.number() });
const outcomeState = z.object({ overall: errorSums, perCamera: z.record(z.string(), errorSums), brierSum: z.number(), brierN: z.number(), unresolved: z.number() });
const learning = { switch_counts: z.array(z.number()), outcomes: outcomeState.partial(), process_noise: z.number() } as const;
export type LearningKey = keyof typeof learning;

export interface StoredCalibration {
  cameraId: CameraId;
  points: PointPair[];
  h: Mat3;
  rmsErrorM: number;
  source: CalibrationSource;
  /** Where in its image the camera detects (calibration.cgi `includeArea`); undefined = the whole frame. */
  includeArea?: { u: number; v: number }[];
}

export interface TimelineStatements {
  /** A learned statistic, or undefined when absent or unreadable (`onBad` says which). */
  learning<K extends LearningKey>(key: K): z.output<(typeof learning)[K]> | undefined;
  saveLearning(values: { switch_counts: number[]; outcomes: OutcomeState; process_noise: number }, at: number): void;
  zones(): Zone[];
  replaceZones(zones: readonly Zone[], at: number): void;
  calibrations(): StoredCalibration[];
  saveCalibration(c: StoredCalibration, at: number): void;
}

export function timelineStatements(db: Db, onBad: (what: string, err: string) => void): TimelineStatements {
  const getLearning = db.prepare('SELECT value FROM timeline_learning WHERE key = ?');
  const putLearning = db.prepare(
    'INSERT INTO timeline_learning (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  const allZones = db.prepare('SELECT id, definition FROM timeline_zones ORDER BY id');
  const deleteZones = db.prepare('DELETE FROM timeline_zones');
  const insertZone = db.prepare('INSERT INTO timeline_zones (id, definition, updated_at) VALUES (?, ?, ?)');
  const allCalibrations = db.prepare('SELECT camera_id, points, homography, rms_error_m, source, include_area FROM timeline_calibrations');
  const upsertCalibration = db.prepare(
    `INSERT INTO timeline_calibrations (camera_id, points, homography, rms_error_m, updated_at, source, include_area) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(camera_id) DO UPDATE SET points = excluded.points, homography = excluded.homography, rms_error_m = excluded.rms_error_m,
       updated_at = excluded.updated_at, source = excluded.source, include_area = excluded.include_area`,
  );
  const zoneRow = z.object({ id: z.string(), definition: json(zoneSchema) });

  return {
    learning(key) {
      const raw = getLearning.get(key);
      if (raw === undefined) return undefined;
      const r = z.object({ value: json(learning[key]) }).safeParse(raw);
      if (r.success) return r.data.value as z.output<(typeof learning)[typeof key]>;
      onBad(`timeline statistic ${key}`, r.error.issues[0]?.message ?? 'invalid');
      return undefined;
    },
    saveLearning: db.transaction((v: { switch_counts: number[]; outcomes: OutcomeState; process_noise: number }, at: number) => {
      putLearning.run('switch_counts', JSON.stringify(v.switch_counts), at);
      putLearning.run('outcomes', JSON.stringify(v.outcomes), at);
      putLearning.run('process_noise', JSON.stringify(v.process_noise), at);
    }),
    zones() {
      const out: Zone[] = [];
      for (const raw of allZones.all()) {
        const r = zoneRow.safeParse(raw);
        if (r.success) out.push(r.data.definition);
        else onBad('timeline zone', r.error.issues[0]?.message ?? 'invalid');
      }
      return out;
    },
    replaceZones: db.transaction((zones: readonly Zone[], at: number) => {
      deleteZones.run();
      for (const z of zones) insertZone.run(z.id, JSON.stringify(z), at);
    }),
    calibrations() {
      const out: StoredCalibration[] = [];
      for (const raw of allCalibrations.all()) {
        const r = calibrationRow.safeParse(raw);
        if (!r.success) {
          onBad('camera calibration', r.error.issues[0]?.message ?? 'invalid');
          continue;
        }
        const c = r.data;
        out.push({ cameraId: c.camera_id, points: c.points, h: c.homography, rmsErrorM: c.rms_error_m, source: c.source, ...(c.include_area ? { includeArea: c.include_area } : {}) });
      }
      return out;
    },
    saveCalibration: (c, at) =>
      void upsertCalibration.run(c.cameraId, JSON.stringify(c.points), JSON.stringify(c.h), c.rmsErrorM, at, c.source, c.includeArea ? JSON.stringify(c.includeArea) : null),
  };
}
