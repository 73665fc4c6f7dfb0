import { z } from 'zod';
import { cameraIdSchema } from './camera-id';
import { event, method, noInput } from './define';

/** `host` or `host:port` (IPv6 in brackets); the port defaults to 80. */
const address = z
  .string()
  .trim()
  .min(1, 'Enter the camera address, e.g. 192.168.0.90 or cam1.local:8080')
  .max(260)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'Use host or host:port, e.g. 192.168.0.90 or cam1.local:8080');

const cameraId = cameraIdSchema;

export const cameraStateSchema = z.enum(['online', 'offline', 'stalled', 'connecting', 'unknown']);
export type CameraState = z.infer<typeof cameraStateSchema>;

/** Field of view / calibration as the swarm and timeline capabilities will need it. */
export const fovSchema = z
  .object({
    position: z.object({ x: z.number(), y: z.number(), z: z.number() }).strict().optional(),
    yaw: z.number().optional(),
    pitch: z.number().optional(),
    hfovDeg: z.number().min(1).max(360).optional(),
  })
  .strict();

export const cameraSchema = z.object({
  id: cameraIdSchema,
  /** The device serial (what it signs its messages with, how the swarm names it): an attribute, not its identity. */
  name: z.string(),
  host: z.string(),
  port: z.number().int(),
  username: z.string(),
  model: z.string(),
  serial: z.string(),
  architecture: z.string(),
  soc: z.string(),
  firmware: z.string(),
  status: cameraStateSchema,
  fov: fovSchema,
  publicKey: z.string().nullable(),
  /** Id of the enrolled signing key (SHARED-SPECS: first 8 bytes of SHA-256 of the public key, hex). */
  keyId: z.string().nullable().optional(),
  /** The HTTPS port identity.cgi is read on (443 on Axis cameras). */
  httpsPort: z.number().int().optional(),
  /** The certificate accepted at enrolment: pinned by its fingerprint, or chaining to a CA the user trusts. */
  certificate: z.object({ fingerprint: z.string(), trust: z.enum(['pin', 'ca']), since: z.number() }).nullable().optional(),
  /** The camera now presents another certificate: nothing is read from it until the user trusts it or fixes the camera. */
  certificateChanged: z.object({ fingerprint: z.string(), seenAt: z.number() }).nullable().optional(),
  /** Registered by the app for the simulated fleet; `demoActive` false once the demo is off. */
  demo: z.boolean(),
  demoActive: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type Camera = z.infer<typeof cameraSchema>;

export const cameraStatusSchema = z.object({
  cameraId: cameraIdSchema,
  state: cameraStateSchema,
  /** When the camera entered this state (ms since epoch). */
  since: z.number(),
  /** Frames per second received by the desktop (0 when nobody watches). */
  fps: z.number(),
  /** From the camera's latest heartbeat/detections. */
  fpsCamera: z.number().nullable(),
  inferenceMs: z.number().nullable(),
  lastHeartbeat: z.number().nullable(),
  badInput: z.object({
    /** Malformed MJPEG parts and truncated JPEGs. */
    frames: z.number().int(),
    /** MQTT payloads that failed validation or were too large. */
    mqtt: z.number().int(),
    /** Unreadable VAPIX replies. */
    vapix: z.number().int(),
  }),
  lastError: z.string().nullable(),
  /** Set while the swarm holds the camera in quarantine (its reports do not count); release it in the Swarm view. */
  quarantined: z.object({ since: z.number(), reason: z.string() }).optional(),
});
export type CameraStatus = z.infer<typeof cameraStatusSchema>;

const fingerprint = z.string().trim().toUpperCase().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'a SHA-256 fingerprint: 32 hex bytes separated by colons');
const httpsPort = z.number().int().min(1).max(65535);

export const peerCertificateSchema = z.object({
  fingerprint: z.string(),
  subject: z.string(),
  issuer: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
  /** Chains to a CA the user trusts and names this camera: accepted without asking. */
  caTrusted: z.boolean(),
  caError: z.string().nullable(),
});

export type PeerCertificate = z.infer<typeof peerCertificateSchema>;

export const observationOutSchema = z.object({
  box: z.object({ left: z.number(), top: z.number(), right: z.number(), bottom: z.number() }),
  cls: z.string(),
  score: z.number(),
  trackId: z.string(),
});

export const fleetMethods = {
  'fleet.list': method(
    'Every registered camera with its live status.',
    noInput,
    z.object({ cameras: z.array(cameraSchema), statuses: z.array(cameraStatusSchema) }),
  ),
  'fleet.add': method(
    'Probe a camera over VAPIX and register it. Refuses with a specific message when the host is unreachable, the password is wrong, the account is not an administrator or the device is not an Axis camera.',
    z
      .object({
        address,
        username: z.string().min(1, 'Enter the camera user name').max(128),
        password: z.string().max(256),
        name: z.string().trim().min(1).max(100).optional(),
        /** The camera's HTTPS port (default 443): its signing key is read only over HTTPS. */
        httpsPort: httpsPort.optional(),
        /** The certificate fingerprint the user saw and trusts (fleet.certificate); it must still match. */
        fingerprint: fingerprint.optional(),
      })
      .strict(),
    cameraSchema,
  ),
  'fleet.certificate': method(
    'The certificate a camera presents over HTTPS, before adding it (nothing but a TLS handshake is sent). Show its fingerprint to the user to compare with the camera.',
    z.object({ address, httpsPort: httpsPort.optional() }).strict(),
    peerCertificateSchema,
  ),
  'fleet.trustCertificate': method(
    'Trust the certificate a camera presents now (after it changed, or when none was pinned), then read its signing key over it. The fingerprint must be the one the camera presents.',
    z.object({ id: cameraId, fingerprint }).strict(),
    cameraSchema,
  ),
  'fleet.rotateKey': method(
    'Ask the camera app for a new signing key over the pinned HTTPS channel and enrol it; the old key is retired once the new one is enrolled.',
    z.object({ id: cameraId }).strict(),
    cameraSchema,
  ),
  'fleet.trustedCas': method(
    'CA certificates the user trusts: a camera certificate that chains to one of them and names the camera is accepted without asking.',
    z.object({ pems: z.array(z.string().max(16_384)).max(32).optional() }).strict(),
    z.object({ cas: z.array(z.object({ subject: z.string(), fingerprint: z.string(), pem: z.string() })) }),
  ),
  'fleet.update': method(
    'Rename, move or re-authenticate a camera (a new address or credentials are probed first), or set its field of view.',
    z
      .object({
        id: cameraId,
        name: z.string().trim().min(1).max(100).optional(),
        address: address.optional(),
        username: z.string().min(1).max(128).optional(),
        password: z.string().max(256).optional(),
        fov: fovSchema.optional(),
        httpsPort: httpsPort.optional(),
      })
      .strict(),
    cameraSchema,
  ),
  'fleet.remove': method('Forget a camera and its stored password.', z.object({ id: cameraId }).strict(), z.object({ removed: z.literal(true) })),
  'fleet.status': method(
    'Live status of some cameras (all when ids are left out).',
    z.object({ ids: z.array(cameraId).max(256).optional() }).strict(),
    z.object({ statuses: z.array(cameraStatusSchema) }),
  ),
  'fleet.detections': method(
    'Latest detections of a camera with the frame timestamp they belong to.',
    z.object({ id: cameraId }).strict(),
    z.object({ frameTs: z.number().nullable(), observations: z.array(observationOutSchema), unverified: z.literal(true).optional() }),
  ),
  'fleet.watch': method(
    'Start feeds for these cameras at the size and rate the view shows. Frames arrive as binary messages on the same socket (see docs/protocol.md, "Camera frames to the renderer"), tagged with the channel ids returned here.',
    z
      .object({
        cameraIds: z.array(cameraId).min(1).max(64),
        width: z.number().int().min(16).max(3840),
        height: z.number().int().min(16).max(2160),
        fps: z.number().min(0.5).max(30).default(10),
      })
      .strict(),
    z.object({ channels: z.array(z.object({ cameraId: cameraIdSchema, channel: z.number().int() })) }),
  ),
  'fleet.unwatch': method(
    'Stop feeds by channel id (all of this client\'s feeds when none are given).',
    z.object({ channels: z.array(z.number().int().min(1).max(65535)).max(256).optional() }).strict(),
    z.object({ stopped: z.number().int() }),
  ),
  'fleet.setMqttPassword': method(
    'Store the external MQTT broker password (kept in the secret store, never in settings).',
    z.object({ password: z.string().max(256) }).strict(),
    z.object({ saved: z.literal(true) }),
  ),
} as const;

export const fleetEvents = {
  'fleet.changed': event('The camera list changed (added, edited, removed, demo on/off).', z.object({ cameras: z.array(cameraSchema) })),
  'fleet.cameraStatus': event('One camera\'s live status changed (state, fps, inference, bad-input counters).', cameraStatusSchema),
} as const;
