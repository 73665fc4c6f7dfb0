// The installed app carries the camera app's sources (native/) as a read-only resource; builds
// write into their folder (make's OUT, dist/), so the app works on a copy in its data folder,
// refreshed when the installed version changes. Plain Node: tested without Electron.
import fs from 'node:fs';
import path from 'node:path';

const STAMP = '.omnisight-sources';

/** Returns the writable copy of `installed` under `dataDir`, copying it first when it is missing or from another version. */
export function prepareNativeSources(installed: string, dataDir: string, version: string): string | undefined {
  if (!fs.existsSync(path.join(installed, 'Makefile'))) return undefined;
  const copy = path.join(dataDir, 'native');
  const stamp = path.join(copy, STAMP);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === version) return copy;
  // Sources only: earlier builds (dist/, build/) in the copy are kept, everything else is replaced.
  for (const entry of fs.existsSync(copy) ? fs.readdirSync(copy) : [])
    if (entry !== 'dist' && entry !== 'build') fs.rmSync(path.join(copy, entry), { recursive: true, force: true });
  fs.cpSync(installed, copy, { recursive: true, filter: (src) => !['dist', 'build'].includes(path.relative(installed, src)) });
  fs.writeFileSync(stamp, version);
  return copy;
}
