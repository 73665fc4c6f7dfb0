// Where app mode finds better-sqlite3 built for Electron's ABI (node_modules holds Node's build).
// scripts/electron-native.mjs makes it; electron-builder.yml ships it as resources/electron-native.
import fs from 'node:fs';
import path from 'node:path';

export interface BindingPlace {
  packaged: boolean;
  resourcesPath: string;
  appPath: string;
  platform: string;
  arch: string;
  electronVersion: string;
  abi: string;
}

export function electronSqliteBinding(p: BindingPlace, exists: (file: string) => boolean = fs.existsSync): string {
  const file = p.packaged
    ? path.join(p.resourcesPath, 'electron-native', 'better_sqlite3.node')
    : path.join(p.appPath, 'build', 'electron-native', `${p.platform}-${p.arch}`, 'better_sqlite3.node');
  if (!exists(file))
    throw new Error(
      p.packaged
        ? `This install is missing its database engine (${file}). Reinstall OmniSight.`
        : `better-sqlite3 has no build for Electron ${p.electronVersion} (NODE_MODULE_VERSION ${p.abi}) at ${file}: run \`npm run rebuild:electron\`, or \`npm start -- --browser\`.`,
    );
  return file;
}
