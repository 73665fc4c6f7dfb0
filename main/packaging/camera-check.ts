// Checks a built executable against what AXIS OS offers, with binutils' readelf (the cross
// toolchain's), and collects the libraries the package must bundle under lib/:
// - the loader it asks for must be AXIS OS's,
// - every NEEDED library is either part of AXIS OS or bundled (found through RPATH $ORIGIN/lib),
// - no glibc symbol version newer than the oldest AXIS OS the manifest claims, in the program or
//   in any bundled library; the failure names the file, the version and the symbols that need it.
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AXIS_OS_LIBRARIES, AXIS_OS_LOADER, compareVersions, glibcCeiling, oldestClaimedOs } from './axis-os';
import type { EapExtraFile } from './eap';
import type { Manifest } from './manifest';

export interface ElfFacts {
  interpreter?: string;
  needed: string[];
  rpath?: string;
  runpath?: string;
  soname?: string;
  /** GLIBC_x.y versions the file needs, with the symbols that need each. */
  glibc: Map<string, string[]>;
}

export type Readelf = (args: string[]) => Promise<string>;

export const defaultReadelf: Readelf = (args) =>
  new Promise((resolve, reject) =>
    execFile('aarch64-linux-gnu-readelf', args, { maxBuffer: 32 * 1024 * 1024 }, (err, stdout) =>
      err ? reject(new Error(`cannot run aarch64-linux-gnu-readelf (${err.message}); install binutils-aarch64-linux-gnu (scripts/setup-cross.sh)`)) : resolve(stdout),
    ),
  );

/** Parses `readelf -W -l -d -V --dyn-syms` output. */
export function parseReadelf(text: string): ElfFacts {
  const facts: ElfFacts = { needed: [], glibc: new Map() };
  let inVerneed = false;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /\[Requesting program interpreter: ([^\]]+)\]/.exec(line))) facts.interpreter = m[1];
    else if ((m = /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/.exec(line))) facts.needed.push(m[1]!);
    else if ((m = /\(RPATH\)\s+Library rpath: \[([^\]]*)\]/.exec(line))) facts.rpath = m[1];
    else if ((m = /\(RUNPATH\)\s+Library runpath: \[([^\]]*)\]/.exec(line))) facts.runpath = m[1];
    else if ((m = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(line))) facts.soname = m[1];
    if (/^Version needs section/.test(line)) inVerneed = true;
    else if (/^(Version definition section|Symbol table|Version symbols section)/.test(line)) inVerneed = false;
    if (inVerneed && (m = /Name: (GLIBC_[0-9.]+)/.exec(line)) && !facts.glibc.has(m[1]!)) facts.glibc.set(m[1]!, []);
    // Dynamic symbol lines: "  12: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND pthread_create@GLIBC_2.34 (3)"
    if ((m = /\sUND\s+([^\s@]+)@(GLIBC_[0-9.]+)/.exec(line))) {
      const list = facts.glibc.get(m[2]!) ?? [];
      if (!list.includes(m[1]!)) list.push(m[1]!);
      facts.glibc.set(m[2]!, list);
    }
  }
  return facts;
}

export async function elfFacts(file: string, readelf: Readelf = defaultReadelf): Promise<ElfFacts> {
  return parseReadelf(await readelf(['-W', '-l', '-d', '-V', '--dyn-syms', file]));
}

export class CameraBuildError extends Error {
  constructor(readonly problems: string[]) {
    super(`the camera build would not run on AXIS OS:\n  - ${problems.join('\n  - ')}`);
    this.name = 'CameraBuildError';
  }
}

export interface CameraCheckResult {
  /** lib/<soname> files to put in the package. */
  bundle: EapExtraFile[];
  oldestOs: string;
  glibcCeiling: string;
  /** Newest GLIBC version needed by the program and its bundled libraries. */
  glibcNeeded: string;
}

/**
 * Checks the executable and gathers its bundle. `libDirs` are where libraries that AXIS OS lacks
 * are taken from (Debian's arm64 multiarch folder by default).
 */
export async function checkCameraBuild(
  executable: string,
  manifest: Manifest,
  opts: { readelf?: Readelf; libDirs?: string[] } = {},
): Promise<CameraCheckResult> {
  const readelf = opts.readelf ?? defaultReadelf;
  const libDirs = opts.libDirs ?? ['/usr/lib/aarch64-linux-gnu', '/lib/aarch64-linux-gnu'];
  const problems: string[] = [];
  const exe = await elfFacts(executable, readelf);
  if (exe.interpreter !== AXIS_OS_LOADER)
    problems.push(`the program asks for the loader ${exe.interpreter ?? '(none: not a dynamic executable)'}; AXIS OS has ${AXIS_OS_LOADER} (link with -Wl,--dynamic-linker=${AXIS_OS_LOADER})`);
  if (exe.runpath !== undefined) problems.push(`the program has a RUNPATH (${exe.runpath}); the SDK links with --disable-new-dtags so that RPATH $ORIGIN/lib is used`);
  const oldestOs = oldestClaimedOs(manifest);
  const ceiling = glibcCeiling(oldestOs);
  if (!ceiling) problems.push(`no glibc figure is known for AXIS OS ${oldestOs}; claim a newer minimum in compatibleOsVersions or check the firmware's glibc`);

  const bundle: EapExtraFile[] = [];
  const files: { name: string; facts: ElfFacts }[] = [{ name: basename(executable), facts: exe }];
  const seen = new Set<string>();
  const queue = exe.needed.map((n) => ({ lib: n, by: basename(executable) }));
  while (queue.length) {
    const { lib, by } = queue.shift()!;
    if (seen.has(lib) || AXIS_OS_LIBRARIES.has(lib)) continue;
    seen.add(lib);
    if (exe.rpath !== '$ORIGIN/lib') {
      problems.push(`${lib} (needed by ${by}) is not part of AXIS OS and the program has no RPATH $ORIGIN/lib to find it in the package's lib/`);
      continue;
    }
    let found: string | undefined;
    for (const d of libDirs) {
      found = await realpath(join(d, lib)).catch(() => undefined);
      if (found) break;
    }
    if (!found) {
      problems.push(`${lib} (needed by ${by}) is not part of AXIS OS and was not found in ${libDirs.join(' or ')} to bundle`);
      continue;
    }
    const facts = await elfFacts(found, readelf);
    files.push({ name: `lib/${lib}`, facts });
    bundle.push({ name: `lib/${lib}`, data: await readFile(found), mode: 0o755 });
    for (const n of facts.needed) queue.push({ lib: n, by: `lib/${lib}` });
  }

  let glibcNeeded = '0';
  for (const f of files) {
    for (const [v, syms] of f.facts.glibc) {
      const ver = v.slice('GLIBC_'.length);
      if (compareVersions(ver, glibcNeeded) > 0) glibcNeeded = ver;
      if (ceiling && compareVersions(ver, ceiling) > 0)
        problems.push(`${f.name} needs ${v}${syms.length ? ` (${syms.slice(0, 6).join(', ')}${syms.length > 6 ? ', …' : ''})` : ''}, newer than GLIBC_${ceiling}, the newest assumed for AXIS OS ${oldestOs}, the oldest the manifest claims`);
    }
  }
  if (problems.length) throw new CameraBuildError(problems);
  bundle.sort((a, b) => a.name.localeCompare(b.name));
  return { bundle, oldestOs, glibcCeiling: ceiling!, glibcNeeded };
}
