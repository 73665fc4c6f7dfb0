// ACAP manifest.json validation, schema 1.x and 2.x, written from the documented field rules
// (../../../shared/reference/axis-camera-interfaces.md). Every object is strict: like Axis's own
// schemas (additionalProperties: false), an unknown key is an error, not something to ignore.
import { z } from 'zod';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

const text = (max = 256) => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const appName = z
  .string()
  .min(1, 'must not be empty')
  .max(26, 'must be at most 26 characters')
  .regex(/^[A-Za-z]/, 'must start with a letter')
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'may contain only letters, digits and _');

const semver = z.string().regex(SEMVER, 'must be a semantic version such as 1.2.3');

const user = z.strictObject({ username: text(64), group: text(64) });

const paramConfig = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must start with a letter and contain only letters, digits and _'),
  default: z.string().max(1024, 'must be at most 1024 characters'),
  type: text(256),
});

const reverseProxy = z.strictObject({
  apiPath: z.string().regex(/^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/, 'must be a relative path such as identity.cgi (no leading /)'),
  target: z.string().regex(/^https?:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?(\/\S*)?$/, 'must be an http://localhost:<port>/… URL on the camera itself'),
  access: z.enum(['admin', 'operator', 'viewer', 'anonymous']),
});

const httpConfig = z.strictObject({
  name: text(128),
  type: z.enum(['transferCgi', 'fastCgi', 'directory']),
  access: z.enum(['admin', 'operator', 'viewer']),
});

const configuration = z.strictObject({
  settingPage: text(128).optional(),
  httpConfig: z.array(httpConfig).max(64, 'must have at most 64 entries').optional(),
  paramConfig: z.array(paramConfig).max(256, 'must have at most 256 entries').optional(),
  reverseProxy: z.array(reverseProxy).max(64, 'must have at most 64 entries').optional(),
});

const architecture = z.enum(['all', 'aarch64', 'armv7hf']);

const setupCommon = {
  appName,
  friendlyName: text(64).optional(),
  vendor: text(64),
  vendorUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional(),
  version: semver,
  runMode: z.enum(['respawn', 'once', 'never']),
  runOptions: z.string().max(512, 'must be at most 512 characters').optional(),
  appId: z.string().regex(/^\d{1,10}$/, 'must be the numeric application ID Axis issued').optional(),
  user: user.optional(),
};

const setupV1 = z.strictObject({
  ...setupCommon,
  architecture: architecture.optional(),
  embeddedSdkVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'must be a version such as 3.0').optional(),
});

// Axis's current examples write two-part or one-part versions ("12.11", "13"); three parts are accepted too.
const osVersion = z.string().regex(/^\d+(\.\d+){0,2}$/, 'must be an AXIS OS version such as 13, 12.11 or 12.0.0');

const setupV2 = z.strictObject({
  ...setupCommon,
  architecture,
  vendorId: z.string().regex(/^[0-9a-fA-F]{10}$/, 'must be 10 hexadecimal characters'),
  compatibleOsVersions: z
    .array(
      z
        .strictObject({ min: osVersion.optional(), max: osVersion.optional() })
        .refine((r) => r.min !== undefined || r.max !== undefined, 'needs min, max or both (Axis\'s examples write {"max": "13"})'),
    )
    .min(1, 'must list at least one {min, max} range')
    .max(16, 'must have at most 16 entries'),
});

const acapPackageConf = <S extends z.ZodType>(setup: S) =>
  z.strictObject({
    setup,
    configuration: configuration.optional(),
    copyProtection: z.strictObject({ method: z.enum(['none', 'axis', 'custom']) }).optional(),
    installation: z.strictObject({ postInstallScript: text(128) }).optional(),
    uninstallation: z.strictObject({ preUninstallScript: text(128) }).optional(),
  });

const dbus = z.strictObject({
  requiredMethods: z.array(text(256)).max(256).optional(),
  conditionalMethods: z.array(text(256)).max(256).optional(),
});
const linux = z.strictObject({ user: z.strictObject({ groups: z.array(text(64)).max(32) }).optional() });

const schemaVersionV1 = z.string().regex(/^1\.\d+(\.\d+)?$/, 'must be 1.x or 1.x.y for this schema');
const schemaVersionV2 = z.string().regex(/^2\.\d+\.\d+$/, 'must be 2.x.y for this schema');

export const manifestV1Schema = z.strictObject({
  $schema: z.string().optional(),
  schemaVersion: schemaVersionV1,
  acapPackageConf: acapPackageConf(setupV1),
  resources: z.strictObject({ dbus: dbus.optional(), linux: linux.optional() }).optional(),
});

export const manifestV2Schema = z.strictObject({
  $schema: z.string().optional(),
  schemaVersion: schemaVersionV2,
  acapPackageConf: acapPackageConf(setupV2),
  resources: z
    .strictObject({
      dbus: dbus.optional(),
      linux: linux.optional(),
      deepLearningProcessor: z.strictObject({ enabled: z.boolean(), required: z.boolean() }).optional(),
    })
    .optional(),
});

export type ManifestV1 = z.infer<typeof manifestV1Schema>;
export type ManifestV2 = z.infer<typeof manifestV2Schema>;
export type Manifest = ManifestV1 | ManifestV2;

export type ManifestResult =
  | { ok: true; schemaMajor: 1 | 2; manifest: Manifest }
  | { ok: false; schemaMajor: 1 | 2 | null; problems: string[] };

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function describe(issue: z.core.$ZodIssue, schemaMajor: 1 | 2): string[] {
  const at = pathOf(issue.path);
  const prefix = at ? `${at}: ` : '';
  switch (issue.code) {
    case 'unrecognized_keys':
      // One line per key so each names its own field path.
      return issue.keys.map((k) => `${at ? `${at}.` : ''}${k}: unknown field, not allowed by manifest schema ${schemaMajor}.x; remove it`);
    case 'invalid_type':
      if (issue.input === undefined) return [`${prefix}is required by manifest schema ${schemaMajor}.x`];
      return [`${prefix}must be ${issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`}`];
    case 'invalid_value':
      if (issue.input === undefined) return [`${prefix}is required by manifest schema ${schemaMajor}.x`];
      return [`${prefix}must be one of ${issue.values.map(String).join(', ')}`];
    case 'too_big':
    case 'too_small':
    case 'invalid_format':
    default:
      return [`${prefix}${issue.message}`];
  }
}

/** Validates a parsed manifest.json against the schema its schemaVersion names. */
export function validateManifest(input: unknown): ManifestResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, schemaMajor: null, problems: ['manifest.json: must be a JSON object'] };
  }
  const sv = (input as Record<string, unknown>).schemaVersion;
  if (sv === undefined) return { ok: false, schemaMajor: null, problems: ['schemaVersion: is required (for example "1.7.0" or "2.0.0")'] };
  if (typeof sv !== 'string' || !/^[12]\.\d+(\.\d+)?$/.test(sv)) {
    return { ok: false, schemaMajor: null, problems: [`schemaVersion: must be a 1.x or 2.x schema version such as "1.7.0" or "2.0.0", not ${JSON.stringify(sv)}`] };
  }
  const schemaMajor = sv.startsWith('2.') ? 2 : 1;
  const parsed = (schemaMajor === 2 ? manifestV2Schema : manifestV1Schema).safeParse(input, { reportInput: true });
  if (parsed.success) return { ok: true, schemaMajor, manifest: parsed.data };
  const problems = parsed.error.issues.flatMap((i) => describe(i, schemaMajor));
  // v2 dropped embeddedSdkVersion: say so instead of just "unknown field".
  const hint = problems.findIndex((p) => p.startsWith('acapPackageConf.setup.embeddedSdkVersion: unknown field'));
  if (schemaMajor === 2 && hint >= 0) problems[hint] = 'acapPackageConf.setup.embeddedSdkVersion: was removed in manifest schema 2.x; remove it';
  return { ok: false, schemaMajor, problems };
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`manifest.json is not valid: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
    this.name = 'ManifestError';
  }
}

/** Like validateManifest, but throws ManifestError listing every problem. */
export function assertManifest(input: unknown): { schemaMajor: 1 | 2; manifest: Manifest } {
  const r = validateManifest(input);
  if (!r.ok) throw new ManifestError(r.problems);
  return { schemaMajor: r.schemaMajor, manifest: r.manifest };
}

export function parseSemver(version: string): { major: number; minor: number; patch: number } {
  const m = SEMVER.exec(version);
  if (!m) throw new ManifestError([`acapPackageConf.setup.version: must be a semantic version such as 1.2.3`]);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}
