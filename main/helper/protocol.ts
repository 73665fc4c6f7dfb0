// The typed message protocol between main and the helper process. Both sides validate what they
// receive with these schemas; frames carry their JPEG as a Uint8Array (structured clone with
// serialization:'advanced', or a MessagePort postMessage in app mode).
import { z } from 'zod';
import { cameraIdSchema } from '../../preload/contract/camera-id';

const target = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    username: z.string().max(128),
    password: z.string().max(256),
  })
  .strict();
export type HelperTarget = z.infer<typeof target>;

const fingerprint = z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'SHA-256 fingerprint, colon-separated upper-case hex');
/** How the camera's HTTPS endpoint is verified (main/helper/tls.ts). */
const tlsPolicy = z
  .object({
    port: z.number().int().min(1).max(65535),
    pin: fingerprint.nullable(),
    ca: z.array(z.string().max(16_384)).max(32).optional(),
    serial: z.string().max(64).optional(),
  })
  .strict();
export type HelperTlsPolicy = z.infer<typeof tlsPolicy>;

export const helperRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('ping') }).strict(),
  z.object({ op: z.literal('probe'), target, requireAdmin: z.boolean().default(true) }).strict(),
  z
    .object({
      op: z.literal('configureMqtt'),
      target,
      clientId: z.string().min(1).max(128),
      broker: z
        .object({
          host: z.string().max(253),
          port: z.number().int().min(1).max(65535),
          protocol: z.enum(['tcp', 'ssl']),
          username: z.string().max(256).optional(),
          password: z.string().max(256).optional(),
        })
        .strict(),
    })
    .strict(),
  // Identity only over HTTPS with the certificate pinned or CA-verified; rotate asks the app for a new key.
  z.object({ op: z.literal('identity'), target, tls: tlsPolicy, rotate: z.boolean().optional() }).strict(),
  // The certificate a camera presents over HTTPS (nothing is sent): for the add dialog and a changed pin.
  z.object({ op: z.literal('certificate'), host: z.string().min(1).max(253), tls: tlsPolicy.omit({ pin: true }) }).strict(),
  z.object({ op: z.literal('calibration'), target }).strict(),
  z.object({ op: z.literal('snapshot'), target, width: z.number().int().min(16).max(3840).default(640), height: z.number().int().min(16).max(2160).default(360) }).strict(),
  z
    .object({
      op: z.literal('watch'),
      streamId: z.string().min(1).max(200),
      cameraId: cameraIdSchema,
      target,
      width: z.number().int().min(16).max(7680),
      height: z.number().int().min(16).max(4320),
      fps: z.number().min(0.1).max(60),
    })
    .strict(),
  z.object({ op: z.literal('unwatch'), streamId: z.string().max(200) }).strict(),
  // Deploy: application management (main/helper/apps.ts) and the native build.
  z.object({ op: z.literal('uploadApp'), target, uploadId: z.string().min(1).max(200), file: z.string().min(1).max(4096) }).strict(),
  z.object({ op: z.literal('cancelUpload'), uploadId: z.string().min(1).max(200) }).strict(),
  z.object({ op: z.literal('appControl'), target, action: z.enum(['start', 'stop', 'restart', 'remove']), package: z.string().min(1).max(64) }).strict(),
  z.object({ op: z.literal('listApps'), target }).strict(),
  z.object({ op: z.literal('allowUnsigned'), target, set: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('appLog'), target, app: z.string().min(1).max(64) }).strict(),
  z
    .object({ op: z.literal('buildCameraApp'), buildId: z.string().min(1).max(200), nativeDir: z.string().min(1).max(4096), outDir: z.string().max(4096).optional(), version: z.string().max(64).optional(), crashAtStart: z.boolean().optional() })
    .strict(),
]);
export type HelperRequest = z.input<typeof helperRequestSchema>;
export type HelperOp = HelperRequest['op'];

export const deviceInfoSchema = z.object({
  model: z.string(),
  productName: z.string(),
  serial: z.string(),
  architecture: z.string(),
  soc: z.string(),
  firmware: z.string(),
});

export const peerCertificateSchema = z.object({
  fingerprint: z.string(),
  subject: z.string(),
  issuer: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
  caTrusted: z.boolean(),
  caError: z.string().nullable(),
});

/** What each request resolves to. */
export const helperResultSchemas = {
  ping: z.object({ pid: z.number() }),
  probe: deviceInfoSchema,
  configureMqtt: z.object({ ok: z.literal(true) }),
  identity: z.object({
    camera: z.string(),
    key: z.string(),
    publicKey: z.string(),
    version: z.string(),
    epoch: z.number().nullable(),
    certificate: peerCertificateSchema.extend({ trust: z.enum(['pin', 'ca']) }),
  }),
  certificate: peerCertificateSchema,
  calibration: z.object({
    camera: z.string(),
    source: z.string(),
    points: z.array(z.object({ image: z.object({ u: z.number(), v: z.number() }), ground: z.object({ x: z.number(), y: z.number() }) })),
    includeArea: z.array(z.object({ u: z.number(), v: z.number() })).optional(),
  }),
  snapshot: z.object({ jpegBase64: z.string(), bytes: z.number().int() }),
  watch: z.object({ ok: z.literal(true) }),
  unwatch: z.object({ ok: z.literal(true) }),
  uploadApp: z.object({ ok: z.boolean(), code: z.number().nullable(), text: z.string(), sent: z.number(), total: z.number() }),
  cancelUpload: z.object({ cancelled: z.boolean() }),
  appControl: z.object({ ok: z.boolean(), code: z.number().nullable(), text: z.string() }),
  listApps: z.object({ apps: z.array(z.object({ name: z.string(), niceName: z.string(), vendor: z.string(), version: z.string(), status: z.string() })) }),
  allowUnsigned: z.object({ allowUnsigned: z.boolean().nullable() }),
  appLog: z.object({ text: z.string() }),
  buildCameraApp: z.object({ path: z.string(), fileName: z.string(), bytes: z.number(), sha256: z.string(), version: z.string(), buildMs: z.number(), logTail: z.string() }),
} satisfies Record<HelperOp, z.ZodType>;
export type HelperResult<O extends HelperOp> = z.infer<(typeof helperResultSchemas)[O]>;

export const helperErrorKinds = [
  'refused',
  'unreachable',
  'timeout',
  'unauthorized',
  'forbidden',
  'not_axis',
  'bad_reply',
  'too_large',
  'http',
  'unsupported',
  'invalid_request',
  'internal',
  // The pinned certificate differs (stop and ask the user), or none is pinned and no trusted CA signed it.
  'cert_changed',
  'cert_untrusted',
] as const;
export type HelperErrorKind = (typeof helperErrorKinds)[number];

export const streamStateSchema = z.enum(['connecting', 'online', 'stalled', 'offline', 'circuit_open']);
export type StreamState = z.infer<typeof streamStateSchema>;

export const streamStatusSchema = z.object({
  streamId: z.string(),
  cameraId: cameraIdSchema,
  state: streamStateSchema,
  since: z.number(),
  fps: z.number(),
  frames: z.number().int(),
  badFrames: z.number().int(),
  badByReason: z.record(z.string(), z.number().int()),
  reconnects: z.number().int(),
  lastError: z.string().nullable(),
  lastFrameTs: z.number().nullable(),
  /** Frames dropped because the camera sent more than was asked (rate or byte budget). */
  dropped: z.number().int().optional(),
  /** Said to the user while the camera overruns what was asked; null once it keeps to it. */
  warning: z.string().nullable().optional(),
});
export type StreamStatus = z.infer<typeof streamStatusSchema>;

/** Main → helper. */
export const toHelperSchema = z.object({ type: z.literal('request'), id: z.number().int().nonnegative(), req: z.unknown() }).strict();

/** Helper → main. */
export const fromHelperSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number() }),
  z.object({
    type: z.literal('response'),
    id: z.number().int(),
    ok: z.boolean(),
    value: z.unknown().optional(),
    error: z.object({ kind: z.enum(helperErrorKinds), message: z.string().max(2000) }).optional(),
  }),
  z.object({
    type: z.literal('frame'),
    streamId: z.string(),
    cameraId: cameraIdSchema,
    ts: z.number(),
    width: z.number().int(),
    height: z.number().int(),
    jpeg: z.instanceof(Uint8Array),
  }),
  z.object({ type: z.literal('status'), status: streamStatusSchema }),
  // Long work (uploads, builds): bytes sent of total, or a line of build output.
  z.object({ type: z.literal('progress'), id: z.string(), sent: z.number().optional(), total: z.number().optional(), line: z.string().max(2000).optional() }),
  z.object({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), msg: z.string(), detail: z.record(z.string(), z.unknown()).optional() }),
]);
export type FromHelper = z.infer<typeof fromHelperSchema>;
export type HelperFrame = Extract<FromHelper, { type: 'frame' }>;
