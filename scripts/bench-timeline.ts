// npm run bench:timeline → bench-results/timeline.json
//   tracker_fps        fleet frames per second: one frame from each of 16 cameras (4×4 grid with
//                      overlapping views) carrying 100 walking people, i.e. 16 tracker.ingest calls
//   predict_ms_1000x5  time to compute 5 futures (12 × 0.4 s) for each of 1,000 IMM tracks (median of 7)
//   ade, fde, cv_*     evaluation of the IMM (weighted mean of futures) and the constant-velocity
//                      baseline on resources/datasets/generated-pedestrians.txt
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { evaluate, parseTrajectories } from '../main/timeline/evaluation';
import type { Mat3 } from '../main/timeline/homography';
import { Imm, defaultModels, defaultSwitchMatrix, predictFutures } from '../main/timeline/imm';
import { initialState } from '../main/timeline/kalman';
import { gaussian, seededRandom } from '../main/timeline/rng';
import { Tracker, type Observation } from '../main/timeline/tracker';

const rnd = seededRandom(2024);

function trackerFps(): { fps: number; tracks: number } {
  const tracker = new Tracker();
  // Camera (i, j) sees ground x ∈ [10i, 10i+12], y ∈ [10j, 10j+12]: 2 m overlap with its neighbours.
  const cams: { id: string; h: Mat3; x0: number; y0: number }[] = [];
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      const h: Mat3 = [12, 0, 10 * i, 0, 12, 10 * j, 0, 0, 1];
      cams.push({ id: `cam${i}${j}`, h, x0: 10 * i, y0: 10 * j });
      tracker.setCamera(`cam${i}${j}`, h);
    }
  const people = Array.from({ length: 100 }, () => ({ x: 1 + 40 * rnd(), y: 1 + 40 * rnd(), h: 2 * Math.PI * rnd(), s: 1 + 0.5 * rnd() }));
  const step = (k: number): void => {
    const t = k * 0.1;
    for (const p of people) {
      p.h += 0.05 * gaussian(rnd);
      p.x += Math.cos(p.h) * p.s * 0.1;
      p.y += Math.sin(p.h) * p.s * 0.1;
      if (p.x < 0.5 || p.x > 41.5) p.h = Math.PI - p.h;
      if (p.y < 0.5 || p.y > 41.5) p.h = -p.h;
    }
    for (const c of cams) {
      const obs: Observation[] = [];
      for (const p of people) {
        const u = (p.x - c.x0) / 12;
        const v = (p.y - c.y0) / 12;
        if (u < 0 || u > 1 || v < 0.02 || v > 1) continue;
        obs.push({ bounding_box: { left: u - 0.01, top: v - 0.02, right: u + 0.01, bottom: v }, class: { type: 'Human', score: 0.9 } });
      }
      tracker.ingest(c.id, t, obs);
    }
  };
  for (let k = 0; k < 50; k++) step(k); // warm-up: tracks born and confirmed, JIT settled
  const frames = 300;
  const start = performance.now();
  for (let k = 50; k < 50 + frames; k++) step(k);
  const s = (performance.now() - start) / 1000;
  return { fps: frames / s, tracks: tracker.tracks.size };
}

function predictMs(): number {
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
  const times: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const start = performance.now();
    for (const imm of imms) predictFutures(imm, { dt: 0.4, horizon: 12, count: 5 });
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[3]!;
}

const tr = trackerFps();
const predict = predictMs();
const evalResult = evaluate(parseTrajectories(fs.readFileSync('resources/datasets/generated-pedestrians.txt', 'utf8')));
const out = {
  tracker_fps: Math.round(tr.fps),
  predict_ms_1000x5: Math.round(predict * 100) / 100,
  ade: evalResult.ade,
  fde: evalResult.fde,
  cv_ade: evalResult.cv_ade,
  cv_fde: evalResult.cv_fde,
};
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync('bench-results/timeline.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out));
console.error(`(tracker: ${tr.tracks} live tracks at the end; ${Math.round(tr.fps * 16)} camera frames/s; prediction windows: ${evalResult.windows})`);
