// npm test: type-check, lint, import boundaries, build, security scan, unit tests, end-to-end tests — in that order,
// each step's time printed, and one closing line "N passed, N failed, N skipped" over all tests.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = (p) => path.join(root, 'node_modules', p);
const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-test-'));
const only = process.argv.slice(2); // e.g. `npm test -- unit e2e` (`typecheck` runs all three configs)

const steps = [
  // Main/scripts with Node types only, the renderer with DOM types only, the few files on both sides.
  ['typecheck', [bin('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']],
  ['typecheck-web', [bin('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.web.json']],
  ['typecheck-cross', [bin('typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.cross.json']],
  ['lint', [bin('eslint/bin/eslint.js'), '--max-warnings', '0', '.']],
  // No deep cross-capability import, no import cycle in main/ (ARCHITECTURE.md, Layout).
  ['boundaries', ['scripts/check-boundaries.mjs']],
  ['build', [bin('electron-vite/bin/electron-vite.js'), 'build']],
  ['security', ['scripts/security-check.mjs']],
  ['package', ['scripts/check-package.mjs', '--without-electron-build']],
  ['unit', [bin('vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${path.join(reports, 'unit.json')}`]],
  ['e2e', [bin('vitest/vitest.mjs'), 'run', '--config', 'vitest.e2e.config.mts', '--reporter=default', '--reporter=json', `--outputFile.json=${path.join(reports, 'e2e.json')}`]],
];

const totals = { passed: 0, failed: 0, skipped: 0 };
const failedSteps = [];
const started = Date.now();
for (const [name, args] of steps) {
  if (only.length && !only.some((o) => name === o || name.startsWith(`${o}-`))) continue;
  const t0 = Date.now();
  process.stdout.write(`\n── ${name} ${'─'.repeat(60 - name.length)}\n`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.CI ? '0' : '1' } });
  const report = path.join(reports, `${name}.json`);
  if (fs.existsSync(report)) {
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    totals.passed += j.numPassedTests;
    totals.failed += j.numFailedTests;
    totals.skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) failedSteps.push(name);
  process.stdout.write(`── ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs} s\n`);
}
fs.rmSync(reports, { recursive: true, force: true });

const minutes = ((Date.now() - started) / 60000).toFixed(1);
process.stdout.write(`\nnpm test took ${minutes} min${failedSteps.length ? `; failed steps: ${failedSteps.join(', ')}` : ''}\n`);
process.stdout.write(`${totals.passed} passed, ${totals.failed + (failedSteps.length && !totals.failed ? failedSteps.length : 0)} failed, ${totals.skipped} skipped\n`);
process.exit(failedSteps.length ? 1 : 0);
