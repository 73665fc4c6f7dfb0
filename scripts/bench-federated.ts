// One federated round with 100 cameras and a 100,000-parameter head, secure aggregation versus
// plain FedAvg, in the same process on the same starting model; then a short separate run for
// federated versus centralised accuracy on the same task. Writes bench-results/federated.json.
import fs from 'node:fs';
import path from 'node:path';
import { federatedConfig } from '../preload/contract';
import { generateTask, paramCount, type TaskSpec } from '../main/federated/data';
import { Federation, trainCentralised } from '../main/federated/engine';
import { createRng } from '../main/federated/random';

const CLIENTS = 100;
const ROUNDS = Number(process.env.BENCH_FED_ROUNDS ?? 5);
// 100 classes × (999 features + 1) = 100,000 parameters.
const spec: TaskSpec = { classes: 100, features: 999, clients: CLIENTS, samplesPerClient: 100, testSamples: 2000, alpha: 0.5, separation: 5 };
const params = paramCount(spec);
const cameras = Array.from({ length: CLIENTS }, (_, i) => `SIM-${String(i + 1).padStart(3, '0')}`);
const task = generateTask(spec, createRng('bench-federated'));
const base = { clientsPerRound: CLIENTS, localEpochs: 1, learningRate: 0.1, batchSize: 16 } as const;

function timeRound(aggregation: 'secure' | 'plain'): number {
  const fed = new Federation(task, cameras, createRng('bench-round'));
  const t0 = performance.now();
  const out = fed.runRound({ round: 1, config: federatedConfig({ ...base, aggregation }), linkHealth: () => 1, dropout: () => undefined });
  const s = (performance.now() - t0) / 1000;
  if (out.status !== 'completed') throw new Error(`${aggregation} round did not complete: ${out.reason}`);
  console.error(`${aggregation} round: ${s.toFixed(2)} s (accuracy after one round ${(out.accuracy! * 100).toFixed(1)}%)`);
  return s;
}

// Plain first, then secure, then plain again: the mean of the two plain runs evens out warm-up.
const plainA = timeRound('plain');
const secure = timeRound('secure');
const plainB = timeRound('plain');
const plain = (plainA + plainB) / 2;

const fed = new Federation(task, cameras, createRng('bench-accuracy'));
let accuracy = 0;
for (let round = 1; round <= ROUNDS; round++) {
  accuracy = fed.runRound({ round, config: federatedConfig({ ...base, aggregation: 'plain' }), linkHealth: () => 1, dropout: () => undefined }).accuracy!;
  console.error(`accuracy run: round ${round}/${ROUNDS} ${(accuracy * 100).toFixed(1)}%`);
}
const central = trainCentralised(task, { epochs: ROUNDS, batchSize: base.batchSize, lr: base.learningRate }, createRng('bench-central'));

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const result = {
  clients: CLIENTS,
  params,
  secure_round_s: round4(secure),
  plain_round_s: round4(plain),
  ratio: round4(secure / plain),
  accuracy: round4(accuracy),
  central_accuracy: round4(central.accuracy),
};
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync(path.join('bench-results', 'federated.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
