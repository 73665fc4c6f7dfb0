// npm run rebuild:electron [-- --arch x64 --arch arm64]: builds better-sqlite3 for Electron's ABI
// into build/electron-native/<platform>-<arch>/better_sqlite3.node, from a staging copy of its
// sources, so node_modules keeps the Node build that browser mode, the CLI and the tests load.
// App mode points better-sqlite3 at this file (OMNISIGHT_SQLITE_BINDING, set by main/electron);
// electron-builder ships it as resources/electron-native/ (electron-builder.yml). Needs Electron's
// headers, which node-gyp downloads once (internet) into its cache.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkNativeAbi, electronAbi } from './lib/native-abi.mjs';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { arch: { type: 'string', multiple: true } } });
const arches = values.arch?.length ? values.arch : [process.arch];
const electronPkg = path.join(root, 'node_modules/electron');
const electronVersion = JSON.parse(fs.readFileSync(path.join(electronPkg, 'package.json'), 'utf8')).version;
const abi = electronAbi(electronPkg);
const src = path.join(root, 'node_modules/better-sqlite3');

export const bindingPath = (platform, arch) => path.join(root, 'build/electron-native', `${platform}-${arch}`, 'better_sqlite3.node');

// npm's nodedir (a system Node's headers, e.g. nodedir=/usr on Debian) would make node-gyp build
// for that Node instead of Electron, silently: the ABI check below catches it, this avoids it.
for (const k of Object.keys(process.env)) if (/^npm_config_(nodedir|target|runtime|disturl|dist_url)$/i.test(k)) delete process.env[k];

const { rebuild } = await import('@electron/rebuild');
let failed = false;
for (const arch of arches) {
  const stage = path.join(root, 'build/electron-native', `stage-${process.platform}-${arch}`);
  fs.rmSync(stage, { recursive: true, force: true });
  const staged = path.join(stage, 'node_modules/better-sqlite3');
  fs.mkdirSync(staged, { recursive: true });
  for (const entry of ['package.json', 'binding.gyp', 'lib', 'src', 'deps']) fs.cpSync(path.join(src, entry), path.join(staged, entry), { recursive: true });
  const version = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).version;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify({ name: 'omnisight-electron-native', private: true, dependencies: { 'better-sqlite3': version } }));
  console.log(`Building better-sqlite3 ${version} for Electron ${electronVersion} (ABI ${abi}), ${process.platform}-${arch}…`);
  try {
    await rebuild({ buildPath: stage, electronVersion, arch, onlyModules: ['better-sqlite3'], force: true, buildFromSource: true, mode: 'sequential' });
  } catch (err) {
    console.error(`Could not build better-sqlite3 for Electron ${electronVersion} on ${process.platform}-${arch}: ${err.message}\n(node-gyp needs Electron's headers, downloaded once, and a C++ toolchain.)`);
    failed = true;
    continue;
  }
  const built = path.join(staged, 'build/Release/better_sqlite3.node');
  const check = checkNativeAbi(built, abi);
  if (!check.ok) {
    console.error(check.reason);
    failed = true;
    continue;
  }
  const out = bindingPath(process.platform, arch);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(built, out);
  fs.rmSync(stage, { recursive: true, force: true });
  console.log(`${path.relative(root, out)}: ${check.found}`);
}
process.exit(failed ? 1 : 0);
