// What the camera app's test files share: the tools they need (with the reason when one is
// missing, so the tests skip saying why) and one build of the test variant under a lock, so
// whichever file comes second finds it built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const NATIVE = __dirname;
/** The version compiled into the test build. */
export const TEST_VERSION = '1.2.3';
export const MULTIARCH_LOADER = '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1';

export function missingTool(): string | null {
  if (!existsSync('/usr/bin/aarch64-linux-gnu-gcc')) return 'aarch64-linux-gnu-gcc is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return 'qemu-aarch64-static is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/sbin/mosquitto')) return 'mosquitto is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') || !existsSync('/usr/lib/aarch64-linux-gnu/libmosquitto.so'))
    return 'the arm64 libsodium/libmosquitto are not installed (run scripts/setup-cross.sh)';
  if (!existsSync(MULTIARCH_LOADER)) return `${MULTIARCH_LOADER} (libc6:arm64) is missing (run scripts/setup-cross.sh)`;
  return null;
}

/** `make` of the test version into `out` (relative to native/), under the shared lock. */
export function makeUnderLock(out: string, extra: readonly string[], targets: readonly string[] = []): void {
  mkdirSync(join(NATIVE, 'build'), { recursive: true });
  const r = spawnSync('flock', [join(NATIVE, 'build', '.make.lock'), 'make', '-s', '-j2', `VERSION=${TEST_VERSION}`, `OUT=${out}`, ...extra, ...targets], { cwd: NATIVE, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make failed: ${r.stdout}${r.stderr}`);
}
