import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cvPredictor,
  cvSampledPredictor,
  evaluateScenes,
  hindsightBounds,
  parseTrajectories,
  protocolWindows,
  score,
  TrajectoryParseError,
  type Scene,
} from './evaluation';
import { seededRandom } from './rng';

const lines = (id: number, pts: [number, number][], step = 10): string[] => pts.map(([x, y], k) => `${k * step} ${id} ${x} ${y}`);

// Track 1: 1 m per step along x for 8 steps, then 1 m to the side: CV is off by 1 m at both future
// steps (ADE 1, FDE 1). Track 2 stands at (5,5) for 8 steps, then walks 0.5 m per step: CV predicts
// standing still (errors 0.5 and 1: ADE 0.75, FDE 1). Exactly one 10-position window each.
const two = [
  '# frame id x y',
  ...lines(1, [...Array.from({ length: 8 }, (_, k): [number, number] => [k, 0]), [8, 1], [9, 1]]),
  '',
  ...lines(2, [...Array.from({ length: 8 }, (): [number, number] => [5, 5]), [5.5, 5], [6, 5]]).map((l) => l.replace(/ /g, '\t')),
].join('\n');

describe('prediction evaluation protocol (Schöller et al. CV evaluation)', () => {
  it('slides windows of 20 by one step and keeps truncated ones down to 10 positions', () => {
    const rows = parseTrajectories(lines(7, Array.from({ length: 25 }, (_, k): [number, number] => [k, 0])).join('\n'));
    const ws = protocolWindows(rows);
    // starts 0..15: 6 full windows (start 0..5), then 10 truncated ones of 19..10 positions
    expect(ws).toHaveLength(16);
    expect(ws.filter((w) => w.future.length === 12)).toHaveLength(6);
    expect(ws.map((w) => w.future.length).slice(5)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
    expect(ws[3]!.observed[0]).toEqual({ x: 3, y: 0 });
    expect(ws[3]!.frame).toBe(100);
    // A 9-position track gives nothing.
    expect(protocolWindows(parseTrajectories(lines(1, Array.from({ length: 9 }, (_, k): [number, number] => [k, 0])).join('\n')))).toHaveLength(0);
  });

  it('orders a pedestrian by frame whatever the line order', () => {
    const shuffled = lines(1, Array.from({ length: 10 }, (_, k): [number, number] => [k, 2 * k])).reverse().join('\n');
    const [w] = protocolWindows(parseTrajectories(shuffled));
    expect(w!.observed.map((p) => p.x)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(w!.future).toEqual([
      { x: 8, y: 16 },
      { x: 9, y: 18 },
    ]);
  });

  it('computes the constant-velocity ADE/FDE exactly as by hand, FDE at the last valid step', () => {
    const ws = protocolWindows(parseTrajectories(two));
    expect(ws).toHaveLength(2);
    const s = score(ws, cvPredictor(Array(12).fill(1)));
    expect(s.ade).toBeCloseTo((1 + 0.75) / 2, 9);
    expect(s.fde).toBeCloseTo(1, 9);
    expect(s.k).toBe(1);
    expect(s.minAde).toBe(s.ade);
  });

  it('gives the NLL of a Gaussian by hand', () => {
    // A walker exactly on CV: error 0, so −log N(0; 0, σ²I) = log 2π + log σ² at every step.
    const rows = parseTrajectories(lines(1, Array.from({ length: 10 }, (_, k): [number, number] => [k, 0])).join('\n'));
    const s = score(protocolWindows(rows), cvPredictor(Array(12).fill(0.25)));
    expect(s.ade).toBeCloseTo(0, 12);
    expect(s.nll).toBeCloseTo(Math.log(2 * Math.PI) + Math.log(0.25), 9);
  });

  it('best-of-K takes the minimum over futures; angular noise of 0° is CV', () => {
    const ws = protocolWindows(parseTrajectories(two));
    const cv = score(ws, cvPredictor(Array(12).fill(1)));
    const zero = score(ws, cvSampledPredictor(Array(12).fill(1), seededRandom(1), 20, 0));
    expect(zero.minAde).toBeCloseTo(cv.ade, 12);
    const noisy = score(ws, cvSampledPredictor(Array(12).fill(1), seededRandom(1), 20, 25));
    expect(noisy.k).toBe(20);
    // Track 1 turned left by 45° over its future: some rotated sample must come closer than CV.
    expect(noisy.minAde).toBeLessThan(cv.ade);
  });

  it('fits learned parts leave-one-scene-out: a scene never trains on itself', () => {
    // Straight walkers at several speeds and headings (so a linear map is identifiable).
    const walk = (id0: number, n: number, v0: number): string =>
      Array.from({ length: n }, (_, i) => {
        const v = v0 + 0.1 * i;
        const h = 0.7 * i;
        return lines(id0 + i, Array.from({ length: 20 }, (_, k): [number, number] => [v * k * Math.cos(h), i + v * k * Math.sin(h)]));
      })
        .flat()
        .join('\n');
    const a: Scene = { name: 'a', rows: parseTrajectories(walk(1, 3, 0.5)) };
    const b: Scene = { name: 'b', rows: parseTrajectories(walk(100, 5, 0.3)) };
    const r = evaluateScenes([a, b], { seed: 1, methods: ['cv', 'site'] });
    expect(r.scenes.map((s) => s.windows)).toEqual([33, 55]);
    expect(r.scenes.map((s) => s.trainWindows)).toEqual([5, 3]); // the other scene's full windows only
    // On walkers at constant speed both predict exactly; average is over scenes.
    expect(r.average.cv!.ade).toBeCloseTo(0, 9);
    expect(r.average.site!.ade).toBeLessThan(0.02); // ridge shrinkage leaves a few mm
    const alone = evaluateScenes([a], { seed: 1, methods: ['cv', 'site'] });
    expect(alone.scenes[0]!.methods.site).toBeUndefined(); // nothing to train on but itself
  });

  it('learns online from the scene’s own past, causally, and gets better as it watches', () => {
    // Elsewhere people walk straight; here every walker curves left at 0.25 rad/s, arriving one
    // after another. Only windows whose future is already past may be learned from.
    const walker = (id: number, t0: number, curve: number, v: number): string[] =>
      Array.from({ length: 30 }, (_, k) => {
        const h = curve * 0.4 * k;
        const x = curve ? (v / curve) * Math.sin(h) : v * 0.4 * k;
        const y = curve ? (v / curve) * (1 - Math.cos(h)) : 0;
        return `${(t0 + k) * 10} ${id} ${x + id} ${y}`;
      });
    const straight = Array.from({ length: 12 }, (_, i) => walker(i, 40 * i, 0, 0.8 + 0.05 * i)).flat().join('\n');
    const curving = Array.from({ length: 12 }, (_, i) => walker(100 + i, 40 * i, 0.25, 0.8 + 0.05 * i)).flat().join('\n');
    const r = evaluateScenes(
      [
        { name: 'here', rows: parseTrajectories(curving) },
        { name: 'elsewhere', rows: parseTrajectories(straight) },
      ],
      { seed: 1, methods: ['cv', 'site', 'site-online'] },
    );
    const h = r.scenes[0]!.history!;
    expect(h[0]!.historyWindows).toBe(0); // the first walker is predicted with nothing of this site seen
    expect(h[3]!.historyWindows).toBeGreaterThan(h[1]!.historyWindows);
    expect(h[3]!.ade).toBeLessThan(0.5 * h[0]!.ade);
    expect(r.scenes[0]!.methods['site-online']!.ade).toBeLessThan(r.scenes[0]!.methods.site!.ade);
  });

  it('learned and learned-online: trained on the other scenes only, adapted to this one by its past', () => {
    // Elsewhere people walk straight; here every walker curves left. learned (trained elsewhere)
    // cannot know it; learned-online adapts on the walkers who have already left.
    const walker = (id: number, t0: number, curve: number, v: number): string[] =>
      Array.from({ length: 24 }, (_, k) => {
        const h = curve * 0.4 * Math.max(0, k - 7);
        const x = curve && k > 7 ? 7 * 0.4 * v + (v / curve) * Math.sin(h) : v * 0.4 * k;
        const y = curve && k > 7 ? (v / curve) * (1 - Math.cos(h)) : 0;
        return `${(t0 + k) * 10} ${id} ${x + 3 * id} ${y}`;
      });
    const straight = Array.from({ length: 60 }, (_, i) => walker(i, 5 * i, 0, 0.8 + 0.01 * i)).flat().join('\n');
    const curving = Array.from({ length: 60 }, (_, i) => walker(1000 + i, 30 * i, 0.4, 0.8 + 0.01 * i)).flat().join('\n');
    const learned = { hidden: [8], epochs: 4, perScene: 600, stepScaled: true };
    const r = evaluateScenes(
      [
        { name: 'here', rows: parseTrajectories(curving) },
        { name: 'elsewhere', rows: parseTrajectories(straight) },
      ],
      { seed: 1, methods: ['cv', 'learned', 'learned-online'], learned },
    );
    const here = r.scenes[0]!;
    expect(here.methods.learned!.k).toBe(5);
    const h = here.learnedHistory!;
    expect(h).toHaveLength(4);
    expect(h[0]!.historyWindows).toBe(0);
    expect(h[3]!.historyWindows).toBeGreaterThan(h[1]!.historyWindows);
    expect(h[3]!.ade).toBeLessThan(0.7 * h[3]!.cvAde);
    expect(here.methods['learned-online']!.ade).toBeLessThan(here.methods.learned!.ade);
    const alone = evaluateScenes([{ name: 'here', rows: parseTrajectories(curving) }], { seed: 1, methods: ['cv', 'learned'], learned });
    expect(alone.scenes[0]!.methods.learned).toBeUndefined(); // nothing to train on but itself
    // The in-sample diagnostic trains on the scene scored (so it has a figure alone) and says so.
    const diag = evaluateScenes([{ name: 'here', rows: parseTrajectories(curving) }], { seed: 1, methods: ['cv', 'learned'], learned, inSample: true });
    expect(diag.scenes[0]!.methods.learned!.ade).toBeLessThan(diag.scenes[0]!.methods.cv!.ade);
    expect(diag.protocol).toMatch(/IN-SAMPLE DIAGNOSTIC/);
    expect(r.protocol).not.toMatch(/IN-SAMPLE/);
  });

  it('hindsight bounds: a straight line chosen knowing the future removes a turn or a stop, not a curve', () => {
    const win = (future: [number, number][]) => ({
      id: '1',
      startFrame: 0,
      frame: 7,
      endFrame: 7 + future.length,
      observed: Array.from({ length: 8 }, (_, k) => ({ x: 0.5 * k, y: 0 })),
      future: future.map(([x, y]) => ({ x, y })),
      neighbours: [],
    });
    const turned = win(Array.from({ length: 12 }, (_, k): [number, number] => [3.5, 0.5 * (k + 1)])); // a right angle to the left
    const stopped = win(Array.from({ length: 12 }, (): [number, number] => [3.5, 0]));
    const curved = win(Array.from({ length: 12 }, (_, k): [number, number] => [3.5 + 2 * Math.sin(0.25 * (k + 1)), 2 - 2 * Math.cos(0.25 * (k + 1))]));
    const t = hindsightBounds([turned]);
    expect(t.turn.ade).toBeLessThan(1e-9);
    expect(t.line.ade).toBeLessThan(1e-9);
    expect(t.pace.ade).toBeGreaterThan(1);
    const st = hindsightBounds([stopped]);
    expect(st.pace.ade).toBeLessThan(1e-9);
    expect(st.pace.fde).toBeLessThan(1e-9);
    expect(st.turn.ade).toBeGreaterThan(1);
    const cv = score([curved], cvPredictor(Array.from({ length: 12 }, () => 1)));
    const c = hindsightBounds([curved]);
    expect(c.line.ade).toBeLessThan(c.turn.ade + 1e-12);
    expect(c.line.ade).toBeLessThan(cv.ade);
    expect(c.line.ade).toBeGreaterThan(0.05); // no straight line follows a curve
  });

  it('reports malformed lines with their line numbers', () => {
    const bad = '0 1 0 0\n\n10 1 x 0\n20 1 2\n# fine\n30 1 3 4 5\n';
    try {
      parseTrajectories(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TrajectoryParseError);
      const msg = (err as Error).message;
      expect(msg).toContain('line 3: x "x" is not a number');
      expect(msg).toContain('line 4: expected 4 fields');
      expect(msg).toContain('line 6: expected 4 fields');
      expect(msg).not.toContain('line 5');
    }
  });

  it('runs as a command on several scene files and prints the figures per scene and averaged', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnisight-eval-'));
    const f1 = path.join(dir, 'one.txt');
    const f2 = path.join(dir, 'gen.txt');
    fs.writeFileSync(f1, two);
    fs.copyFileSync('resources/datasets/generated-pedestrians.txt', f2);
    const tsx = path.resolve('node_modules/.bin/tsx');
    const out = JSON.parse(execFileSync(tsx, ['scripts/eval-prediction.ts', f1, f2, '--methods', 'cv,cv-s20,site', '--json'], { encoding: 'utf8' })) as ReturnType<typeof evaluateScenes>;
    expect(out.scenes.map((s) => s.scene)).toEqual(['one', 'gen']);
    expect(out.scenes[0]!.methods.cv!.ade).toBeCloseTo(0.875, 6);
    expect(out.scenes[1]!.windows).toBeGreaterThan(1000);
    // 'one' is scored by a predictor trained on the generated scene; the generated scene has no
    // other scene with a full 20-position window to train on, so it gets no site figures.
    expect(out.scenes[0]!.trainWindows).toBeGreaterThan(1000);
    expect(out.scenes[0]!.methods.site!.k).toBe(5);
    expect(out.scenes[1]!.methods.site).toBeUndefined();
    expect(out.average['cv-s20']!.k).toBe(20);
    fs.writeFileSync(f1, '0 1 0 0\n10 1 zero 0\n');
    expect(() => execFileSync(tsx, ['scripts/eval-prediction.ts', f1], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/line 2/);
  }, 40_000); // two tsx processes: about 12 s on an idle machine, over 20 s on a loaded one
});
