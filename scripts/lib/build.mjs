import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const sources = ['main', 'preload', 'renderer', 'package.json', 'electron.vite.config.ts'];
const outputs = ['out/main/index.js', 'out/main/serve.js', 'out/preload/index.js', 'out/renderer/index.html'];

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(p, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    max = Math.max(max, newest(path.join(p, e.name)));
  }
  return max;
}

/** Builds with electron-vite when out/ is missing or older than any source file. */
export function needsBuild() {
  const outs = outputs.map((o) => path.join(root, o));
  if (!outs.every((o) => fs.existsSync(o))) return true;
  const built = Math.min(...outs.map((o) => fs.statSync(o).mtimeMs));
  return sources.some((s) => fs.existsSync(path.join(root, s)) && newest(path.join(root, s)) > built);
}

export async function ensureBuilt({ force = false, quiet = false } = {}) {
  if (!force && !needsBuild()) return;
  if (!quiet) process.stderr.write('Building OmniSight (electron-vite)…\n');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: root,
    stdio: quiet ? 'pipe' : ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(String(r.stdout) + String(r.stderr));
    throw new Error('The build failed; see the messages above.');
  }
}
