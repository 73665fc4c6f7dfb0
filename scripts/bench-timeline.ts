// npm run bench:timeline → bench-results/timeline.json
//   tracker_fps        fleet frames per second: one frame from each of 16 cameras (4×4 grid with
//                      overlapping views) carrying 100 walking people, i.e. 16 tracker.ingest calls
//                      (detections generated before the clock starts; stated again in "notes")
//   predict_ms_1000x5  time to compute 5 futures (12 × 0.4 s) for each of 1,000 IMM tracks (median of 7)
//   ade, fde, cv_*     most probable IMM future and the constant-velocity baseline on
//                      resources/datasets/generated-pedestrians.txt (protocol: main/timeline/evaluation.ts)
import fs from 'node:fs';
import { parseCameraId, type CameraId } from '../preload/contract/camera-id';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { evaluateScenes, parseTrajectories } from '../main/timeline/evaluation';
import type { Mat3 } from '../main/timeline/homography';
import { Imm, defaultModels, defaultSwitchMatrix, predictFutures } from '../main/timeline/imm';
import { initialState } from '../main/timeline/kalman';
import { gaussian, seededRandom } from '../main/timeline/rng';
import { Tracker, type Observation } from '../main/timeline/tracker';

const rnd = seededRandom(2024);

function trackerFps(): { fps: number; cpuFps: number; tracks: number } {
  const tracker = new Tracker();
  // Camera (i, j) sees ground x ∈ [10i, 10i+12], y ∈ [10j, 10j+12]: 2 m overlap with its neighbours.
  const cams: { id: CameraId; h: Mat3; x0: number; y0: number }[] = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const h: Mat3 = [12, 0, 10 * i, 0, 12, 10 * j, 0, 0, 1];
      const id = parseCameraId(`cam${i}${j}`);
      cams.push({ id, h, x0: 10 * i, y0: 10 * j });
      tracker.setCamera(id, h);
    }
  const people = Array.from({ length: 100 }, () => ({ x: 1 + 40 * rnd(), y: 1 + 40 * rnd(), h: 2 * Math.PI * rnd(), s: 1 + 0.5 * rnd() }));
  // The walk and the detections are generated before timing, so the figure is the tracker's alone.
  const move = (): void => {
    for (const p of people) {
      p.h += 0.05 * gaussian(rnd);
      p.x += Math.cos(p.h) * p.s * 0.1;
      p.y += Math.sin(p.h) * p.s * 0.1;
      if (p.x < 0.5 || p.x > 41.5) p.h = Math.PI - p.h;
      if (p.y < 0.5 || p.y > 41.5) p.h = -p.h;
    }
  };
  const detect = (): Observation[][] =>
    cams.map((c) => {
      const obs: Observation[] = [];
      for (const p of people) {
        const u = (p.x - c.x0) / 12;
        const v = (p.y - c.y0) / 12;
        if (u < 0 || u > 1 || v < 0.02 || v > 1) continue;
        obs.push({ bounding_box: { left: u - 0.01, top: v - 0.02, right: u + 0.01, bottom: v }, class: { type: 'Human', score: 0.9 } });
      }
      return obs;
    });
  const warmup = 50;
  const frames = 600;
  const fleetFrames: Observation[][][] = [];
  for (let k = 0; k < warmup + frames; k++) {
    move();
    fleetFrames.push(detect());
  }
  const run = (k: number): void => {
    const obs = fleetFrames[k]!;
    cams.forEach((c, i) => tracker.ingest(c.id, k * 0.1, obs[i]!));
  };
  for (let k = 0; k < warmup; k++) run(k); // tracks born and confirmed, JIT settled
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let k = warmup; k < warmup + frames; k++) run(k);
  const s = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { fps: frames / s, cpuFps: frames / ((cpu.user + cpu.system) / 1e6), tracks: tracker.tracks.size };
}

function predictMs(): { wall: number; cpu: number } {
  const switching = { n: 4, pi: defaultSwitchMatrix(4) };
  const r: [number, number, number] = [0.0025, 0, 0.0025];
  const imms = Array.from({ length: 1000 }, () => {
    const vx = gaussian(rnd);
    const vy = gaussian(rnd);
    const { x, p } = initialState(0, 0, r, 2);
    const imm = new Imm(defaultModels, switching, x, p, 0);
    for (let k = 1; k <= 8; k++) imm.step(k * 0.4, vx * 0.4 * k + 0.05 * gaussian(rnd), vy * 0.4 * k + 0.05 * gaussian(rnd), r);
    return imm;
  });
  for (let rep = 0; rep < 5; rep++) for (const imm of imms) predictFutures(imm, { dt: 0.4, horizon: 12, count: 5 }); // JIT warm-up
  const times: number[] = [];
  const cpus: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (const imm of imms) predictFutures(imm, { dt: 0.4, horizon: 12, count: 5 });
    times.push(performance.now() - start);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return { wall: times[3]!, cpu: cpus[3]! };
}

const tr = trackerFps();
const predict = predictMs();
const evalReport = evaluateScenes([{ name: 'generated', rows: parseTrajectories(fs.readFileSync('resources/datasets/generated-pedestrians.txt', 'utf8')) }], {
  seed: 1,
  methods: ['cv', 'imm'],
});
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
const evalResult = {
  ade: r4(evalReport.average.imm!.ade),
  fde: r4(evalReport.average.imm!.fde),
  cv_ade: r4(evalReport.average.cv!.ade),
  cv_fde: r4(evalReport.average.cv!.fde),
  windows: evalReport.scenes[0]!.windows,
};
const out = {
  tracker_fps: Math.round(tr.fps),
  predict_ms_1000x5: Math.round(predict.wall * 100) / 100,
  ade: evalResult.ade,
  fde: evalResult.fde,
  cv_ade: evalResult.cv_ade,
  cv_fde: evalResult.cv_fde,
  notes:
    'tracker_fps counts fleet frames: one frame = one detections message from each of 16 cameras (16 tracker.ingest calls, ' +
    '100 people on a 42 m square, overlapping 12 m views), including mapping to the ground, gating, assignment, Kalman and IMM updates; ' +
    'detections are generated before timing. predict_ms_1000x5: median of 7 runs of predictFutures (12 steps of 0.4 s, mean and covariance) for 1,000 IMM tracks. ' +
    `Wall clock; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')} at the end; ` +
    `by this process's CPU time the same runs give ${Math.round(tr.cpuFps)} fleet frames/s and ${predict.cpu.toFixed(2)} ms.`,
};
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync('bench-results/timeline.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out));
console.error(`(tracker: ${tr.tracks} live tracks at the end; ${Math.round(tr.fps * 16)} camera frames/s; prediction windows: ${evalResult.windows})`);
