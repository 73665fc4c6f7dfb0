// What an ACAP application may rely on in AXIS OS, for the build's checks of the camera package.
// Sources: ../../../shared/reference/axis-camera-interfaces.md (the loader path, the SDK's library
// list), Axis's acap-native-sdk-examples (lib/ + RPATH $ORIGIN/lib for bundled libraries) and the
// GitHub issues quoted below. The simulator keeps its own list (main/camsim/eap.ts) on purpose.
import type { Manifest } from './manifest';

/** The aarch64 ABI's loader path, which AXIS OS (Yocto) has; Debian's multiarch path it does not. */
export const AXIS_OS_LOADER = '/lib/ld-linux-aarch64.so.1';

/**
 * Shared libraries an app may take from the firmware: glibc and the compiler runtime, the SDK's
 * Axis APIs and its open-source libraries (Cairo, Curl, FastCGI, Jansson, OpenCL, OpenSSL, glib).
 * The Axis API sonames are as the SDK's pkg-config files name the libraries (unverified: check
 * `readelf -d` of a binary built in the SDK container). Anything else travels in the package's lib/.
 */
export const AXIS_OS_LIBRARIES: ReadonlySet<string> = new Set([
  'ld-linux-aarch64.so.1', 'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libresolv.so.2', 'libgcc_s.so.1', 'libstdc++.so.6',
  'libaxevent.so.1', 'libaxparameter.so.1', 'liblarod.so.1', 'libvdostream.so.1', 'libaxoverlay.so.1', 'libbbox.so.1', 'libaxstorage.so.1', 'liblicensekey.so.1', 'libaxserialport.so.1', 'libmdb.so.0',
  'libcairo.so.2', 'libcurl.so.4', 'libfcgi.so.0', 'libjansson.so.4', 'libOpenCL.so.1', 'libssl.so.3', 'libcrypto.so.3',
  'libglib-2.0.so.0', 'libgio-2.0.so.0', 'libgobject-2.0.so.0', 'libgmodule-2.0.so.0', 'libgthread-2.0.so.0',
]);

/**
 * The newest glibc symbol version a package may need for the oldest AXIS OS it claims. Axis
 * publishes no glibc version per release, so these are lower bounds taken from public reports:
 * binaries needing GLIBC_2.34 failed on older firmware (acap-native-sdk-examples issues #97, 2022,
 * and #194, armv7hf, early 2024) while the same builds ran on ARTPEC-8 with AXIS OS 11; builds from
 * the 2024 SDK needing GLIBC_2.38 failed on cameras one release behind (issue #272). Releases not
 * listed are refused by the check (say which one with compatibleOsVersions.min). Verify on a device.
 */
const GLIBC_FLOOR: readonly { os: [number, number]; glibc: string }[] = [
  { os: [11, 0], glibc: '2.34' },
  { os: [12, 0], glibc: '2.34' },
];

const parseOs = (v: string): [number, number] => {
  const [a, b] = v.split('.').map(Number);
  return [a ?? 0, b ?? 0];
};
const cmpOs = (x: [number, number], y: [number, number]): number => x[0] - y[0] || x[1] - y[1];

/** Compares dotted versions numerically (2.9 < 2.17). */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The oldest AXIS OS the manifest claims: compatibleOsVersions' lowest min (schema 2.x, which needs AXIS OS 12), or AXIS OS 11 for schema 1.x. */
export function oldestClaimedOs(manifest: Manifest): string {
  const setup = manifest.acapPackageConf.setup as { compatibleOsVersions?: { min?: string; max?: string }[] };
  if (!setup.compatibleOsVersions) return '11.0';
  const mins = setup.compatibleOsVersions.map((r) => r.min ?? '12.0');
  return mins.sort((a, b) => cmpOs(parseOs(a), parseOs(b)))[0] ?? '12.0';
}

/** The glibc ceiling for an AXIS OS release, or undefined when nothing is known for it. */
export function glibcCeiling(os: string): string | undefined {
  const v = parseOs(os);
  let found: string | undefined;
  for (const row of GLIBC_FLOOR) if (cmpOs(v, row.os) >= 0) found = row.glibc;
  return found;
}
