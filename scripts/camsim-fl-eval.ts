// npx tsx scripts/camsim-fl-eval.ts [--cameras N] [--seed S] [--minutes M] [--rounds R]
// What the confirmation head does for the simulated cameras, before (built-in v0) and after R
// federated rounds, on each camera's held-out 20 %. Each camera's detections come from its own
// simulated detector over M minutes of the scene at 10 fps; labels stand in for the swarm's
// outcomes: a false positive is never confirmed, a true detection is confirmed unless (10 %, drawn
// at random) nobody else saw it. Rounds are FedAvg of the cameras' own local training with fl1's
// quantisation (the secure round computes exactly this sum: main/camsim/fl/round.test.ts).
// Prints one JSON object and writes it to bench-results/camsim-fl-eval.json.
import fs from 'node:fs';
import path from 'node:path';
import { createDetector } from '../main/camsim/detector';
import { quantize } from '../main/camsim/fl/crypto';
import { builtinHead, evaluate, features, predict, train, type Sample } from '../main/camsim/fl/head';
import { isHeldOut } from '../main/camsim/fl/localdata';
import { createRng } from '../main/camsim/rng';
import { createScene } from '../main/camsim/scene';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const cameras = arg('cameras', 8);
const seed = arg('seed', 7);
const minutes = arg('minutes', 10);
const rounds = arg('rounds', 20);
const ORIGIN = 1_795_000_000_000;

type Row = Sample & { real: boolean };
const scene = createScene({ seed, cameras, origin: ORIGIN });
const data = scene.cameras.map((cam, c) => {
  const det = createDetector({ cam: scene.model(cam.cameraId), rng: createRng(seed).fork(1000 + c), model: 'ssd_mobilenet_v2', soc: 'Axis Artpec-8' });
  const noise = createRng(seed * 31 + c);
  const trainSet: Row[] = [];
  const held: Row[] = [];
  const frames = minutes * 60 * 10;
  for (let k = 0; k < frames; k++) {
    const tick = k * 3;
    const f = det.detect(scene.snapshot(tick), scene.timeOfTick(tick));
    const truth = det.lastTruth!();
    f.observations.forEach((o, i) => {
      const row = { x: features(o), y: (truth[i] && !noise.chance(0.1) ? 1 : 0) as 0 | 1, real: truth[i]! };
      (isHeldOut(1, k + 1, i) ? held : trainSet).push(row);
    });
  }
  return { trainSet: trainSet.slice(-4000), held };
});

const v0 = builtinHead();
let theta = v0.params;
const range = 4;
const scale = Math.floor((2 ** 31 - 1) / (range * cameras));
for (let r = 0; r < rounds; r++) {
  const sum = new Array<number>(14).fill(0);
  data.forEach((d, c) => {
    const local = train(theta, d.trainSet, { epochs: 2, lr: 0.3, batchSize: 32, seed: r * 1000 + c });
    const q = quantize(
      local.map((v, i) => v - theta[i]!),
      range,
      scale,
    );
    q.forEach((v, i) => (sum[i] = sum[i]! + v));
  });
  theta = theta.map((v, i) => Math.fround(v + sum[i]! / scale / cameras));
}

const truthShares = (params: readonly number[], rows: readonly Row[]): { falsePositivesPublished: number; trueDetectionsKept: number } => {
  const fp = rows.filter((d) => !d.real);
  const tp = rows.filter((d) => d.real);
  const pub = (d: Row): boolean => predict(params, d.x) >= v0.dropBelow;
  const r4 = (v: number): number => Math.round(v * 10000) / 10000;
  return { falsePositivesPublished: r4(fp.filter(pub).length / Math.max(1, fp.length)), trueDetectionsKept: r4(tp.filter(pub).length / Math.max(1, tp.length)) };
};
const perCamera = data.map((d, c) => ({
  camera: scene.cameras[c]!.cameraId,
  heldOut: d.held.length,
  before: { ...evaluate(v0.params, d.held, v0.dropBelow), ...truthShares(v0.params, d.held) },
  after: { ...evaluate(theta, d.held, v0.dropBelow), ...truthShares(theta, d.held) },
}));
const mean = (f: (x: (typeof perCamera)[0]) => number): number => Math.round((perCamera.reduce((a, x) => a + f(x), 0) / perCamera.length) * 10000) / 10000;
const out = {
  command: `npx tsx scripts/camsim-fl-eval.ts --cameras ${cameras} --seed ${seed} --minutes ${minutes} --rounds ${rounds}`,
  head: 'omnisight.head.confirm.v1',
  rounds,
  mean: {
    before: { logLoss: mean((x) => x.before.logLoss), accuracy: mean((x) => x.before.accuracy), falsePositivesPublished: mean((x) => x.before.falsePositivesPublished), trueDetectionsKept: mean((x) => x.before.trueDetectionsKept) },
    after: { logLoss: mean((x) => x.after.logLoss), accuracy: mean((x) => x.after.accuracy), falsePositivesPublished: mean((x) => x.after.falsePositivesPublished), trueDetectionsKept: mean((x) => x.after.trueDetectionsKept) },
  },
  perCamera,
  params: theta,
};
fs.mkdirSync(path.resolve(__dirname, '../bench-results'), { recursive: true });
fs.writeFileSync(path.resolve(__dirname, '../bench-results/camsim-fl-eval.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify({ command: out.command, mean: out.mean }, null, 1));
