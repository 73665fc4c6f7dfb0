// Parses what cameras publish under axis/<SERIAL>/omnisight/<kind> (docs/protocol.md): size limit,
// envelope, then the body in the Axis scene-metadata shape. Signatures are checked later by the
// swarm capability; here a message is only well-formed or counted as bad input.
import { z } from 'zod';

export const MAX_PAYLOAD_BYTES = 64 * 1024;

const serial = z.string().regex(/^[0-9A-F]{12}$/, 'serial must be 12 upper-case hex digits');
const ms = z.number().int().nonnegative().max(8.64e15);

export const envelopeSchema = z
  .object({
    v: z.literal(2),
    camera: serial,
    epoch: z.number().int().min(1).max(0xffff_ffff),
    seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    sent: ms,
    kind: z.enum(['detections', 'heartbeat']),
    key: z.string().regex(/^[0-9a-f]{16}$/, 'key must be the key id: 16 lower-case hex digits'),
    body: z.string().max(MAX_PAYLOAD_BYTES),
    sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'sig must be 64 bytes of standard base64'),
  })
  .strict();
export type Envelope = z.infer<typeof envelopeSchema>;

const unit = z.number().min(0).max(1);
export const observationSchema = z
  .object({
    bounding_box: z
      .object({ left: unit, top: unit, right: unit, bottom: unit })
      .refine((b) => b.left < b.right && b.top < b.bottom, 'bounding_box needs left < right and top < bottom'),
    class: z.object({ type: z.enum(['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other']), score: unit }).loose(),
    track_id: z.string().max(64),
    timestamp: ms,
  })
  .loose();

export const detectionsBodySchema = z
  .object({
    frame: z
      .object({
        timestamp: ms,
        observations: z.array(observationSchema).max(500),
        operations: z.array(z.object({ id: z.string().max(64), type: z.string().max(64) }).loose()).max(500).default([]),
      })
      .loose(),
    stats: z
      .object({
        inference_ms: z.number().nonnegative().max(60_000),
        fps_camera: z.number().nonnegative().max(1000),
        fps_processed: z.number().nonnegative().max(1000),
        fps_skipped: z.number().nonnegative().max(1000),
        width: z.number().int().positive().max(16384),
        height: z.number().int().positive().max(16384),
      })
      .loose(),
  })
  .loose();
export type DetectionsBody = z.infer<typeof detectionsBodySchema>;

export const heartbeatBodySchema = z
  .object({
    app: z.string().max(64),
    version: z.string().max(64),
    uptime_s: z.number().nonnegative(),
    fps_camera: z.number().nonnegative().max(1000),
    fps_processed: z.number().nonnegative().max(1000),
    fps_skipped: z.number().nonnegative().max(1000),
    inference_ms: z.number().nonnegative().max(60_000),
    mem_bytes: z.number().nonnegative(),
    model: z.string().max(128),
  })
  .loose();
export type HeartbeatBody = z.infer<typeof heartbeatBodySchema>;

export type CameraMessage =
  | { kind: 'detections'; serial: string; envelope: Envelope; body: DetectionsBody; receivedAt: number }
  | { kind: 'heartbeat'; serial: string; envelope: Envelope; body: HeartbeatBody; receivedAt: number };

export interface BadMessage {
  /** The serial from the topic when the topic had one, else "unknown". */
  serial: string;
  topic: string;
  reason: 'oversized' | 'topic' | 'json' | 'envelope' | 'body' | 'mismatch';
  message: string;
  bytes: number;
}

const TOPIC = /^axis\/([^/]{1,64})\/omnisight\/(detections|heartbeat)$/;

const firstIssue = (e: z.ZodError): string => {
  const i = e.issues[0];
  return i ? `${i.path.map(String).join('.') || '(root)'}: ${i.message}` : 'invalid';
};

/** One message in, either a CameraMessage or a BadMessage out. Never throws. */
export function parseCameraMessage(topic: string, payload: Uint8Array, receivedAt: number): CameraMessage | BadMessage {
  const m = TOPIC.exec(topic);
  const serialFromTopic = m?.[1] ?? topic.split('/')[1]?.slice(0, 64) ?? 'unknown';
  const bad = (reason: BadMessage['reason'], message: string): BadMessage => ({ serial: serialFromTopic, topic: topic.slice(0, 200), reason, message, bytes: payload.length });
  if (payload.length > MAX_PAYLOAD_BYTES) return bad('oversized', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  if (!m) return bad('topic', 'topic is not axis/<SERIAL>/omnisight/(detections|heartbeat)');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return bad('json', 'payload is not JSON');
  }
  const env = envelopeSchema.safeParse(json);
  if (!env.success) return bad('envelope', `envelope ${firstIssue(env.error)}`);
  const e = env.data;
  if (e.camera !== m[1]) return bad('mismatch', `envelope camera ${e.camera} differs from topic serial ${m[1]}`);
  if (e.kind !== m[2]) return bad('mismatch', `envelope kind ${e.kind} differs from topic ${m[2]}`);
  let bodyJson: unknown;
  try {
    bodyJson = JSON.parse(e.body);
  } catch {
    return bad('json', 'body is not JSON text');
  }
  if (e.kind === 'detections') {
    const b = detectionsBodySchema.safeParse(bodyJson);
    if (!b.success) return bad('body', `detections ${firstIssue(b.error)}`);
    return { kind: 'detections', serial: e.camera, envelope: e, body: b.data, receivedAt };
  }
  const b = heartbeatBodySchema.safeParse(bodyJson);
  if (!b.success) return bad('body', `heartbeat ${firstIssue(b.error)}`);
  return { kind: 'heartbeat', serial: e.camera, envelope: e, body: b.data, receivedAt };
}

export const isBad = (r: CameraMessage | BadMessage): r is BadMessage => 'reason' in r;
