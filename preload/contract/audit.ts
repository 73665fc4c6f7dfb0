import { z } from 'zod';
import { event, method, noInput } from './define';

export const auditSeverities = ['info', 'warning', 'critical'] as const;
export const auditSeveritySchema = z.enum(auditSeverities);

export const auditEventSchema = z.object({
  id: z.number().int(),
  ts: z.number(),
  /** Dotted name of what happened, e.g. "transport.refused", "camera.quarantined", "deploy.step". */
  kind: z.string(),
  severity: auditSeveritySchema,
  /** Who or what it came from: a peer address, a camera id, an agent name. */
  source: z.string(),
  message: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  resolvedAt: z.number().nullable(),
  resolvedNote: z.string().nullable(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

export const auditListInputSchema = z
  .object({
    severity: auditSeveritySchema.optional(),
    kind: z.string().max(100).optional(),
    status: z.enum(['open', 'resolved', 'all']).default('all'),
    text: z.string().max(200).optional(),
    /** Only events from this source (a peer address, a camera id, an agent name). */
    source: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(500).default(100),
    beforeId: z.number().int().positive().optional(),
  })
  .strict();

export const auditGroupSchema = z.object({
  kind: z.string(),
  source: z.string(),
  /** The most severe of the group's events. */
  severity: auditSeveritySchema,
  count: z.number().int(),
  open: z.number().int(),
  firstTs: z.number(),
  lastTs: z.number(),
  /** The newest event's id and message (the group's repeats say much the same). */
  latestId: z.number().int(),
  message: z.string(),
});
export type AuditGroup = z.infer<typeof auditGroupSchema>;

export const auditMethods = {
  'audit.groups': method(
    'Events grouped by kind and source (repeats of one thing become one row), newest group first, filtered as audit.list.',
    z
      .object({
        severity: auditSeveritySchema.optional(),
        kind: z.string().max(100).optional(),
        status: z.enum(['open', 'resolved', 'all']).default('open'),
        text: z.string().max(200).optional(),
        limit: z.number().int().min(1).max(500).default(200),
      })
      .strict(),
    z.object({ groups: z.array(auditGroupSchema), total: z.number().int() }),
  ),
  'audit.resolveMany': method(
    'Mark every open event of one kind (and source) resolved, up to and including `upToId` so that what arrived after the operator looked stays open.',
    z
      .object({
        kind: z.string().min(1).max(100),
        source: z.string().max(200).optional(),
        upToId: z.number().int().positive(),
        note: z.string().max(1000).optional(),
      })
      .strict(),
    z.object({ resolved: z.number().int() }),
  ),
  'audit.list': method(
    'Security-relevant events, newest first, filtered.',
    auditListInputSchema,
    z.object({ events: z.array(auditEventSchema), total: z.number().int() }),
  ),
  'audit.counts': method(
    'How many events of each severity and kind, and how many are open.',
    noInput,
    z.object({
      total: z.number().int(),
      open: z.number().int(),
      bySeverity: z.record(auditSeveritySchema, z.number().int()),
      byKind: z.record(z.string(), z.number().int()),
    }),
  ),
  'audit.resolve': method(
    'Mark an event as looked at and dealt with.',
    z.object({ id: z.number().int().positive(), note: z.string().max(1000).optional() }).strict(),
    auditEventSchema,
  ),
} as const;

export const auditEvents = {
  'audit.recorded': event('A new security-relevant event.', auditEventSchema),
  'audit.resolved': event('An event was marked resolved.', auditEventSchema),
} as const;
