// npm run bench: every per-area benchmark that exists (npm run bench:<area>), one after the other.
// Before each one the machine is given time to settle (share of all cores busy over a 2 s window
// under BENCH_SETTLE_BUSY percent, default 20, waiting at most BENCH_SETTLE_MAX_S, default 90;
// BENCH_SETTLE=0 skips the wait): otherwise a bench measures its predecessor's tail. What was found
// is written into each JSON the bench wrote, as `machine_before`, settled or not.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitForQuiet } from './lib/settle.mjs';

const root = path.resolve(import.meta.dirname, '..');
const results = path.join(root, 'bench-results');
const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
// BENCH_ONLY=bench:a,bench:b runs those (in that order) instead of all.
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const benches = only ?? Object.keys(scripts).filter((s) => s.startsWith('bench:'));
const unknown = benches.filter((b) => !b.startsWith('bench:') || !scripts[b]);
if (unknown.length) throw new Error(`BENCH_ONLY: no such benchmark: ${unknown.join(', ')}`);
const settle = process.env.BENCH_SETTLE !== '0';
const threshold = Number(process.env.BENCH_SETTLE_BUSY ?? 20) / 100;
const maxMs = Number(process.env.BENCH_SETTLE_MAX_S ?? 90) * 1000;
if (!(threshold > 0 && threshold <= 1) || !(maxMs >= 0)) throw new Error('BENCH_SETTLE_BUSY must be a percentage in (0, 100] and BENCH_SETTLE_MAX_S a number of seconds ≥ 0');

/** JSON files in bench-results/ written since `since` (ms). */
const writtenSince = (since) =>
  fs.existsSync(results)
    ? fs
        .readdirSync(results)
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(results, f))
        .filter((f) => fs.statSync(f).mtimeMs >= since)
    : [];

let failed = 0;
for (const b of benches) {
  console.log(`\n── npm run ${b}`);
  let machine = null;
  if (settle) {
    machine = await waitForQuiet({ threshold, maxMs });
    console.log(
      machine.settled
        ? `machine settled: ${machine.cpu_busy_percent} % busy over 2 s (waited ${machine.waited_s} s)`
        : `machine still ${machine.cpu_busy_percent} % busy after ${machine.waited_s} s; running anyway (recorded in the result)`,
    );
  }
  const started = Date.now() - 1000; // mtime granularity
  const r = spawnSync('npm', ['run', '--silent', b], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
  if (!machine) continue;
  for (const f of writtenSince(started)) {
    try {
      const j = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (j && typeof j === 'object' && !Array.isArray(j)) fs.writeFileSync(f, `${JSON.stringify({ ...j, machine_before: machine }, null, 2)}\n`);
    } catch {
      // Not JSON the bench finished writing (it failed): left as it is.
    }
  }
}
console.log(`\n${benches.length - failed} of ${benches.length} benchmarks wrote their results to bench-results/.`);
process.exit(failed ? 1 : 0);
