import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Where the Electron binary is, or why there is none — without triggering Electron's download on
 * first use (require('electron') would try to fetch it, which fails on machines with no internet).
 */
export function electronBinary() {
  const pkg = path.join(root, 'node_modules/electron');
  if (!fs.existsSync(pkg)) return { path: undefined, reason: 'the electron package is not installed (run npm ci)' };
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathFile = path.join(pkg, 'path.txt');
  const rel = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : undefined;
  const candidate = override ? path.join(override, rel ?? 'electron') : rel ? path.join(pkg, 'dist', rel) : undefined;
  if (candidate && fs.existsSync(candidate)) return { path: candidate, reason: undefined };
  return {
    path: undefined,
    reason: 'the Electron binary has not been downloaded (Electron ≥ 45 fetches it on first run; get it with `npx install-electron`)',
  };
}
