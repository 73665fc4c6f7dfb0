import { z } from 'zod';
import { event, method, noInput } from './define';

export const reviewSnapshotSchema = z.object({
  camera: z.string(),
  /** Content hash of the JPEG (sha256, hex); null when it was evicted to stay under the budget or could not be taken. */
  sha256: z.string().nullable(),
  bytes: z.number().int(),
  takenAt: z.number(),
  /** Why there is no picture, in words, when there is none. */
  error: z.string().nullable(),
});

export const reviewItemSchema = z.object({
  /** The swarm event's id. */
  id: z.number().int(),
  zone: z.string(),
  cls: z.string(),
  startTs: z.number(),
  endTs: z.number(),
  confirmedAt: z.number(),
  closed: z.boolean(),
  confirmers: z.array(z.string()),
  reviewedAt: z.number().nullable(),
  snapshots: z.array(reviewSnapshotSchema),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

export const reviewMethods = {
  'review.list': method(
    'Confirmed events for review, newest first, with a snapshot per confirming camera; filtered by zone, class, camera and reviewed state.',
    z
      .object({
        zone: z.string().max(64).optional(),
        cls: z.string().max(64).optional(),
        camera: z.string().max(64).optional(),
        reviewed: z.enum(['all', 'reviewed', 'unreviewed']).default('all'),
        limit: z.number().int().min(1).max(500).default(100),
        beforeId: z.number().int().positive().optional(),
      })
      .strict(),
    z.object({
      items: z.array(reviewItemSchema),
      total: z.number().int(),
      unreviewed: z.number().int(),
      facets: z.object({ zones: z.array(z.string()), classes: z.array(z.string()), cameras: z.array(z.string()) }),
    }),
  ),
  'review.snapshot': method(
    'One snapshot JPEG by its content hash.',
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
    z.object({ sha256: z.string(), mime: z.literal('image/jpeg'), dataBase64: z.string() }),
  ),
  'review.mark': method(
    'Mark events reviewed (or not).',
    z.object({ ids: z.array(z.number().int().positive()).min(1).max(500), reviewed: z.boolean() }).strict(),
    z.object({ updated: z.number().int() }),
  ),
  'review.storage': method('How much the snapshots take, against their budget.', noInput, z.object({ bytes: z.number().int(), files: z.number().int(), budgetBytes: z.number().int(), evicted: z.number().int() })),
} as const;

export const reviewEvents = {
  'review.item': event('An event entered the review list or changed (closed, snapshots taken, reviewed).', reviewItemSchema),
} as const;
