// npm run bench: every per-area benchmark that exists (npm run bench:<area>), one after the other.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
const benches = Object.keys(scripts).filter((s) => s.startsWith('bench:'));
let failed = 0;
for (const b of benches) {
  console.log(`\n── npm run ${b}`);
  const r = spawnSync('npm', ['run', '--silent', b], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(`\n${benches.length - failed} of ${benches.length} benchmarks wrote their results to bench-results/.`);
process.exit(failed ? 1 : 0);
