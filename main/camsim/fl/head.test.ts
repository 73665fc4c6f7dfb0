import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDetector } from '../detector';
import { createRng } from '../rng';
import { createScene } from '../scene';
import { builtinHead, evaluate, features, predict, train, type Sample } from './head';
import { createLocalData, isHeldOut } from './localdata';
import { loadHead, saveHead } from './model-files';

const ORIGIN = 1_795_000_000_000;

/**
 * One camera's detections over simulated minutes, labelled as the swarm would roughly label them:
 * a false positive is never confirmed; a true detection is confirmed unless (15 %) nobody else saw it.
 */
function cameraData(seed: number, camIndex: number, frames: number): { e: number; s: number; i: number; x: number[]; y: 0 | 1; real: boolean }[] {
  const scene = createScene({ seed, cameras: 4, origin: ORIGIN });
  const cam = scene.cameras[camIndex]!;
  const det = createDetector({ cam: scene.model(cam.cameraId), rng: createRng(seed).fork(50 + camIndex), model: 'ssd_mobilenet_v2', soc: 'Axis Artpec-8' });
  const noise = createRng(seed + 99);
  const out: { e: number; s: number; i: number; x: number[]; y: 0 | 1; real: boolean }[] = [];
  for (let k = 0; k < frames; k++) {
    const tick = k * 3;
    const f = det.detect(scene.snapshot(tick), scene.timeOfTick(tick));
    const truth = det.lastTruth!();
    f.observations.forEach((o, i) => out.push({ e: 1, s: k + 1, i, x: features(o), y: truth[i] && !noise.chance(0.1) ? 1 : 0, real: truth[i]! }));
  }
  return out;
}

describe('confirmation head', () => {
  it('features follow FL-SPEC: score, centre, size, log aspect / 3, one-hot class', () => {
    const x = features({ bounding_box: { left: 0.1, top: 0.2, right: 0.3, bottom: 0.6 }, class: { type: 'Bus', score: 0.8 } });
    expect(x.slice(0, 5).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0.8, 0.2, 0.4, 0.2, 0.4]);
    expect(x[5]).toBeCloseTo(Math.log(0.5) / 3, 12);
    expect(x.slice(6)).toEqual([0, 0, 0, 1, 0, 0, 0]);
    const wide = features({ bounding_box: { left: 0, top: 0.5, right: 1, bottom: 0.501 }, class: { type: 'Other', score: 0.5 } });
    expect(wide[5]).toBe(1);
    expect(predict(builtinHead().params, x)).toBeCloseTo(1 / (1 + Math.exp(-(4 * 0.8 - 2))), 12);
  });

  it("learning on each camera's own labelled detections improves its held-out log-loss and accuracy, and drops its false positives while keeping true detections", () => {
    let fpPublished = 0;
    let fpAll = 0;
    for (let cam = 0; cam < 4; cam++) {
      const all = cameraData(11, cam, 4000);
      const trainSet: Sample[] = all.filter((d) => !isHeldOut(d.e, d.s, d.i));
      const held = all.filter((d) => isHeldOut(d.e, d.s, d.i));
      expect(held.length / all.length).toBeGreaterThan(0.15);
      expect(held.length / all.length).toBeLessThan(0.25);
      const v0 = builtinHead();
      let theta = v0.params;
      // Ten rounds' worth of local training, as the camera would do from each announced θ.
      for (let r = 0; r < 10; r++) theta = train(theta, trainSet, { epochs: 2, lr: 0.5, batchSize: 32, seed: r });
      const before = evaluate(v0.params, held, v0.dropBelow);
      const after = evaluate(theta, held, 0.05);
      expect(after.logLoss).toBeLessThan(before.logLoss - 0.04);
      expect(after.accuracy).toBeGreaterThan(before.accuracy);
      // Against the ground truth (which the camera never has): the built-in head publishes every false positive.
      const fps = held.filter((d) => !d.real);
      const tps = held.filter((d) => d.real);
      expect(fps.filter((d) => predict(v0.params, d.x) >= 0.05).length).toBe(fps.length);
      expect(tps.filter((d) => predict(theta, d.x) >= 0.05).length / tps.length).toBeGreaterThan(0.98);
      fpPublished += fps.filter((d) => predict(theta, d.x) >= 0.05).length;
      fpAll += fps.length;
    }
    expect(fpAll).toBeGreaterThan(200);
    expect(fpPublished / fpAll).toBeLessThan(0.6);
  });

  it('training is deterministic for a seed and moves nothing without data', () => {
    const data = cameraData(5, 0, 500).map((d) => ({ x: d.x, y: d.y }));
    const a = train(builtinHead().params, data, { epochs: 1, lr: 0.1, batchSize: 16, seed: 3 });
    expect(train(builtinHead().params, data, { epochs: 1, lr: 0.1, batchSize: 16, seed: 3 })).toEqual(a);
    expect(train(builtinHead().params, [], { epochs: 3, lr: 0.1, batchSize: 16, seed: 3 })).toEqual(builtinHead().params);
    expect(a.every((v) => Math.fround(v) === v)).toBe(true);
  });

  it('clutter differs per camera: false positives concentrate in each camera its own region', () => {
    const scene = createScene({ seed: 3, cameras: 4, origin: ORIGIN });
    const regions = scene.cameras.map((c, i) => createDetector({ cam: scene.model(c.cameraId), rng: createRng(3).fork(i), model: 'yolov5n', soc: 'Axis Artpec-9' }).clutter!.region);
    expect(new Set(regions.map((r) => JSON.stringify(r))).size).toBe(4);
  });
});

describe('local data', () => {
  it('labels detections from outcomes, forgets unanswered ones after 30 s, is bounded, and survives a restart', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-local-'));
    try {
      let t = 1_000_000;
      const d = createLocalData({ dir, now: () => t, capacity: 50 });
      const x = (v: number): number[] => [v, 0.5, 0.5, 0.1, 0.2, 0, 1, 0, 0, 0, 0, 0, 0];
      for (let s = 1; s <= 80; s++) d.record(7, s, 0, x(s / 100), t);
      expect(d.label(7, 3, 0, true)).toBe(true);
      expect(d.label(7, 3, 0, true)).toBe(false); // labelled once
      expect(d.label(7, 999, 0, true)).toBe(false); // never ours
      for (let s = 4; s <= 70; s++) d.label(7, s, 0, s % 2 === 0);
      expect(d.counts().labelled).toBe(50); // bounded: the oldest went
      t += 31_000;
      d.expire(t);
      expect(d.counts().pending).toBe(0);
      d.record(8, 1, 2, x(0.9), t);
      d.close();
      const again = createLocalData({ dir, now: () => t + 1000, capacity: 50 });
      expect(again.counts()).toEqual(d.counts());
      expect(again.train().length + again.heldOut().length).toBe(50);
      expect(again.label(8, 1, 2, false)).toBe(true);
      again.close();
      // A torn last line is skipped, not fatal.
      fs.appendFileSync(path.join(dir, 'samples.jsonl'), '{"o":[8,1');
      expect(createLocalData({ dir, now: () => t + 2000, capacity: 50 }).counts().labelled).toBe(50);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model files', () => {
  it('loads the highest version from the package or the adopted heads, and refuses a damaged one', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-model-'));
    try {
      const pkg = path.join(root, 'model');
      const adopted = path.join(root, 'localdata', 'model');
      expect(loadHead({ packageDir: pkg, adoptedDir: adopted }).head.version).toBe(0);
      const p = builtinHead().params.map((v, i) => v + i / 8);
      saveHead(pkg, { ...builtinHead(), version: 3, params: p, source: 'package', round: 7 });
      const h3 = loadHead({ packageDir: pkg, adoptedDir: adopted }).head;
      expect(h3).toMatchObject({ version: 3, source: 'package', params: p, dropBelow: 0.05 });
      saveHead(adopted, { ...builtinHead(), version: 4, params: p, source: 'round' });
      expect(loadHead({ packageDir: pkg, adoptedDir: adopted }).head.source).toBe('round');
      fs.writeFileSync(path.join(adopted, 'head-v4.bin'), Buffer.alloc(56, 0xff)); // NaNs, and not its sha256
      const r = loadHead({ packageDir: pkg, adoptedDir: adopted });
      expect(r.head.version).toBe(3);
      expect(r.warnings.join()).toMatch(/head-v4.json skipped/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
