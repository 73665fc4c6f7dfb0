// npm run build:camera-app [-- --crash-at-start] [--version X.Y.Z] [--schema 1|2] [--target camera|sim] [--json]
// Cross-compiles native/ for aarch64 and writes the .eap to native/dist/. The default is the AXIS OS
// package (--target camera); --target sim writes Debian's multiarch build to native/dist/sim/ (qemu only).
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { buildNativeApp } from '../main/packaging';

function usage(msg: string): never {
  console.error(`build-camera-app: ${msg}\nusage: npm run build:camera-app -- [--crash-at-start] [--version X.Y.Z] [--schema 1|2] [--target camera|sim] [--json]`);
  process.exit(2);
}

const args = process.argv.slice(2);
let crashAtStart = false;
let version: string | undefined;
let schema: 1 | 2 = 1;
let json = false;
let target: 'camera' | 'sim' = 'camera';
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--crash-at-start') crashAtStart = true;
  else if (a === '--json') json = true;
  else if (a === '--version') {
    version = args[++i];
    if (!version || !/^\d+\.\d+\.\d+$/.test(version)) usage('--version needs X.Y.Z, e.g. --version 1.2.0');
  } else if (a === '--schema') {
    const s = args[++i];
    if (s !== '1' && s !== '2') usage('--schema takes 1 or 2');
    schema = s === '2' ? 2 : 1;
  } else if (a === '--target') {
    const t = args[++i];
    if (t !== 'camera' && t !== 'sim') usage('--target takes camera (the AXIS OS package) or sim (qemu only)');
    target = t;
  } else usage(`unknown argument ${a}`);
}

// npm runs scripts from the package root; walk up in case this is run from a subfolder.
let root = process.cwd();
while (!existsSync(join(root, 'native', 'Makefile')) && dirname(root) !== root) root = dirname(root);

async function main(): Promise<void> {
  const r = await buildNativeApp({ nativeDir: join(root, 'native'), crashAtStart, version, schema, target });
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(`${relative(process.cwd(), r.path)}`);
    console.log(`  ${r.bytes} bytes, sha256 ${r.sha256}`);
    console.log(`  version ${r.version}, manifest schema ${r.schemaMajor}.x, ${r.target === 'camera' ? 'AXIS OS package' : 'simulator-only build (AXIS OS refuses its loader)'}${r.crashAtStart ? ', CRASH_AT_START build' : ''}`);
    if (r.bundled.length) console.log(`  bundled under lib/: ${r.bundled.map((b) => b.slice(4)).join(', ')} (RPATH $ORIGIN/lib)`);
    if (r.glibc) console.log(`  needs GLIBC_${r.glibc.needed}, within GLIBC_${r.glibc.ceiling} assumed for AXIS OS ${r.glibc.oldestOs}`);
    console.log(`  built in ${(r.buildMs / 1000).toFixed(2)} s`);
  }
}

main().catch((err: unknown) => {
  console.error(`build-camera-app: ${(err as Error).message}`);
  process.exit(1);
});
