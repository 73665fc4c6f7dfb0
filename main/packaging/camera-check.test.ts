// The camera build's checks against AXIS OS: parsed from real readelf output (the cross binutils),
// and each refusal shown with a crafted readelf reply so it fails for the stated reason.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CameraBuildError, checkCameraBuild, glibcCeiling, oldestClaimedOs, parseReadelf, validateManifest, type Manifest, type Readelf } from './index';

const manifest = (extra: Record<string, unknown> = {}): Manifest => {
  const r = validateManifest({
    schemaVersion: '2.2.0',
    acapPackageConf: { setup: { appName: 'omnisight', vendor: 'O', vendorId: '0a1b2c3d4e', version: '1.0.0', runMode: 'respawn', architecture: 'aarch64', compatibleOsVersions: [{ min: '12.0', max: '13' }], ...extra } },
  });
  if (!r.ok) throw new Error(r.problems.join());
  return r.manifest;
};

const readelfText = (o: { interp?: string; needed?: string[]; rpath?: string; runpath?: string; glibc?: Record<string, string[]> }): string =>
  [
    o.interp ? `      [Requesting program interpreter: ${o.interp}]` : '',
    ...(o.needed ?? []).map((n) => ` 0x0000000000000001 (NEEDED)             Shared library: [${n}]`),
    o.rpath !== undefined ? ` 0x000000000000000f (RPATH)              Library rpath: [${o.rpath}]` : '',
    o.runpath !== undefined ? ` 0x000000000000001d (RUNPATH)            Library runpath: [${o.runpath}]` : '',
    ...Object.entries(o.glibc ?? {}).flatMap(([v, syms]) => syms.map((s, i) => `    ${i}: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND ${s}@${v} (3)`)),
    "Version needs section '.gnu.version_r' contains 1 entry:",
    ...Object.keys(o.glibc ?? {}).map((v) => `  0x0010:   Name: ${v}  Flags: none  Version: 3`),
  ].join('\n');

/** A fake readelf: the executable's reply by name, libraries' replies by their base name. */
const fakeReadelf = (replies: Record<string, string>): Readelf => async (args) => replies[path.basename(args.at(-1)!)] ?? readelfText({});

describe('camera build checks', () => {
  const libDir = fs.mkdtempSync(path.join(os.tmpdir(), 'camera-check-'));
  fs.writeFileSync(path.join(libDir, 'libsodium.so.23'), 'sodium bytes');
  const good = readelfText({ interp: '/lib/ld-linux-aarch64.so.1', needed: ['libsodium.so.23', 'libc.so.6'], rpath: '$ORIGIN/lib', glibc: { 'GLIBC_2.17': ['malloc'], 'GLIBC_2.34': ['pthread_create'] } });

  it('AXIS OS figures: oldest claimed release and its glibc ceiling', () => {
    expect(oldestClaimedOs(manifest())).toBe('12.0');
    expect(oldestClaimedOs(manifest({ compatibleOsVersions: [{ max: '13' }] }))).toBe('12.0');
    expect(glibcCeiling('12.11')).toBe('2.34');
    expect(glibcCeiling('10.12')).toBeUndefined();
  });

  it('accepts a program with the AXIS OS loader, bundles what AXIS OS lacks from lib/, and reports the glibc it needs', async () => {
    const r = await checkCameraBuild('/x/omnisight', manifest(), { readelf: fakeReadelf({ omnisight: good }), libDirs: [libDir] });
    expect(r.bundle.map((b) => [b.name, b.data.toString()])).toEqual([['lib/libsodium.so.23', 'sodium bytes']]);
    expect(r).toMatchObject({ glibcNeeded: '2.34', glibcCeiling: '2.34', oldestOs: '12.0' });
  });

  it('refuses the multiarch loader, a RUNPATH, a library it cannot bundle, and glibc versions too new, naming each', async () => {
    const bad = readelfText({ interp: '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', needed: ['libsodium.so.23', 'libzmq.so.5'], rpath: '$ORIGIN/lib', runpath: '$ORIGIN/lib', glibc: { 'GLIBC_2.38': ['__isoc23_strtol'] } });
    const err = await checkCameraBuild('/x/omnisight', manifest(), { readelf: fakeReadelf({ omnisight: bad }), libDirs: [libDir] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CameraBuildError);
    const p = (err as CameraBuildError).problems.join('\n');
    expect(p).toContain('asks for the loader /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1; AXIS OS has /lib/ld-linux-aarch64.so.1');
    expect(p).toContain('RUNPATH');
    expect(p).toContain('libzmq.so.5 (needed by omnisight) is not part of AXIS OS and was not found');
    expect(p).toContain('omnisight needs GLIBC_2.38 (__isoc23_strtol), newer than GLIBC_2.34, the newest assumed for AXIS OS 12.0');
  });

  it('refuses a bundled library that itself needs a glibc too new, and libraries without RPATH $ORIGIN/lib', async () => {
    const replies = { omnisight: good, 'libsodium.so.23': readelfText({ needed: ['libc.so.6'], glibc: { 'GLIBC_2.39': ['pidfd_spawn'] } }) };
    await expect(checkCameraBuild('/x/omnisight', manifest(), { readelf: fakeReadelf(replies), libDirs: [libDir] })).rejects.toThrow('lib/libsodium.so.23 needs GLIBC_2.39 (pidfd_spawn)');
    const noRpath = readelfText({ interp: '/lib/ld-linux-aarch64.so.1', needed: ['libsodium.so.23'] });
    await expect(checkCameraBuild('/x/omnisight', manifest(), { readelf: fakeReadelf({ omnisight: noRpath }), libDirs: [libDir] })).rejects.toThrow('no RPATH $ORIGIN/lib');
  });

  const built = path.join(__dirname, '../../native/build/aarch64-camera-1.0.0/omnisight');
  it.skipIf(!fs.existsSync(built))('parses the real readelf output of the camera build', () => {
    const facts = parseReadelf(execFileSync('aarch64-linux-gnu-readelf', ['-W', '-l', '-d', '-V', '--dyn-syms', built], { encoding: 'utf8' }));
    expect(facts.interpreter).toBe('/lib/ld-linux-aarch64.so.1');
    expect(facts.rpath).toBe('$ORIGIN/lib');
    expect(facts.runpath).toBeUndefined();
    expect(facts.needed).toEqual(expect.arrayContaining(['libsodium.so.23', 'libmosquitto.so.1', 'libc.so.6']));
    expect(facts.glibc.get('GLIBC_2.34')).toEqual(expect.arrayContaining(['pthread_create']));
  });
});
