// One-click deploy: builds (.eap), a preflight per camera, the deploy itself with per-camera
// progress, verification and rollback, and the history.
import { z } from 'zod';
import { cameraIdSchema } from './camera-id';
import { event, method, noInput } from './define';

const id = z.string().min(1).max(64);
const sha = z.string().regex(/^[0-9a-f]{64}$/, 'a build is named by its sha256 (64 hex characters)');

export const deployBuildSchema = z.object({
  sha256: z.string(),
  fileName: z.string(),
  appName: z.string(),
  version: z.string(),
  architecture: z.string(),
  bytes: z.number(),
  source: z.enum(['native', 'file', 'camera']),
  addedAt: z.number(),
  /** Problems main/packaging found; a build with problems cannot be deployed. */
  problems: z.array(z.string()),
});
export type DeployBuild = z.infer<typeof deployBuildSchema>;

export const preflightRowSchema = z.object({
  cameraId: cameraIdSchema,
  name: z.string(),
  model: z.string(),
  firmware: z.string(),
  reachable: z.boolean(),
  role: z.enum(['administrator', 'too_low', 'unknown']),
  architecture: z.string(),
  soc: z.string(),
  archOk: z.boolean(),
  socOk: z.boolean(),
  /** null when the firmware has no such setting (older than AXIS OS 11.x) or it could not be read. */
  allowUnsigned: z.boolean().nullable(),
  installedVersion: z.string().nullable(),
  installedStatus: z.string().nullable(),
  /** Bytes free for apps, when the camera reports it (the VAPIX app API does not). */
  freeBytes: z.number().nullable(),
  /** The build's version is lower than the installed one: it needs the explicit "allow downgrade" choice. */
  downgrade: z.boolean().optional(),
  /** Why this camera refuses an unsigned package, null when it accepts one. */
  refusesUnsigned: z.string().nullable().optional(),
  /** What stops this camera from being deployed to, in words that say what to do. */
  blockers: z.array(z.string()),
  /** Notes that do not block (e.g. AllowUnsigned will be switched on). */
  notes: z.array(z.string()),
  ok: z.boolean(),
});
export type PreflightRow = z.infer<typeof preflightRowSchema>;

export const deployPhaseSchema = z.enum(['queued', 'preflight', 'upload', 'start', 'verify', 'rollback', 'done']);
/** skipped: never tried, because a guardrail refused it (a downgrade not allowed) or an earlier failure stopped the rollout. */
export const deployOutcomeSchema = z.enum(['pending', 'verified', 'rolled_back', 'failed', 'cancelled', 'interrupted', 'skipped']);
export type DeployPhase = z.infer<typeof deployPhaseSchema>;
export type DeployOutcome = z.infer<typeof deployOutcomeSchema>;

export const deployTargetSchema = z.object({
  cameraId: cameraIdSchema,
  cameraName: z.string(),
  phase: deployPhaseSchema,
  outcome: deployOutcomeSchema,
  bytesSent: z.number(),
  bytesTotal: z.number(),
  message: z.string(),
  previousVersion: z.string().nullable(),
  /** The version verified running at the end (new or previous), null when none was. */
  finalVersion: z.string().nullable(),
  /** The federated model version this camera received (verified with the new build), null when none. */
  modelVersion: z.number().int().nullable(),
  /** 0: the canary stage, 1: the rest. */
  stage: z.number().int().optional(),
  updatedAt: z.number(),
});
export type DeployTarget = z.infer<typeof deployTargetSchema>;

export const deployStatusSchema = z.enum(['running', 'done', 'cancelled', 'interrupted']);
export const deploySchema = z.object({
  id: z.string(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  user: z.string(),
  buildSha: z.string(),
  appName: z.string(),
  version: z.string(),
  fileName: z.string(),
  status: deployStatusSchema,
  retryOf: z.string().nullable(),
  /** The federated model version the package carries (model/head-v<N>.bin), null when none. */
  modelVersion: z.number().int().nullable(),
  /** Set when a room decision started this deploy (an agent's proposal that passed). */
  approval: z.object({ roomId: z.string(), roomName: z.string(), proposalId: z.number(), decisionId: z.number() }).nullable(),
  /** Cameras per stage: the canary set first, then the rest. */
  stages: z.array(z.number().int()).optional(),
  /** Why the rollout stopped before every camera was tried (the first failure), null when it did not. */
  stopped: z.string().nullable().optional(),
  /** What the user allowed for this deploy. */
  allowUnsigned: z.boolean().optional(),
  allowDowngrade: z.boolean().optional(),
  targets: z.array(deployTargetSchema),
});
export type DeployApproval = NonNullable<Deploy['approval']>;
export type Deploy = z.infer<typeof deploySchema>;

export const deployMethods = {
  'deploy.builds': method('Builds known to the app (native/dist and added files), newest first', noInput, z.object({ builds: z.array(deployBuildSchema), nativeDir: z.string().nullable() })),
  'deploy.addBuild': method('Add an .eap from a file on this computer; it is inspected and kept by content hash', z.object({ path: z.string().min(1).max(4096) }).strict(), deployBuildSchema),
  'deploy.buildNative': method(
    'Build the camera app from native/ in the helper (log lines arrive as deploy.buildLog)',
    z.object({ buildId: z.string().min(1).max(64), crashAtStart: z.boolean().optional(), version: z.string().regex(/^\d+\.\d+\.\d+$/).optional() }).strict(),
    z.object({ build: deployBuildSchema, logTail: z.string(), buildMs: z.number() }),
  ),
  'deploy.installed': method(
    'What each camera runs now (list.cgi), for the camera table',
    z.object({ cameraIds: z.array(cameraIdSchema).max(256).optional() }).strict(),
    z.object({ cameras: z.array(z.object({ cameraId: cameraIdSchema, version: z.string().nullable(), status: z.string().nullable(), error: z.string().nullable() })) }),
  ),
  'deploy.preflight': method(
    'Check each camera before anything is sent: reachability, role, architecture, whether it refuses unsigned apps, a downgrade',
    z.object({ buildSha: sha, cameraIds: z.array(cameraIdSchema).min(1).max(256), allowUnsigned: z.boolean().default(false), allowDowngrade: z.boolean().default(false) }).strict(),
    z.object({ rows: z.array(preflightRowSchema) }),
  ),
  'deploy.start': method(
    'Deploy a build to cameras: upload, start, verify, roll back on failure',
    z
      .object({
        buildSha: sha,
        cameraIds: z.array(cameraIdSchema).min(1).max(256),
        /** Switch AllowUnsigned on where the camera refuses unsigned apps (our builds are unsigned); only when the user asks. */
        allowUnsigned: z.boolean().default(false),
        /** Install a lower version than a camera runs. */
        allowDowngrade: z.boolean().default(false),
        /** Cameras in the canary stage, verified before the rest start (0: one stage). */
        canary: z.number().int().min(0).max(256).default(1),
        concurrency: z.number().int().min(1).max(64).default(8),
        // 60 s: start, identity and the first accepted report of a new build; a camera busy with the
        // install (or several emulated ones on one host) can take more than 20 s, and a timeout rolls a
        // good build back, while a build that fails says so at once (crash, refused start).
        verifyTimeoutMs: z.number().int().min(1000).max(300_000).default(60_000),
        /** Ship this federated model version with the build (added as model/head-v<N>.bin and .json). */
        modelVersion: z.number().int().min(1).optional(),
      })
      .strict(),
    z.object({ deployId: z.string() }),
  ),
  'deploy.cancel': method('Stop a running deploy: no new cameras; uploads in flight abort and roll back', z.object({ deployId: id }).strict(), z.object({ cancelled: z.boolean() })),
  'deploy.retry': method(
    'Deploy again to the cameras that did not end on the new version (also resumes an interrupted deploy)',
    z.object({ deployId: id }).strict(),
    z.object({ deployId: z.string(), cameras: z.number() }),
  ),
  'deploy.history': method('Past and running deploys, newest first', z.object({ limit: z.number().int().min(1).max(200).default(50) }).strict(), z.object({ deploys: z.array(deploySchema) })),
  'deploy.get': method('One deploy with every camera', z.object({ deployId: id }).strict(), deploySchema),
};

export const deployEvents = {
  'deploy.progress': event('Per-camera progress of a deploy', z.object({ deployId: z.string(), target: deployTargetSchema })),
  'deploy.changed': event('A deploy started, finished, was cancelled or interrupted', z.object({ deployId: z.string(), status: deployStatusSchema })),
  'deploy.buildLog': event('A line of native build output', z.object({ buildId: z.string(), line: z.string() })),
};
