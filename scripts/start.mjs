// npm start: builds if needed, then opens the desktop app when the Electron binary is present,
// else browser mode (same UI in the default browser). `--browser` forces browser mode.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ensureBuilt } from './lib/build.mjs';
import { electronBinary } from './lib/electron-binary.mjs';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const forceBrowser = args.includes('--browser');
const passOn = args.filter((a) => a !== '--browser');

await ensureBuilt();
const electron = electronBinary();

// App mode loads better-sqlite3 built for Electron's ABI from build/electron-native/ (node_modules
// keeps Node's build for browser mode and the tests): build it on first use.
if (electron.path && !forceBrowser) {
  const binding = path.join(root, 'build/electron-native', `${process.platform}-${process.arch}`, 'better_sqlite3.node');
  if (!fs.existsSync(binding)) {
    console.error('First start in app mode: building better-sqlite3 for Electron (npm run rebuild:electron)…');
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/electron-native.mjs')], { stdio: 'inherit' });
    if (r.status !== 0) {
      electron.path = undefined;
      electron.reason = 'better-sqlite3 could not be built for Electron here (see above)';
    }
  }
}

if (electron.path && !forceBrowser) {
  const child = spawn(electron.path, [root, ...passOn], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!forceBrowser) console.error(`Starting in browser mode: ${electron.reason}.`);
  const child = spawn(process.execPath, [path.join(root, 'out/main/serve.js'), ...passOn], { stdio: ['ignore', 'pipe', 'inherit'] });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    console.log(line);
    if (!line.startsWith('OMNISIGHT_URL=')) return;
    const url = line.slice('OMNISIGHT_URL='.length);
    const hasDisplay = process.platform !== 'linux' || !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
    if (!hasDisplay || process.env.OMNISIGHT_NO_OPEN) {
      console.log('No display here: open the address above in a browser on this machine. Ctrl+C stops OmniSight.');
      return;
    }
    const opener = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
    const o = spawn(opener[0], opener[1], { stdio: 'ignore', detached: true });
    o.on('error', () => console.log('Could not open a browser by itself: open the address above. Ctrl+C stops OmniSight.'));
    o.unref();
    console.log('Opened OmniSight in your browser. Ctrl+C stops it.');
  });
}
