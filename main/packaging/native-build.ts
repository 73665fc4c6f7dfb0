// Builds native/ for aarch64 with make and packages the result as an .eap. Used by
// scripts/build-camera-app.ts and by the helper process (it takes its I/O as parameters).
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkCameraBuild, type Readelf } from './camera-check';
import { buildEap, type EapExtraFile } from './eap';
import { assertManifest } from './manifest';

export interface NativeBuildOptions {
  nativeDir: string;
  /** Manifest schema major version: 1 → manifest.json, 2 → manifest.v2.json. */
  schema?: 1 | 2;
  /** Overrides setup.version (and the version compiled into the program). */
  version?: string;
  crashAtStart?: boolean;
  /**
   * 'camera' (default): the AXIS OS package (loader /lib/ld-linux-aarch64.so.1, libsodium and
   * libmosquitto bundled under lib/ behind RPATH $ORIGIN/lib, glibc versions checked against the
   * oldest AXIS OS the manifest claims). 'sim': Debian's multiarch build for qemu only; AXIS OS
   * (and the simulated camera) refuse it.
   */
  target?: 'camera' | 'sim';
  /** Extra package files (html/, model/ …) added after the build. */
  extraFiles?: EapExtraFile[];
  /** readelf for the camera checks; replaceable in tests. */
  readelf?: Readelf;
  /** Where libraries that AXIS OS lacks are taken from for lib/ (default Debian's arm64 folders). */
  libDirs?: string[];
  /** Where the .eap goes; default <nativeDir>/dist (crash builds in dist/crash-at-start). */
  outDir?: string;
  sourceDateEpoch?: number;
  now?: () => number;
  /** Runs make; replaceable in tests. Resolves with the combined output, rejects on failure. */
  runMake?: (args: string[], cwd: string) => Promise<string>;
}

export interface NativeBuildResult {
  path: string;
  fileName: string;
  bytes: number;
  sha256: string;
  version: string;
  schemaMajor: 1 | 2;
  crashAtStart: boolean;
  target: 'camera' | 'sim';
  executable: string;
  /** Libraries bundled under lib/ (camera target). */
  bundled: string[];
  /** Camera target: the newest GLIBC version needed and the ceiling it was checked against. */
  glibc?: { needed: string; ceiling: string; oldestOs: string };
  buildMs: number;
}

function defaultRunMake(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('make', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => reject(new Error(`cannot run make (${err.message}); install build tools with scripts/setup-cross.sh`)));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`make failed (exit ${code}); run scripts/setup-cross.sh if the cross compiler or arm64 libraries are missing:\n${out.slice(-4000)}`)),
    );
  });
}

export async function buildNativeApp(opts: NativeBuildOptions): Promise<NativeBuildResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const schema = opts.schema ?? 1;
  const manifestPath = join(opts.nativeDir, schema === 2 ? 'manifest.v2.json' : 'manifest.json');
  const manifestJson = JSON.parse(await readFile(manifestPath, 'utf8')) as { acapPackageConf: { setup: { version: string } } };
  if (opts.version !== undefined) manifestJson.acapPackageConf.setup.version = opts.version;
  // Validate before compiling: a bad manifest should fail in milliseconds, not after a build.
  const { manifest } = assertManifest(manifestJson);
  const version = manifest.acapPackageConf.setup.version;
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`version ${version}: the program embeds X.Y.Z only; drop the pre-release/build suffix`);
  const crash = opts.crashAtStart ?? false;
  const target = opts.target ?? 'camera';
  const variant = `aarch64-${target}-${version}${crash ? '-crash' : ''}`;
  const outRel = join('build', variant);
  await (opts.runMake ?? defaultRunMake)(['-j2', `TARGET=${target}`, `VERSION=${version}`, `CRASH_AT_START=${crash ? 1 : 0}`, `OUT=${outRel}`], opts.nativeDir);
  const executable = join(opts.nativeDir, outRel, 'omnisight');
  // The camera package is checked before it is written: a package AXIS OS cannot load is an error
  // that says why, not a file in dist/.
  const check = target === 'camera' ? await checkCameraBuild(executable, manifest, { readelf: opts.readelf, libDirs: opts.libDirs }) : undefined;
  const built = await buildEap({
    manifest: manifestJson,
    executable: await readFile(executable),
    license: await readFile(join(opts.nativeDir, 'LICENSE')),
    sourceDateEpoch: opts.sourceDateEpoch,
    extraFiles: [...(check?.bundle ?? []), ...(opts.extraFiles ?? [])],
  });
  const outDir = opts.outDir ?? join(opts.nativeDir, 'dist', target === 'sim' ? 'sim' : '', crash ? 'crash-at-start' : '');
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, built.fileName);
  await writeFile(path, built.data);
  return {
    path,
    fileName: built.fileName,
    bytes: built.data.length,
    sha256: built.sha256,
    version,
    schemaMajor: built.schemaMajor,
    crashAtStart: crash,
    target,
    executable,
    bundled: (check?.bundle ?? []).map((f) => f.name),
    glibc: check ? { needed: check.glibcNeeded, ceiling: check.glibcCeiling, oldestOs: check.oldestOs } : undefined,
    buildMs: now() - started,
  };
}
