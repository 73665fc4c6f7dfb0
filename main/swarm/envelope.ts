// The signed camera message as docs/protocol.md defines it (envelope v2, with the camera's boot
// epoch), written for the coordinator's side (the simulator and the C app have their own
// implementations on purpose).
import crypto from 'node:crypto';
import { z } from 'zod';

export const ENVELOPE_VERSION = 2;
export const MAX_ENVELOPE_BYTES = 64 * 1024;
export const SIGNING_DOMAIN = 'omnisight.v2';
/** Boot epochs are 1..2^32-1 (the camera persists and increments one per app start). */
export const MAX_EPOCH = 0xffff_ffff;
export const objectClasses = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;
export type ObjectClass = (typeof objectClasses)[number];
export type MessageKind = 'detections' | 'heartbeat' | 'fl' | 'session';

interface EnvelopeBase {
  camera: string;
  /** The camera's boot epoch: seq restarts at 1 in each epoch. */
  epoch: number;
  seq: number;
  sent: number;
  kind: MessageKind;
  key: string;
  body: string;
}
/** Envelope v2: Ed25519-signed (every kind; `fl` and `session` are always v2). */
export interface EnvelopeV2 extends EnvelopeBase {
  v: 2;
  sig: string;
}
/** Envelope v3: HMAC-SHA256 under the session key K of `session` (docs/protocol.md, "Envelope v3"). */
export interface EnvelopeV3 extends EnvelopeBase {
  v: 3;
  kind: 'detections' | 'heartbeat';
  session: number;
  mac: string;
}
export type Envelope = EnvelopeV2 | EnvelopeV3;

/** The exact bytes the camera signs: fields joined by "\n", no trailing newline. */
export const signingInput = (e: Pick<Envelope, 'camera' | 'epoch' | 'seq' | 'sent' | 'kind' | 'key' | 'body'>): string =>
  `${SIGNING_DOMAIN}\n${e.camera}\n${e.epoch}\n${e.seq}\n${e.sent}\n${e.kind}\n${e.key}\n${e.body}`;

const SERIAL = /^[0-9A-F]{12}$/;
/** Lower-case hex of the first 8 bytes of SHA-256 over the raw public key. */
const KEY_ID = /^[0-9a-f]{16}$/;

/** The key id of a raw 32-byte Ed25519 public key (standard base64), as the camera computes it. */
export function keyIdOf(publicKeyBase64: string): string {
  return crypto.createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest('hex').slice(0, 16);
}
const SIG_B64 = /^[A-Za-z0-9+/]{86}==$/; // 64 bytes in standard base64
const MAC_B64 = /^[A-Za-z0-9+/]{43}=$/; // 32 bytes in standard base64

/**
 * Shape check by hand: this runs for every message, and a few typeof tests are cheaper than a
 * schema walk. Returns a reason for the first thing wrong, or the envelope.
 */
export function checkEnvelope(x: unknown): Envelope | string {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'not a JSON object';
  const o = x as Record<string, unknown>;
  const v3 = o.v === 3;
  const fields = v3 ? envelopeV3Fields : envelopeFields;
  for (const k of Object.keys(o)) {
    if (!fields.has(k)) return `unknown field "${k.slice(0, 40)}"`;
  }
  if (o.v !== ENVELOPE_VERSION && !v3) return o.v === 1 ? 'envelope v1 is no longer accepted: update the camera app (v2 adds the boot epoch)' : 'v must be 2 or 3';
  if (typeof o.camera !== 'string' || !SERIAL.test(o.camera)) return 'camera must be a 12-digit upper-case hex serial';
  if (typeof o.epoch !== 'number' || !Number.isSafeInteger(o.epoch) || o.epoch < 1 || o.epoch > MAX_EPOCH) return 'epoch must be an integer 1..2^32-1';
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) return 'seq must be a positive integer';
  if (typeof o.sent !== 'number' || !Number.isSafeInteger(o.sent) || o.sent < 0) return 'sent must be a millisecond timestamp';
  if (v3) {
    if (o.kind !== 'detections' && o.kind !== 'heartbeat') return 'kind of a v3 envelope must be detections or heartbeat (fl and session are always v2)';
  } else if (o.kind !== 'detections' && o.kind !== 'heartbeat' && o.kind !== 'fl' && o.kind !== 'session') return 'kind must be detections, heartbeat, fl or session';
  if (typeof o.key !== 'string' || !KEY_ID.test(o.key)) return 'key must be the key id: 16 lower-case hex digits';
  if (typeof o.body !== 'string') return 'body must be a JSON text';
  if (v3) {
    if (typeof o.session !== 'number' || !Number.isSafeInteger(o.session) || o.session < 1) return 'session must be a positive integer';
    if (typeof o.mac !== 'string' || !MAC_B64.test(o.mac)) return 'mac must be 32 bytes of standard base64';
  } else if (typeof o.sig !== 'string' || !SIG_B64.test(o.sig)) return 'sig must be 64 bytes of standard base64';
  return o as unknown as Envelope;
}
const envelopeFields = new Set(['v', 'camera', 'epoch', 'seq', 'sent', 'kind', 'key', 'body', 'sig']);
const envelopeV3Fields = new Set(['v', 'camera', 'epoch', 'seq', 'sent', 'kind', 'key', 'session', 'body', 'mac']);

const unit = z.number().min(0).max(1);
export const boxSchema = z
  .object({ left: unit, top: unit, right: unit, bottom: unit })
  .refine((b) => b.left < b.right && b.top < b.bottom, { message: 'box must have left < right and top < bottom' });
export type Box = z.infer<typeof boxSchema>;

// Bodies come from devices that may be a version ahead of us: extra fields are ignored, not refused.
export const detectionsBodySchema = z.object({
  frame: z.object({
    timestamp: z.number().int().nonnegative(),
    observations: z
      .array(
        z.object({
          bounding_box: boxSchema,
          class: z.object({ type: z.enum(objectClasses), score: z.number().min(0).max(1) }),
          track_id: z.string().max(64),
          timestamp: z.number().int().nonnegative(),
        }),
      )
      .max(256),
    operations: z.array(z.object({ id: z.string().max(64), type: z.string().max(64) })).max(256).optional(),
  }),
  stats: z
    .object({
      inference_ms: z.number().nonnegative(),
      fps_camera: z.number().nonnegative(),
      fps_processed: z.number().nonnegative(),
      fps_skipped: z.number().nonnegative(),
      width: z.number().int().positive().optional(),
      height: z.number().int().positive().optional(),
    })
    .optional(),
});
export type DetectionsBody = z.infer<typeof detectionsBodySchema>;

export const heartbeatBodySchema = z.object({
  app: z.string().max(64),
  version: z.string().max(64),
  uptime_s: z.number().nonnegative(),
  fps_camera: z.number().nonnegative(),
  fps_processed: z.number().nonnegative(),
  fps_skipped: z.number().nonnegative(),
  inference_ms: z.number().nonnegative(),
  mem_bytes: z.number().nonnegative().optional(),
  /** The loaded head (docs/protocol.md, fl2); older apps send a model name. */
  model: z.union([z.string().max(128), z.object({ name: z.string().max(128), version: z.number().int().nonnegative() })]).optional(),
  /** The loaded head's metric on the camera's held-out samples (fl2), aggregates only. */
  head: z
    .object({ version: z.number().int().nonnegative(), heldOut: z.number().int().nonnegative(), logLoss: z.number().nonnegative(), accuracy: z.number().min(0).max(1) })
    .optional(),
});
export type HeartbeatBody = z.infer<typeof heartbeatBodySchema>;

/**
 * A federated-learning message (docs/protocol.md, fl2). The swarm checks only that it names a round
 * and a phase; the federated server validates the rest strictly, after the swarm verified the
 * signature: one trust path, one judge per layer.
 */
export const flBodySchema = z.looseObject({ round: z.string().max(64), phase: z.string().max(16) });
export type FlBody = z.infer<typeof flBodySchema>;
