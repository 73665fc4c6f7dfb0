// The .eap package: a gzip-compressed GNU tar with every entry at the root, as Axis's acap-build
// writes it. Built reproducibly (sorted names, uid/gid 0, one fixed mtime) so the same inputs give
// the same bytes, and read back defensively (bounded sizes, no assumptions beyond the format).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { assertManifest, parseSemver, validateManifest, type Manifest } from './manifest';
import { packageConf, paramConf, parsePackageConf } from './package-conf';

/** 2020-01-01T00:00:00Z: used when SOURCE_DATE_EPOCH is not set. */
export const DEFAULT_SOURCE_DATE_EPOCH = 1577836800;

export class EapError extends Error {
  constructor(
    readonly code: 'not_gzip' | 'not_tar' | 'too_large' | 'invalid_input',
    message: string,
  ) {
    super(message);
    this.name = 'EapError';
  }
}

export interface EapExtraFile {
  /** Path inside the package: html/…, lib/…, model/…, cgi.conf, or an install script named by the manifest. */
  name: string;
  data: Buffer;
  mode?: number;
}

export interface BuildEapInput {
  manifest: unknown;
  executable: Buffer;
  license: Buffer | string;
  extraFiles?: EapExtraFile[];
  /** Seconds since the epoch for every entry's mtime; default SOURCE_DATE_EPOCH or a constant. */
  sourceDateEpoch?: number;
  /** Architecture for APPTYPE and the file name when the manifest does not say. */
  defaultArch?: 'aarch64' | 'armv7hf';
}

export interface BuiltEap {
  fileName: string;
  data: Buffer;
  sha256: string;
  manifest: Manifest;
  schemaMajor: 1 | 2;
  entries: string[];
}

function sourceDateEpoch(explicit?: number): number {
  if (explicit !== undefined) return explicit;
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env);
  return DEFAULT_SOURCE_DATE_EPOCH;
}

export function eapFileName(manifest: Manifest, defaultArch = 'aarch64'): string {
  const s = manifest.acapPackageConf.setup;
  const v = parseSemver(s.version);
  const name = (s.friendlyName ?? s.appName).replace(/ /g, '_').replace(/[^A-Za-z0-9_.+-]/g, '');
  return `${name}_${v.major}_${v.minor}_${v.patch}_${s.architecture ?? defaultArch}.eap`;
}

const ROOT_FILES = new Set(['package.conf', 'param.conf', 'LICENSE', 'manifest.json', 'cgi.conf']);

/** Rewrites each ustar header tar-stream produced into GNU form ("ustar  \0") with a fresh checksum. */
function toGnuTar(buf: Buffer): Buffer {
  let off = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    h.write('ustar  \0', 257, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return buf;
}

async function packTar(entries: { name: string; data?: Buffer; mode: number; type: 'file' | 'directory' }[], mtime: Date): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const header = { name: e.name, mode: e.mode, uid: 0, gid: 0, uname: '', gname: '', mtime, type: e.type };
    await new Promise<void>((resolve, reject) => {
      if (e.type === 'directory') pack.entry({ ...header }, (err) => (err ? reject(err) : resolve()));
      else pack.entry({ ...header, size: e.data!.length }, e.data!, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  return toGnuTar(await done);
}

/** Validates the manifest, then writes the .eap bytes. Throws ManifestError / EapError with what to fix. */
export async function buildEap(input: BuildEapInput): Promise<BuiltEap> {
  const { manifest, schemaMajor } = assertManifest(input.manifest);
  const arch = input.defaultArch ?? 'aarch64';
  const appName = manifest.acapPackageConf.setup.appName;
  const files = new Map<string, { data: Buffer; mode: number }>();
  files.set(appName, { data: input.executable, mode: 0o755 });
  // OTHERFILES stays empty: a deploy adds model/ files to a built package without rewriting its
  // package.conf (main/fleet/model-package.ts), and the firmware installs every packaged file anyway.
  files.set('package.conf', { data: Buffer.from(packageConf(manifest, arch)), mode: 0o644 });
  files.set('param.conf', { data: Buffer.from(paramConf(manifest)), mode: 0o644 });
  files.set('LICENSE', { data: Buffer.from(input.license), mode: 0o644 });
  // The manifest travels as given (validated), with a trailing newline: byte-stable for a given input.
  files.set('manifest.json', { data: Buffer.from(JSON.stringify(input.manifest, null, 2) + '\n'), mode: 0o644 });
  const scripts = new Set([manifest.acapPackageConf.installation?.postInstallScript, manifest.acapPackageConf.uninstallation?.preUninstallScript]);
  const dirs = new Set<string>();
  for (const f of input.extraFiles ?? []) {
    const n = f.name;
    if (n.length > 100 || n.includes('..') || n.startsWith('/') || n.includes('\\') || n.endsWith('/')) {
      throw new EapError('invalid_input', `${n}: package paths must be relative, at most 100 characters, without ".."`);
    }
    const top = n.split('/')[0]!;
    // model/ carries federated model parameters the deploy adds (main/fleet/model-package.ts).
    const allowed = n.includes('/') ? top === 'html' || top === 'lib' || top === 'model' : ROOT_FILES.has(n) || scripts.has(n);
    if (!allowed) throw new EapError('invalid_input', `${n}: extra files go under html/, lib/ or model/, or are cgi.conf or an install script the manifest names`);
    if (files.has(n)) throw new EapError('invalid_input', `${n}: is already in the package`);
    files.set(n, { data: f.data, mode: f.mode ?? (scripts.has(n) ? 0o755 : 0o644) });
    const parts = n.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') + '/');
  }
  // Axis's order: the executable and the fixed root files first, then html/, lib/ (each sorted).
  const rootOrder = [appName, 'package.conf', 'param.conf', 'LICENSE', 'manifest.json'];
  const rest = [...[...files.keys()].filter((k) => !rootOrder.includes(k)), ...dirs].sort();
  const order = [...rootOrder.sort(), ...rest];
  const entries = order.map((name) =>
    name.endsWith('/') ? { name, mode: 0o755, type: 'directory' as const } : { name, data: files.get(name)!.data, mode: files.get(name)!.mode, type: 'file' as const },
  );
  const tarBytes = await packTar(entries, new Date(sourceDateEpoch(input.sourceDateEpoch) * 1000));
  const data = gzipSync(tarBytes, { level: 9 });
  return {
    fileName: eapFileName(manifest, arch),
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    manifest,
    schemaMajor,
    entries: order,
  };
}

export interface EapEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

export interface EapInfo {
  bytes: number;
  sha256: string;
  entries: EapEntry[];
  manifest: unknown;
  schemaMajor: 1 | 2 | null;
  packageConf: Record<string, string> | null;
  paramConf: string | null;
  appName: string | null;
  friendlyName: string | null;
  version: string | null;
  architecture: string | null;
  /** Everything wrong with the package; empty means it is installable as far as we can tell. */
  problems: string[];
  valid: boolean;
}

export interface ReadEapOptions {
  /** Largest compressed input accepted (default 256 MiB). */
  maxInputBytes?: number;
  /** Largest uncompressed tar accepted: the zip-bomb guard (default 512 MiB). */
  maxUnpackedBytes?: number;
  maxEntries?: number;
}

const TEXT_FILES = new Set(['manifest.json', 'package.conf', 'param.conf']);

async function listTar(buf: Buffer, maxEntries: number): Promise<{ entries: EapEntry[]; texts: Map<string, string> }> {
  const extract = tar.extract();
  const entries: EapEntry[] = [];
  const texts = new Map<string, string>();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const name = h.name.replace(/^\.\//, '');
      if (entries.length >= maxEntries) {
        reject(new EapError('too_large', `the package has more than ${maxEntries} entries; it is not an ACAP application`));
        stream.resume();
        return;
      }
      entries.push({ name, type: h.type ?? 'file', size: h.size ?? 0, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0 });
      const chunks: Buffer[] = [];
      const keep = TEXT_FILES.has(name) && (h.size ?? 0) <= 1024 * 1024;
      stream.on('data', (c: unknown) => {
        if (keep) chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (keep) texts.set(name, Buffer.concat(chunks).toString('utf8'));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve());
    extract.on('error', (err: Error) => reject(err));
  });
  Readable.from([buf]).pipe(extract);
  try {
    await done;
  } catch (err) {
    if (err instanceof EapError) throw err;
    throw new EapError('not_tar', `the package is gzip but not a valid tar archive (${(err as Error).message}); rebuild it with acap-build or npm run build:camera-app`);
  }
  return { entries, texts };
}

/** Opens any .eap (ours or one the ACAP SDK built), lists it and reports every problem found. */
export async function readEap(input: Buffer, opts: ReadEapOptions = {}): Promise<EapInfo> {
  const maxIn = opts.maxInputBytes ?? 256 * 1024 * 1024;
  const maxOut = opts.maxUnpackedBytes ?? 512 * 1024 * 1024;
  if (input.length > maxIn) throw new EapError('too_large', `the package is ${input.length} bytes; the limit is ${maxIn}`);
  if (input.length < 18 || input[0] !== 0x1f || input[1] !== 0x8b) {
    throw new EapError('not_gzip', 'not an .eap: the file is not gzip-compressed (an .eap is a gzip-compressed tar); choose the .eap that acap-build or npm run build:camera-app wrote');
  }
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(input, { maxOutputLength: maxOut });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || (err instanceof RangeError)) {
      throw new EapError('too_large', `the package unpacks to more than ${maxOut} bytes; refusing it (a real ACAP application is far smaller)`);
    }
    throw new EapError('not_gzip', `not an .eap: the gzip data is damaged (${(err as Error).message}); download or build it again`);
  }
  if (tarBytes.length < 512 || !isTarHeader(tarBytes.subarray(0, 512))) {
    throw new EapError('not_tar', 'not an .eap: the gzip content is not a tar archive; rebuild it with acap-build or npm run build:camera-app');
  }
  const { entries, texts } = await listTar(tarBytes, opts.maxEntries ?? 10_000);
  const problems: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('/') || e.name.split('/').includes('..')) problems.push(`${e.name}: unsafe path in the package (absolute or with ..)`);
    if (e.type === 'symlink' || e.type === 'link') problems.push(`${e.name}: links are not allowed in an ACAP package`);
  }
  let manifest: unknown = null;
  let schemaMajor: 1 | 2 | null = null;
  let appName: string | null = null;
  let friendlyName: string | null = null;
  let version: string | null = null;
  let architecture: string | null = null;
  const manifestText = texts.get('manifest.json');
  if (manifestText !== undefined) {
    try {
      manifest = JSON.parse(manifestText);
    } catch (err) {
      problems.push(`manifest.json: is not valid JSON (${(err as Error).message})`);
    }
    if (manifest !== null) {
      const r = validateManifest(manifest);
      schemaMajor = r.schemaMajor;
      if (!r.ok) problems.push(...r.problems.map((p) => `manifest.json ${p}`));
      const setup = (manifest as { acapPackageConf?: { setup?: Record<string, unknown> } }).acapPackageConf?.setup;
      if (setup) {
        appName = typeof setup.appName === 'string' ? setup.appName : null;
        friendlyName = typeof setup.friendlyName === 'string' ? setup.friendlyName : null;
        version = typeof setup.version === 'string' ? setup.version : null;
        architecture = typeof setup.architecture === 'string' ? setup.architecture : null;
      }
    }
  } else if (entries.some((e) => e.name === 'manifest.json')) {
    problems.push('manifest.json: larger than 1 MiB; that is not a manifest');
  }
  let pconf: Record<string, string> | null = null;
  const pconfText = texts.get('package.conf');
  if (pconfText !== undefined) {
    const parsed = parsePackageConf(pconfText);
    pconf = parsed.values;
    problems.push(...parsed.problems);
    appName ??= pconf.APPNAME ?? null;
    friendlyName ??= pconf.PACKAGENAME ?? null;
    architecture ??= pconf.APPTYPE ?? null;
    if (!version && pconf.APPMAJORVERSION !== undefined) version = `${pconf.APPMAJORVERSION}.${pconf.APPMINORVERSION ?? 0}.${pconf.APPMICROVERSION ?? 0}`;
    if (manifest && appName && pconf.APPNAME && pconf.APPNAME !== appName) problems.push(`package.conf APPNAME="${pconf.APPNAME}" differs from manifest appName "${appName}"`);
  } else if (manifestText === undefined) {
    problems.push('neither manifest.json nor package.conf is at the root of the package: it is not an ACAP application');
  }
  if (appName) {
    const exe = entries.find((e) => e.name === appName);
    if (!exe) problems.push(`${appName}: the executable named after appName is missing from the package root`);
    else if (exe.type !== 'file') problems.push(`${appName}: must be a regular file`);
    else if ((exe.mode & 0o111) === 0) problems.push(`${appName}: is not executable (mode ${exe.mode.toString(8)}); it needs 0755`);
  }
  return {
    bytes: input.length,
    sha256: createHash('sha256').update(input).digest('hex'),
    entries,
    manifest,
    schemaMajor,
    packageConf: pconf,
    paramConf: texts.get('param.conf') ?? null,
    appName,
    friendlyName,
    version,
    architecture,
    problems,
    valid: problems.length === 0,
  };
}

/** A tar header block has "ustar" magic (POSIX or GNU) and a checksum that adds up. */
function isTarHeader(h: Buffer): boolean {
  const magic = h.toString('latin1', 257, 262);
  if (magic !== 'ustar') return false;
  const stored = parseInt(h.toString('latin1', 148, 156).replace(/\0.*$/, '').trim(), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return stored === sum;
}
