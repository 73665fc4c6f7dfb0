// One federated round with 100 cameras and a 100,000-parameter head: secure aggregation versus
// plain FedAvg in the same process, alternating plain/secure runs from the same starting model and
// seeds (so local training is the same work, draw for draw), medians reported. Then a short
// separate run for federated versus centralised accuracy on the same task.
// Writes bench-results/federated.json. BENCH_FED_PAIRS (default 3) sets the number of pairs,
// BENCH_FED_GRAPH=full measures Bonawitz's full masking graph instead of SecAgg+.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { federatedConfig, parseCameraId } from '../preload/contract';
import { generateTask, paramCount, type TaskSpec } from '../main/federated/data';
import { Federation, trainCentralised } from '../main/federated/engine';
import { createRng } from '../main/federated/random';
import { secaggPlusParameters } from '../main/federated/secagg';

const CLIENTS = 100;
const ROUNDS = Number(process.env.BENCH_FED_ROUNDS ?? 5);
const PAIRS = Number(process.env.BENCH_FED_PAIRS ?? 3);
const GRAPH = process.env.BENCH_FED_GRAPH === 'full' ? 'full' : 'secagg+';
// 100 classes × (999 features + 1) = 100,000 parameters.
const spec: TaskSpec = { classes: 100, features: 999, clients: CLIENTS, samplesPerClient: 100, testSamples: 2000, alpha: 0.5, separation: 5 };
const params = paramCount(spec);
const cameras = Array.from({ length: CLIENTS }, (_, i) => parseCameraId(`SIM-${String(i + 1).padStart(3, '0')}`));
const task = generateTask(spec, createRng('bench-federated'));
const base = { clientsPerRound: CLIENTS, localEpochs: 1, learningRate: 0.1, batchSize: 16, secureGraph: GRAPH } as const;

interface Timing {
  total: number;
  training: number;
  aggregation: number;
}

function timeRound(aggregation: 'secure' | 'plain'): Timing {
  const fed = new Federation(task, cameras, createRng('bench-round'));
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  const out = fed.runRound({
    round: 1,
    config: federatedConfig({ ...base, aggregation }),
    linkHealth: () => 1,
    dropout: () => undefined,
    onPhase: (phase) => (marks[phase] = performance.now()),
  });
  const t1 = performance.now();
  if (out.status !== 'completed') throw new Error(`${aggregation} round did not complete: ${out.reason}`);
  const t: Timing = { total: (t1 - t0) / 1000, training: (marks.aggregating! - marks.training!) / 1000, aggregation: (t1 - marks.aggregating!) / 1000 };
  console.error(
    `${aggregation.padEnd(6)} round ${t.total.toFixed(2)} s (training ${t.training.toFixed(2)} s, aggregation+evaluation ${t.aggregation.toFixed(2)} s), accuracy ${(out.accuracy! * 100).toFixed(1)}%`,
  );
  return t;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const loadBefore = os.loadavg()[0]!;
timeRound('plain'); // warm-up (JIT), not counted
const plain: Timing[] = [];
const secure: Timing[] = [];
for (let i = 0; i < PAIRS; i++) {
  // Alternate the order so drift in the machine's load falls on both sides.
  if (i % 2 === 0) {
    plain.push(timeRound('plain'));
    secure.push(timeRound('secure'));
  } else {
    secure.push(timeRound('secure'));
    plain.push(timeRound('plain'));
  }
}
const loadAfter = os.loadavg()[0]!;

const fed = new Federation(task, cameras, createRng('bench-accuracy'));
let accuracy = 0;
for (let round = 1; round <= ROUNDS; round++) {
  accuracy = fed.runRound({ round, config: federatedConfig({ ...base, aggregation: 'plain' }), linkHealth: () => 1, dropout: () => undefined }).accuracy!;
  console.error(`accuracy run: round ${round}/${ROUNDS} ${(accuracy * 100).toFixed(1)}%`);
}
const central = trainCentralised(task, { epochs: ROUNDS, batchSize: base.batchSize, lr: base.learningRate }, createRng('bench-central'));

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const secureS = median(secure.map((t) => t.total));
const plainS = median(plain.map((t) => t.total));
// Each pair runs back to back, so its ratio sees one load level; the median of those ratios is
// steadier on a shared machine than a ratio of medians taken minutes apart.
const ratio = median(secure.map((t, i) => t.total / plain[i]!.total));
// Training is the same work in both; this ratio swaps the measured training for the plain one.
const overheadRatio = (plainS + median(secure.map((t) => t.aggregation)) - median(plain.map((t) => t.aggregation))) / plainS;
const kt = GRAPH === 'secagg+' ? secaggPlusParameters(CLIENTS) : null;
const result = {
  clients: CLIENTS,
  params,
  secure_round_s: r4(secureS),
  plain_round_s: r4(plainS),
  ratio: r4(ratio),
  accuracy: r4(accuracy),
  central_accuracy: r4(central.accuracy),
  notes:
    `secure = ${kt ? `SecAgg+ (Bell et al. 2020), k = ${kt.k} neighbours, per-neighbourhood threshold t = ${kt.t}` : 'Bonawitz et al. 2017 full graph'}, ` +
    `phase quorum ${Math.ceil((2 * CLIENTS) / 3)}; round times are medians of ${PAIRS} alternating plain/secure pairs in one process after one warm-up round, ratio is the median of the per-pair ratios ` +
    `(ratio of medians ${(secureS / plainS).toFixed(2)}; with the secure round's training replaced by the plain median, ${overheadRatio.toFixed(2)}); ` +
    `median training ${median(plain.map((t) => t.training)).toFixed(2)} s (plain) / ${median(secure.map((t) => t.training)).toFixed(2)} s (secure), ` +
    `aggregation+evaluation ${median(plain.map((t) => t.aggregation)).toFixed(2)} s (plain) / ${median(secure.map((t) => t.aggregation)).toFixed(2)} s (secure); ` +
    `clients run sequentially in one process; load average (1 min) ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${os.cpus().length} cores; accuracy after ${ROUNDS} plain rounds vs ${ROUNDS} epochs centralised`,
};
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync(path.join('bench-results', 'federated.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
