// npm run eval:robust -- [--clients 20,100] [--seed S]
//
// Robust aggregation under poisoned cameras: the fl1 confirmation head learned over federated
// rounds (main/federated/robust-eval.ts) with k poisoned cameras (1, 10 %, 20 %, 30 % of m) for
// each attack (scaled, sign-flipped, Gaussian, and the colluding ALIE and IPM), aggregated by plain
// FedAvg, the app's three robust rules (trimmed mean 30 %, median, Krum f = 30 %) and four measured
// extras (multi-Krum, norm bounding, centered clipping, and FedAvg over updates clamped as the
// secure mode's quantizer clamps them). Each cell: test accuracy and log-loss after the rounds,
// whether it stays within the stated margin of clean FedAvg, and for the app's rules the stated
// limit it falls under, if any. The exit code is 1 when an app rule leaves the margin in a cell it
// is claimed for.
// Writes bench-results/robust.json and prints one table per m.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { aggregator, appRules, extraRules, MARGIN, runGrid, SETTINGS, type Grid, type GridCell } from '../main/federated/robust-eval';

const Args = z
  .object({
    clients: z.array(z.number().int().min(5).max(500)).min(1),
    seed: z.string().min(1).max(64),
  })
  .strict();

function parseArgs(argv: string[]): z.infer<typeof Args> {
  const a = { clients: [20, 100], seed: 'eval-robust' };
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i];
    if (opt === '--clients') a.clients = (argv[++i] ?? '').split(',').map(Number);
    else if (opt === '--seed') a.seed = argv[++i] ?? '';
    else throw new Error(`unknown argument ${opt}\nUsage: npm run eval:robust -- [--clients 20,100] [--seed S]`);
  }
  const r = Args.safeParse(a);
  if (!r.success) throw new Error(r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; '));
  return r.data;
}

function print(grid: Grid): void {
  const rules = grid.clean.map((c) => c.rule);
  const fmt = (c: GridCell): string => (c.accuracy === null ? 'refused' : `${c.accuracy.toFixed(3)}${c.withinMargin ? ' ' : c.limit ? '~' : '*'}`).padStart(10);
  console.log(`\n${grid.clients} cameras — head v0 ${grid.versionZeroAccuracy.toFixed(3)}, clean FedAvg ${grid.reference.accuracy?.toFixed(3)} (log-loss ${grid.reference.loss?.toFixed(3)}); * = outside the margin, ~ = outside it under a stated limit (robust-eval.ts statedLimit)`);
  console.log(`${'attack'.padEnd(18)} k  ${rules.map((r) => r.slice(0, 10).padStart(10)).join(' ')}`);
  console.log(`${'none'.padEnd(18)} 0  ${grid.clean.map(fmt).join(' ')}`);
  for (let i = 0; i < grid.cells.length; i += rules.length) {
    const row = grid.cells.slice(i, i + rules.length);
    console.log(`${row[0]!.attack.padEnd(18)} ${String(row[0]!.poisoned).padStart(2)} ${row.map(fmt).join(' ')}`);
  }
}

try {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const grids = args.clients.map((m) => {
    const grid = runGrid({ clients: m, seed: args.seed, rules: [{ rule: 'fedavg' as const }, ...appRules(m), ...extraRules(m)].map(aggregator) });
    print(grid);
    return grid;
  });
  const result = {
    name: 'robust-aggregation',
    command: `npm run eval:robust -- --clients ${args.clients.join(',')} --seed ${args.seed}`,
    task: 'fl1 confirmation head (logistic regression, 13 features) on generated per-camera detections',
    settings: SETTINGS,
    margin: MARGIN,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    grids: grids.map((g) => ({
      ...g,
      reference: { ...g.reference, history: undefined },
      clean: g.clean.map((c) => ({ ...c, history: undefined })),
      cells: g.cells.map((c) => ({ ...c, history: undefined })),
    })),
  };
  fs.mkdirSync('bench-results', { recursive: true });
  const out = path.join('bench-results', 'robust.json');
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out} (${result.seconds} s)`);
  const broken = grids.flatMap((g) => [...g.clean, ...g.cells]).filter((c) => c.limit === null && !c.withinMargin);
  if (broken.length) {
    console.error(`${broken.length} cell(s) outside the margin where it is claimed:\n${broken.map((c) => `  ${c.rule} vs ${c.attack} with ${c.poisoned}/${c.clients}`).join('\n')}`);
    process.exitCode = 1;
  }
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
