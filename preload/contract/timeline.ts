import { z } from 'zod';
import { cameraIdSchema } from './camera-id';
import { event, method, noInput } from './define';

const coord = z.number().finite().min(-1e5).max(1e5);
const groundPoint = z.object({ x: coord, y: coord }).strict();
const unit = z.number().finite().min(0).max(1);

export const timelineZoneSchema = z
  .object({
    id: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    polygon: z.array(groundPoint).min(3).max(64),
    /** Entry probability at which an intervention point is raised. */
    threshold: z.number().min(0.01).max(0.99).default(0.5),
    /** Seconds somebody needs to act; earlier warnings only. */
    reactionS: z.number().min(0).max(60).default(2),
    action: z.string().max(200).optional(),
  })
  .strict();
export type TimelineZone = z.infer<typeof timelineZoneSchema>;

const cov = z.tuple([z.number(), z.number(), z.number()]);
export const timelineFutureSchema = z.object({
  label: z.string(),
  weight: z.number(),
  points: z.array(z.object({ dt: z.number(), x: z.number(), y: z.number(), cov })),
});

export const timelineTrackSchema = z.object({
  id: z.string(),
  cls: z.string(),
  confirmed: z.boolean(),
  x: z.number(),
  y: z.number(),
  vx: z.number(),
  vy: z.number(),
  cov,
  cameras: z.array(cameraIdSchema),
  lastCamera: cameraIdSchema,
  /** Frame time of the last update, ms. */
  updatedAt: z.number(),
  modes: z.record(z.string(), z.number()),
  futures: z.array(timelineFutureSchema),
});
export type TimelineTrack = z.infer<typeof timelineTrackSchema>;

export const timelineInterventionSchema = z.object({
  trackId: z.string(),
  zoneId: z.string(),
  probability: z.number(),
  at: z.number(),
  leadTimeS: z.number(),
  actBy: z.number(),
  suggestedAction: z.string(),
});
export type TimelineIntervention = z.infer<typeof timelineInterventionSchema>;

const calibrationPoint = z.object({ image: z.object({ u: unit, v: unit }).strict(), ground: groundPoint }).strict();
export const timelineCalibrationSchema = z.object({
  cameraId: cameraIdSchema,
  homography: z.array(z.number()).length(9).nullable(),
  rmsErrorM: z.number().nullable(),
  source: z.enum(['reference-points', 'simulator', 'camera', 'none']),
  points: z.array(calibrationPoint),
});

const errorStats = z.object({ ade: z.number().nullable(), fde: z.number().nullable(), n: z.number() });
export const timelineStatsSchema = z.object({
  overall: errorStats.extend({ brier: z.number().nullable(), brierN: z.number() }),
  perCamera: z.array(errorStats.extend({ cameraId: cameraIdSchema })),
  modes: z.array(z.string()),
  switchMatrix: z.array(z.array(z.number())),
  processNoise: z.number(),
  unresolved: z.number(),
});
export type TimelineStats = z.infer<typeof timelineStatsSchema>;

export const timelineFeedPathSchema = z.object({
  trackId: z.string(),
  label: z.string(),
  weight: z.number(),
  /** Normalised image points (u right, v down, 0..1; may fall outside the frame), starting at the track's position. */
  points: z.array(z.tuple([z.number(), z.number()])),
});
export type TimelineFeedPath = z.infer<typeof timelineFeedPathSchema>;

export const timelineCameraSchema = z.object({
  cameraId: cameraIdSchema,
  source: z.enum(['reference-points', 'simulator', 'camera']),
  rmsErrorM: z.number(),
  /** Ground bounding box the image covers (null sides when the horizon is in view). */
  footprint: z.object({ minX: z.number().nullable(), minY: z.number().nullable(), maxX: z.number().nullable(), maxY: z.number().nullable() }),
  /**
   * Where on the ground the camera detects: its include area (calibration.cgi) mapped through its
   * calibration, metres; null when it gave none (the whole frame, which reaches to the horizon).
   */
  detectionArea: z.array(z.object({ x: z.number(), y: z.number() })).nullable(),
});

export const timelineMethods = {
  'timeline.tracks': method(
    'Current ground-plane tracks with their probable futures.',
    z.object({ confirmedOnly: z.boolean().default(true) }).strict(),
    z.object({ at: z.number(), tracks: z.array(timelineTrackSchema) }),
  ),
  'timeline.zones': method(
    'Restricted zones (polygons on the ground, metres). With `set`, replaces all zones first.',
    z.object({ set: z.array(timelineZoneSchema).max(64).optional() }).strict(),
    z.array(timelineZoneSchema),
  ),
  'timeline.interventions': method('Current intervention points, earliest first.', noInput, z.array(timelineInterventionSchema)),
  'timeline.calibration': method(
    "A camera's ground mapping. With `points` (4–32 image↔ground pairs) it is estimated and saved first.",
    z.object({ cameraId: cameraIdSchema, points: z.array(calibrationPoint).min(4).max(32).optional() }).strict(),
    timelineCalibrationSchema,
  ),
  'timeline.cameras': method('Calibrated cameras: where each calibration came from, its error and the ground it covers.', noInput, z.array(timelineCameraSchema)),
  'timeline.futuresForCamera': method(
    "Current tracks' probable futures projected into one camera's image (ground → image through its calibration), to draw on its feed.",
    z.object({ cameraId: cameraIdSchema }).strict(),
    z.object({ cameraId: cameraIdSchema, at: z.number(), calibrated: z.boolean(), paths: z.array(timelineFeedPathSchema) }),
  ),
  'timeline.futuresForCameras': method(
    "timeline.futuresForCamera for several cameras in one call, from one snapshot of the tracks: what a live grid asks once per refresh for all the feeds it shows.",
    z.object({ cameraIds: z.array(cameraIdSchema).min(1).max(64) }).strict(),
    z.object({
      at: z.number(),
      cameras: z.array(z.object({ cameraId: cameraIdSchema, calibrated: z.boolean(), paths: z.array(timelineFeedPathSchema) })),
    }),
  ),
  'timeline.history': method(
    'What the timeline kept between two times (ms): per camera, when it saw which track; and the intervention points raised. Kept for the retention period.',
    z.object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative(), limit: z.number().int().min(1).max(50_000).default(20_000) }).strict(),
    z.object({
      from: z.number(),
      to: z.number(),
      /** The oldest moment still kept (older history was dropped by the retention). */
      keptSince: z.number(),
      segments: z.array(z.object({ trackId: z.string(), camera: cameraIdSchema, cls: z.string(), from: z.number(), to: z.number() })),
      interventions: z.array(timelineInterventionSchema),
    }),
  ),
  'timeline.stats': method('Prediction quality: ADE/FDE per camera and overall, Brier score, learned switch matrix.', noInput, timelineStatsSchema),
} as const;

export const timelineEvents = {
  'timeline.tracks': event('Tracks with futures, at most 5 times a second.', z.object({ at: z.number(), tracks: z.array(timelineTrackSchema) })),
  'timeline.intervention': event('A new intervention point (once per track and zone until it clears).', timelineInterventionSchema),
} as const;
