import { z } from 'zod';
import { event, method, noInput } from './define';

export const swarmModes = ['strict', 'permissive', 'audit'] as const;
export const swarmModeSchema = z.enum(swarmModes);
const serial = z.string().regex(/^[0-9A-F]{12}$/, 'Use the camera serial: 12 upper-case hex digits');

export const swarmNodeSchema = z.object({
  id: z.string(),
  zones: z.array(z.string()),
  status: z.enum(['healthy', 'degraded', 'down', 'quarantined']),
  cluster: z.string().nullable(),
  head: z.boolean(),
  reputation: z.number(),
  latencyMs: z.number().nullable(),
  loss: z.number(),
  lastSeen: z.number().nullable(),
});
export const swarmGraphSchema = z.object({
  mode: z.enum(['mesh', 'clustered']),
  nodes: z.array(swarmNodeSchema),
  edges: z.array(z.object({ a: z.string(), b: z.string(), kind: z.enum(['mesh', 'member', 'backbone']) })),
  clusters: z.array(z.object({ id: z.string(), zone: z.string(), head: z.string(), members: z.array(z.string()) })),
  heads: z.array(z.string()),
  version: z.number().int(),
  formedAt: z.number(),
});
export type SwarmGraph = z.infer<typeof swarmGraphSchema>;

export const swarmZoneSchema = z.object({
  zone: z.string(),
  covering: z.array(z.string()),
  n: z.number().int(),
  f: z.number().int(),
  healthy: z.number().int(),
  lacksLiveness: z.boolean(),
  byzantineTolerant: z.boolean(),
});

const groundPoint = z.object({ x: z.number().finite().min(-1e6).max(1e6), y: z.number().finite().min(-1e6).max(1e6) }).strict();
export const swarmZoneConfigSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'Use a short id: lower-case letters, digits, - or _'),
    name: z.string().min(1).max(100),
    /** Ground-plane polygon in metres, at least a triangle. */
    polygon: z.array(groundPoint).min(3).max(64),
    /** Cameras (serials) that cover this zone without a ground calibration. */
    cameras: z.array(serial).max(500).default([]),
  })
  .strict();
export type SwarmZoneConfig = z.infer<typeof swarmZoneConfigSchema>;
const zonesOut = z.object({
  zones: z.array(z.object({ id: z.string(), name: z.string(), polygon: z.array(z.object({ x: z.number(), y: z.number() })), cameras: z.array(z.string()) })),
  source: z.enum(['none', 'demo', 'user']),
});

export const swarmQuarantineSchema = z.object({
  camera: z.string(),
  reason: z.string(),
  trackId: z.string(),
  ts: z.number(),
  detectedAt: z.number(),
  /** Both signed payloads, verbatim: the proof of equivocation. */
  first: z.string(),
  second: z.string(),
  releasedAt: z.number().nullable(),
});
export type SwarmQuarantine = z.infer<typeof swarmQuarantineSchema>;

export const swarmEventSchema = z.object({
  id: z.number().int(),
  zone: z.string(),
  cls: z.string(),
  startTs: z.number(),
  endTs: z.number(),
  confirmedAt: z.number(),
  confirmers: z.array(z.string()),
  disagreed: z.array(z.string()),
  flagged: z.array(z.string()),
  f: z.number().int(),
  n: z.number().int(),
  closed: z.boolean(),
});
export type SwarmEvent = z.infer<typeof swarmEventSchema>;

export const swarmPatternSchema = z.object({
  kind: z.enum(['overruled_camera', 'zone_without_quorum', 'zone_lacks_liveness', 'camera_quarantined']),
  subject: z.string(),
  message: z.string(),
  suggestion: z.string(),
});
export const swarmDecisionSchema = z.object({
  at: z.number(),
  rule: z.enum(['confirmed_f_plus_1', 'closed', 'not_confirmed', 'overruled_by_quorum', 'equivocation_quarantine', 'released']),
  zone: z.string().nullable(),
  cls: z.string().nullable(),
  confirmed: z.array(z.string()),
  overruled: z.array(z.string()),
  quarantined: z.array(z.string()),
  note: z.string(),
});
export type SwarmDecision = z.infer<typeof swarmDecisionSchema>;

export const swarmMethods = {
  'swarm.status': method(
    'The coordinator now: verification mode, topology graph, zones with coverage and liveness, quarantined cameras, refused reports.',
    noInput,
    z.object({
      mode: swarmModeSchema,
      graph: swarmGraphSchema,
      zones: z.array(swarmZoneSchema),
      quarantined: z.array(swarmQuarantineSchema),
      rejected: z.object({ total: z.number().int(), byReason: z.record(z.string(), z.number().int()) }),
      accepted: z.number().int(),
      /** The ingest queue in front of the coordinator: when `shed` grows, the desktop is behind its fleet and drops the oldest reports. */
      backlog: z.object({
        queued: z.number().int(),
        oldestMs: z.number(),
        shed: z.number().int(),
        inFlight: z.number().int(),
        /** Median (received − sent) of the last batch of accepted reports, ms; null before any. Large = a queue in front of the desktop (broker, socket). */
        transitMs: z.number().nullable(),
        /**
         * Batches verified and waiting for their replay commit (swarm-replay.db) before they are
         * fused. Normally 0–2; when it stays high the disk is what the desktop waits on, and past the
         * ingest's limit no more reports are taken from the queue (queued and oldestMs grow, then shed).
         */
        pendingCommits: z.number().int(),
      }),
    }),
  ),
  'swarm.events': method(
    'Confirmed events, newest first, each with the cameras that confirmed it and those that disagreed.',
    z
      .object({
        limit: z.number().int().min(1).max(500).default(50),
        beforeId: z.number().int().positive().optional(),
        zone: z.string().max(100).optional(),
      })
      .strict(),
    z.object({ events: z.array(swarmEventSchema), total: z.number().int() }),
  ),
  'swarm.release': method(
    'Release a quarantined camera after looking at its proof; its reports count again.',
    z.object({ camera: serial, note: z.string().max(1000).optional() }).strict(),
    z.object({ camera: z.string(), released: z.boolean() }),
  ),
  'swarm.setMode': method(
    'What is recorded and shown of reports that fail a check. In every mode they are refused: they never count toward a confirmed event, a quarantine, the timeline or a camera being online. strict records the refusal; permissive also draws their boxes on the camera tile, marked unverified; audit records the refused message itself for diagnosis.',
    z.object({ mode: swarmModeSchema }).strict(),
    z.object({ mode: swarmModeSchema }),
  ),
  'swarm.zones': method('The site zones fusion confirms events in (ground polygons in metres), and where they came from.', noInput, zonesOut),
  'swarm.setZones': method(
    'Replace the site zones. Calibrated cameras cover the zones in their view; list a camera under a zone when it has no calibration.',
    z
      .object({ zones: z.array(swarmZoneConfigSchema).max(200) })
      .strict()
      .refine((v) => new Set(v.zones.map((x) => x.id)).size === v.zones.length, 'Zone ids must be unique'),
    zonesOut,
  ),
  'swarm.insights': method(
    "The coordinator's record of its own decisions and the patterns in it, each with a suggestion.",
    z.object({ recent: z.number().int().min(0).max(500).default(50) }).strict(),
    z.object({
      patterns: z.array(swarmPatternSchema),
      byRule: z.record(z.string(), z.number().int()),
      recent: z.array(swarmDecisionSchema),
    }),
  ),
} as const;

export const swarmEvents = {
  'swarm.event': event('A confirmed event, when confirmed and again when it closes.', swarmEventSchema),
  'swarm.topology': event('The topology after it was re-formed.', swarmGraphSchema),
  'swarm.zones': event('The site zones changed.', zonesOut),
  'swarm.quarantine': event('A camera was quarantined (with its proof) or released.', swarmQuarantineSchema),
} as const;
