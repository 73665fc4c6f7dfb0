// npm run check:package: packages the app for Linux (electron-builder, target "dir") with a stand-in
// Electron distribution made here, and inspects what an install would get. No Electron binary can
// be downloaded on every machine, but what electron-builder writes around it can be checked: the
// fuses flipped in the executable, the asar's contents and size, native modules outside the asar,
// the camera-app sources, and each native module's ABI against the one Electron needs.
//
//   --without-electron-build  where no Electron-ABI better-sqlite3 can be built (no Electron
//                             headers offline), package Node's build in its place and require the
//                             ABI check to refuse it, with the reason. `npm test` uses this here.
//   --keep                    keep the packaged folder and print where it is.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { ensureBuilt } from './lib/build.mjs';
import { checkNativeAbi, electronAbi } from './lib/native-abi.mjs';

/**
 * The asar carries the bundled main/preload/renderer and main's runtime dependencies. It was 71 MB
 * with renderer-only packages, urllib and type declarations; 19.9 MB without them, 24.1 MB once the
 * secret scanner (secretlint) and TLS certificates (selfsigned) came in. The budget leaves room for
 * one more dependency of that size; past it, look at what grew before raising it.
 */
export const ASAR_BUDGET_BYTES = 28 * 1024 * 1024;
/** Bundled into out/renderer by Vite: shipping them again in node_modules only adds weight. */
export const RENDERER_ONLY = ['react', 'react-dom', 'recharts', 'lucide-react', 'zustand', 'd3-force', '@radix-ui', 'urllib'];

const root = path.resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({ options: { 'without-electron-build': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
const t0 = Date.now();
const results = [];
const check = (name, ok, detail) => {
  results.push({ name, ok, detail });
  console.log(`${ok ? '✓' : '✗'} ${name}${detail ? `: ${detail}` : ''}`);
};

const { SENTINEL } = await import('@electron/fuses/dist/constants.js').then((m) => m.default ?? m);
const { FuseV1Options, getCurrentFuseWire } = await import('@electron/fuses').then((m) => m.default ?? m);
const asar = await import('@electron/asar').then((m) => m.default ?? m);

const electronPkg = path.join(root, 'node_modules/electron');
const electronVersion = JSON.parse(fs.readFileSync(path.join(electronPkg, 'package.json'), 'utf8')).version;
const neededAbi = electronAbi(electronPkg);
const config = YAML.parse(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8'));

// Electron's own default fuse states (electron/build/fuses/fuses.json5): the stand-in starts from them,
// so a fuse that electron-builder failed to flip shows up as the wrong state.
const ELECTRON_DEFAULT_FUSES = {
  RunAsNode: true,
  EnableCookieEncryption: false,
  EnableNodeOptionsEnvironmentVariable: true,
  EnableNodeCliInspectArguments: true,
  EnableEmbeddedAsarIntegrityValidation: false,
  OnlyLoadAppFromAsar: false,
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: true,
};
const fuseNames = Object.keys(FuseV1Options).filter((k) => Number.isNaN(Number(k)));
const configKey = (name) => name[0].toLowerCase() + name.slice(1);

function makeStandInElectron(dir) {
  fs.mkdirSync(path.join(dir, 'resources'), { recursive: true });
  // An executable that says what it is, followed by Electron's fuse wire: sentinel, wire version (1),
  // length, one byte per fuse ('0' off, '1' on), exactly where @electron/fuses looks for it.
  const wire = Buffer.from(fuseNames.map((n) => (ELECTRON_DEFAULT_FUSES[n] ? '1' : '0')).join(''), 'latin1');
  const script = Buffer.from('#!/bin/sh\necho "stand-in Electron made by scripts/check-package.mjs; it runs nothing"\nexit 1\n');
  fs.writeFileSync(path.join(dir, 'electron'), Buffer.concat([script, Buffer.from(`\n#${SENTINEL}`), Buffer.from([1, wire.length]), wire, Buffer.from('\n')]), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'version'), electronVersion);
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'stand-in');
  fs.writeFileSync(path.join(dir, 'LICENSES.chromium.html'), '<p>stand-in</p>');
}

/** Static require() graph from an entry in out/main: lazy requires (inside a Promise) are not followed. */
function eagerRequires(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = fs.readFileSync(file, 'utf8');
  for (const m of src.matchAll(/(Promise\.resolve\(\)\.then\(\(\) => (?:\/\*[^*]*\*\/ )?(?:[\w.]+\()?)?require\("([^"]+)"\)/g)) {
    if (m[1]) continue; // lazy
    const spec = m[2];
    if (spec.startsWith('.')) eagerRequires(path.resolve(path.dirname(file), spec), seen);
    else seen.add(spec);
  }
  return seen;
}

await ensureBuilt({ quiet: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-package-'));
const standIn = path.join(work, 'electron-dist');
makeStandInElectron(standIn);

// better-sqlite3 for Electron (npm run rebuild:electron), or Node's build as a decoy the check must refuse.
const stagedDir = path.join(root, 'build/electron-native/linux-x64');
const haveElectronBuild = fs.existsSync(path.join(stagedDir, 'better_sqlite3.node'));
let nativeFrom = stagedDir;
let decoy = false;
if (!haveElectronBuild) {
  if (!opts['without-electron-build']) {
    console.error(`✗ better-sqlite3 has no Electron ${electronVersion} build in ${path.relative(root, stagedDir)}: run \`npm run rebuild:electron\` first (it needs Electron's headers, downloaded once).`);
    process.exit(1);
  }
  decoy = true;
  nativeFrom = path.join(work, 'node-build');
  fs.mkdirSync(nativeFrom);
  fs.copyFileSync(path.join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), path.join(nativeFrom, 'better_sqlite3.node'));
  console.log(`No Electron build of better-sqlite3 here (${path.relative(root, stagedDir)}): packaging Node's build in its place; the ABI check must refuse it.`);
}

const { build, Platform, Arch } = await import('electron-builder').then((m) => m.default ?? m);
const outDir = path.join(work, 'dist');
const packConfig = {
  ...config,
  electronDist: standIn,
  directories: { ...config.directories, output: outDir },
  extraResources: config.extraResources.map((r) => (r.to === 'electron-native' ? { ...r, from: nativeFrom } : r)),
  publish: null,
};
// A config file of its own: an object passed as `config` is merged into electron-builder.yml, and
// the merge would keep the yml's extraResources beside ours.
const packConfigFile = path.join(work, 'electron-builder.json');
fs.writeFileSync(packConfigFile, JSON.stringify(packConfig));
const tBuild = Date.now();
await build({ projectDir: root, targets: Platform.LINUX.createTarget(['dir'], Arch.x64), config: packConfigFile, publish: 'never' });
console.log(`packaged in ${((Date.now() - tBuild) / 1000).toFixed(1)} s`);

const unpacked = path.join(outDir, 'linux-unpacked');
const resources = path.join(unpacked, 'resources');
const exeName = fs.readdirSync(unpacked).find((f) => {
  const p = path.join(unpacked, f);
  return fs.statSync(p).isFile() && fs.readFileSync(p).includes(SENTINEL);
});

// 1. Fuses, read back from the packaged executable.
if (!exeName) check('fuses', false, 'no executable with a fuse wire in the package');
else {
  const wire = await getCurrentFuseWire(path.join(unpacked, exeName));
  const wrong = [];
  for (const name of fuseNames) {
    const want = config.electronFuses[configKey(name)];
    if (want === undefined) continue;
    const state = wire[FuseV1Options[name]];
    const on = state === 49 || state === '1' || state === 1 || state === true || String.fromCharCode(Number(state)) === '1';
    if (on !== want) wrong.push(`${name} is ${on ? 'on' : 'off'}, electron-builder.yml wants ${want ? 'on' : 'off'}`);
  }
  check('fuses written into the executable', wrong.length === 0, wrong.join('; ') || `${fuseNames.length} fuses as configured (${exeName})`);
}

// 2. The asar: what the app needs, nothing the renderer bundle already holds, within the budget.
const asarPath = path.join(resources, 'app.asar');
const entries = asar.listPackage(asarPath, { isPack: false }).map((e) => e.replace(/\\/g, '/'));
for (const need of ['/package.json', '/out/main/index.js', '/out/main/helper.js', '/out/preload/index.js', '/out/renderer/index.html', '/resources/icon.png', '/resources/trayTemplate.png'])
  check(`asar has ${need}`, entries.includes(need));
const rendererOnly = RENDERER_ONLY.filter((p) => entries.includes(`/node_modules/${p}`));
check('asar has no renderer-only packages', rendererOnly.length === 0, rendererOnly.length ? `found ${rendererOnly.join(', ')}` : `none of ${RENDERER_ONLY.join(', ')}`);
const asarBytes = fs.statSync(asarPath).size;
const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
check('asar size within budget', asarBytes <= ASAR_BUDGET_BYTES, `${mb(asarBytes)} of ${mb(ASAR_BUDGET_BYTES)}`);
check('asar has no better-sqlite3 Node build or C sources', !entries.some((e) => /^\/node_modules\/better-sqlite3\/(build|deps|src)\//.test(e)));

// 3. Native modules: none inside the asar proper (they cannot be loaded from there).
const packedNative = entries.filter((e) => e.endsWith('.node') && !asar.statFile(asarPath, e.slice(1)).unpacked);
check('native modules unpacked', packedNative.length === 0, packedNative.length ? `inside the asar: ${packedNative.join(', ')}` : 'every .node is in app.asar.unpacked or resources/');

// 4. The camera-app sources, and no build output.
const nativeDir = path.join(resources, 'native');
const sources = ['Makefile', 'manifest.json', 'LICENSE'].filter((f) => fs.existsSync(path.join(nativeDir, f)));
const cFiles = fs.existsSync(path.join(nativeDir, 'src')) ? fs.readdirSync(path.join(nativeDir, 'src')).filter((f) => f.endsWith('.c')) : [];
check('camera-app sources present (resources/native)', sources.length === 3 && cFiles.length > 0, `${sources.join(', ')}, ${cFiles.length} C files`);
check('no camera-app build output shipped', !fs.existsSync(path.join(nativeDir, 'dist')) && !fs.existsSync(path.join(nativeDir, 'build')));

// 5. Start-up path: the main bundle does not load a simulator-only native module eagerly.
const eager = eagerRequires(path.join(root, 'out/main/index.js'));
check('main start loads no sharp', !eager.has('sharp'), [...eager].filter((s) => !s.startsWith('/') && !s.startsWith('node:')).join(', '));

// 6. ABI of every native module in the package against Electron's.
const nodeFiles = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.node')) nodeFiles.push(p);
  }
};
walk(resources);
const sqlite = nodeFiles.find((f) => f.endsWith(path.join('electron-native', 'better_sqlite3.node')));
check('better-sqlite3 shipped as resources/electron-native/better_sqlite3.node', !!sqlite);
for (const f of nodeFiles) {
  const r = checkNativeAbi(f, neededAbi, `Electron ${electronVersion}`);
  const rel = path.relative(resources, f);
  if (decoy && f === sqlite) check(`ABI check refuses Node's build (${rel})`, !r.ok, r.ok ? 'it was accepted' : r.reason);
  else check(`ABI of ${rel}`, r.ok, r.ok ? `${r.found}, Electron ${electronVersion} needs ${neededAbi}` : r.reason);
}

const failed = results.filter((r) => !r.ok);
if (opts.keep) console.log(`package kept in ${unpacked}`);
else fs.rmSync(work, { recursive: true, force: true });
if (decoy)
  console.log(
    `\nNOTE: this machine cannot build better-sqlite3 for Electron ${electronVersion} (ABI ${neededAbi}), so a package made here would not start; the release workflow builds it (npm run rebuild:electron) and runs this check without --without-electron-build.`,
  );
console.log(`\ncheck:package: ${results.length - failed.length} of ${results.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed.length ? 1 : 0);
