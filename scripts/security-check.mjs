// Runs Electronegativity over the built output and reads its SARIF: any finding of medium severity
// or above (SARIF level "warning" or "error") fails the check unless the allow-list names it with a
// reason. Electronegativity itself always exits 0, hence this script.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { input: { type: 'string', default: 'out' }, allowlist: { type: 'string', default: 'security/electronegativity-allowlist.json' } } });
const input = path.resolve(root, values.input);
if (!fs.existsSync(input)) {
  console.error(`security-check: ${input} does not exist; run "npm run build" first.`);
  process.exit(2);
}
const electronVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')).version;
const sarifFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-en-')), 'electronegativity.sarif');
const run = spawnSync(
  process.execPath,
  [path.join(root, 'node_modules/@doyensec/electronegativity/dist/index.js'), '-i', input, '-o', sarifFile, '-x', 'AvailableSecurityFixesGlobalCheck', '-e', electronVersion, '-r', '-v', 'false'],
  { cwd: input, encoding: 'utf8' },
);
if (!fs.existsSync(sarifFile)) {
  console.error(`security-check: Electronegativity wrote no report.\n${run.stdout}\n${run.stderr}`);
  process.exit(2);
}
const sarif = JSON.parse(fs.readFileSync(sarifFile, 'utf8'));
fs.rmSync(path.dirname(sarifFile), { recursive: true, force: true });
const allow = JSON.parse(fs.readFileSync(path.resolve(root, values.allowlist), 'utf8')).allowed;
const results = sarif.runs.flatMap((r) => r.results ?? []);
const where = (r) => {
  const loc = r.locations?.[0]?.physicalLocation;
  return `${loc?.artifactLocation?.uri ?? '?'}:${loc?.region?.startLine ?? '?'}`;
};
const serious = results.filter((r) => r.level === 'warning' || r.level === 'error');
const allowed = (r) => allow.find((a) => a.ruleId === r.ruleId && where(r).startsWith(a.file));
const failing = serious.filter((r) => !allowed(r));

console.log(`Electronegativity ${electronVersion ? `(Electron ${electronVersion}) ` : ''}over ${path.relative(root, input) || '.'}: ${results.length} finding(s), ${serious.length} of medium severity or above.`);
for (const r of results) {
  const a = allowed(r);
  const tag = r.level === 'note' ? 'info ' : a ? 'ALLOW' : 'FAIL ';
  console.log(`  ${tag} ${r.ruleId} at ${where(r)} — ${r.message?.text ?? ''}${a ? ` (allowed: ${a.reason})` : ''}`);
}
if (failing.length) {
  console.error(`security-check: ${failing.length} finding(s) of medium severity or above. Fix them, or add each to ${values.allowlist} with its reason.`);
  process.exit(1);
}
console.log('security-check: passed');
