import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cvPredictor, parseTrajectories, predictCv, protocolWindows, score, scoreLearnedOnline, type Window } from './evaluation';
import { LearnedEnsemble, LearnedPredictor, type LearnedExample } from './learned-predictor';
import { gaussian, seededRandom } from './rng';
import type { P } from './site-predictor';

const fast = { hidden: [16], epochs: 6, perScene: 700, neighbours: 0 };

/** Walkers in random directions who slow down by `decay` per step (CV overshoots them). */
function decelerating(n: number, seed: number, decay = 0.9, turn = 0): LearnedExample[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    let h = 2 * Math.PI * r();
    let v = 0.3 + 0.4 * r();
    let x = 20 * r();
    let y = 20 * r();
    const pts: P[] = [];
    for (let k = 0; k < 20; k++) {
      pts.push({ x: x + 0.01 * gaussian(r), y: y + 0.01 * gaussian(r) });
      if (k >= 7) {
        v *= decay;
        h += turn;
      }
      x += v * Math.cos(h);
      y += v * Math.sin(h);
    }
    return { observed: pts.slice(0, 8), future: pts.slice(8) };
  });
}

const ade = (p: LearnedPredictor | 'cv', xs: readonly LearnedExample[]): number =>
  xs.reduce((s, e) => {
    const pts = p === 'cv' ? predictCv(e.observed, 12) : p.predict(e.observed, 12, e.neighbours)[0]!.points;
    return s + pts.reduce((a, q, k) => a + Math.hypot(q.x - e.future[k]!.x, q.y - e.future[k]!.y), 0) / 12;
  }, 0) / xs.length;

describe('LearnedPredictor', () => {
  it('is constant velocity before it has learned anything', () => {
    const [e] = decelerating(1, 1);
    const pts = new LearnedPredictor(fast).predict(e!.observed, 12)[0]!.points;
    predictCv(e!.observed, 12).forEach((q, k) => {
      expect(pts[k]!.x).toBeCloseTo(q.x, 12);
      expect(pts[k]!.y).toBeCloseTo(q.y, 12);
    });
  });

  it('learns a slowing-down that CV misses, on walkers it has not seen, deterministically', () => {
    const train = [decelerating(700, 2), decelerating(700, 3)];
    const test = decelerating(300, 4);
    const p = new LearnedPredictor(fast);
    const rep = p.fit(train, seededRandom(5));
    expect(rep.loss.at(-1)!).toBeLessThan(rep.loss[0]!);
    expect(ade(p, test)).toBeLessThan(0.5 * ade('cv', test));
    const again = new LearnedPredictor(fast);
    again.fit(train, seededRandom(5));
    expect(again.predict(test[0]!.observed, 12)).toEqual(p.predict(test[0]!.observed, 12));
  });

  it('returns its point first and a fan of modes whose best fits better than the point', () => {
    const train = [decelerating(700, 6, 0.95, 0.08), decelerating(700, 7, 0.95, -0.08)];
    const test: Window[] = [...decelerating(100, 8, 0.95, 0.08), ...decelerating(100, 9, 0.95, -0.08)].map((e, i) => ({
      ...e,
      observed: [...e.observed],
      future: [...e.future],
      id: String(i),
      startFrame: 0,
      frame: 7,
      endFrame: 19,
      neighbours: [],
    }));
    const p = new LearnedPredictor({ ...fast, modes: 5 });
    p.fit(train, seededRandom(1));
    const modes = p.predict(test[0]!.observed, 12);
    expect(modes).toHaveLength(5);
    expect(modes.reduce((s, m) => s + m.weight, 0)).toBeCloseTo(1, 9);
    const s = score(test, (o, h, n) => p.predict(o, h, n));
    expect(s.k).toBe(5);
    // Turning both ways: the point goes between, one of the turned modes fits each walker.
    expect(s.minAde).toBeLessThan(0.8 * s.ade);
    expect(Number.isFinite(s.nll)).toBe(true);
  });

  it('steps aside for someone standing ahead when given neighbours, which it cannot without them', () => {
    // Walkers along x; in half the windows someone stands 1.5 m ahead, a little to the right, and the
    // walker sidesteps left (to the right when mirrored: the side is read from where the other stands).
    const make = (n: number, seed: number): LearnedExample[] => {
      const r = seededRandom(seed);
      return Array.from({ length: n }, (_, i) => {
        const blocked = i % 2 === 0;
        const v = 0.4 + 0.1 * r();
        const pts = Array.from({ length: 20 }, (_, k) => ({ x: k * v, y: blocked && k > 7 ? Math.min(1, 0.25 * (k - 7)) : 0 }));
        const at = pts[7]!;
        const neighbours = blocked ? [{ at: { x: at.x + 1.5, y: -0.3 }, prev: { x: at.x + 1.5, y: -0.3 } }] : [{ at: { x: at.x - 3, y: 3 }, prev: { x: at.x - 3, y: 3 } }];
        // Random direction: rotate everything.
        const th = 2 * Math.PI * r();
        const rot = (p: P): P => ({ x: Math.cos(th) * p.x - Math.sin(th) * p.y, y: Math.sin(th) * p.x + Math.cos(th) * p.y });
        return { observed: pts.slice(0, 8).map(rot), future: pts.slice(8).map(rot), neighbours: neighbours.map((q) => ({ at: rot(q.at), prev: rot(q.prev) })) };
      });
    };
    const train = [make(700, 1), make(700, 2)];
    const test = make(200, 3);
    // Step-scaled outputs: a 1 m sidestep is learnt within these few epochs.
    const social = new LearnedPredictor({ ...fast, neighbours: 2, stepScaled: true });
    social.fit(train, seededRandom(1));
    const alone = new LearnedPredictor({ ...fast, stepScaled: true });
    alone.fit(train, seededRandom(1));
    expect(ade(social, test)).toBeLessThan(0.6 * ade(alone, test));
  });

  it('adapts to a site whose walkers turn left, without changing the predictor it started from', () => {
    const base = new LearnedPredictor(fast);
    base.fit([decelerating(700, 1, 1, 0), decelerating(700, 2, 1, 0)], seededRandom(1));
    const site = decelerating(700, 3, 1, 0.1);
    const test = decelerating(200, 4, 1, 0.1);
    const before = ade(base, test);
    const { predictor } = base.adapt(site, seededRandom(2));
    expect(ade(predictor, test)).toBeLessThan(0.7 * before);
    expect(ade(base, test)).toBe(before);
  });
});

describe('learned predictor on the generated pedestrians (resources/datasets/generated-pedestrians.txt)', () => {
  const rows = parseTrajectories(fs.readFileSync(path.join(__dirname, '../../resources/datasets/generated-pedestrians.txt'), 'utf8'));
  const ws = protocolWindows(rows);
  // Two "scenes": the pedestrians with even and odd ids.
  const even = ws.filter((w) => Number(w.id) % 2 === 0);
  const odd = ws.filter((w) => Number(w.id) % 2 === 1);

  it('trained on one half of the walkers, scores on the other with finite figures and five modes', () => {
    const p = new LearnedPredictor({ ...fast, neighbours: 4 });
    p.fit([even], seededRandom(1));
    const s = score(odd, (o, h, n) => p.predict(o, h, n));
    const cv = score(odd, cvPredictor(Array(12).fill(0.1)));
    expect(s.k).toBe(5);
    expect(s.windows).toBe(odd.length);
    expect(s.minAde).toBeLessThanOrEqual(s.ade);
    // Not a claim of a gain on this set: trained on 700 windows it stays near CV.
    expect(s.ade).toBeLessThan(1.2 * cv.ade);
  });

  it('online: learns only from tracks that ended before each part begins', () => {
    const p = new LearnedPredictor(fast);
    p.fit([even], seededRandom(1));
    const { history, windows } = scoreLearnedOnline(odd, p, seededRandom(2));
    expect(windows).toBe(odd.length);
    expect(history).toHaveLength(4);
    expect(history[0]!.historyWindows).toBe(0);
    // History grows, and never contains a window of a track still walking at the part's start.
    const ordered = [...odd].sort((a, b) => a.startFrame - b.startFrame || a.frame - b.frame);
    const end = new Map<string, number>();
    for (const w of odd) end.set(w.id, Math.max(end.get(w.id) ?? 0, w.endFrame));
    for (let q = 1; q < 4; q++) {
      const t0 = ordered[Math.floor((q * ordered.length) / 4)]!.startFrame;
      expect(history[q]!.historyWindows).toBe(odd.filter((w) => end.get(w.id)! < t0).length);
      expect(history[q]!.historyWindows).toBeGreaterThanOrEqual(history[q - 1]!.historyWindows);
    }
  });
});

describe('LearnedEnsemble', () => {
  it('predicts the mean of its members\' points, the first member\'s other modes moved with it', () => {
    const train = [decelerating(400, 12), decelerating(400, 13)];
    const tiny = { ...fast, epochs: 2, perScene: 400 };
    const ens = LearnedEnsemble.fit(train, 3, seededRandom(14), tiny);
    expect(ens.members).toHaveLength(3);
    const [e] = decelerating(1, 15);
    const each = ens.members.map((m) => m.predict(e!.observed, 12));
    // Members trained from different seeds differ, so the mean is not any one of them.
    expect(each[1]![0]!.points[11]!.x).not.toBeCloseTo(each[0]![0]!.points[11]!.x, 6);
    const out = ens.predict(e!.observed, 12);
    expect(out).toHaveLength(each[0]!.length);
    for (let k = 0; k < 12; k++) {
      const mx = each.reduce((a, m) => a + m[0]!.points[k]!.x, 0) / 3;
      const my = each.reduce((a, m) => a + m[0]!.points[k]!.y, 0) / 3;
      expect(out[0]!.points[k]!.x).toBeCloseTo(mx, 12);
      expect(out[0]!.points[k]!.y).toBeCloseTo(my, 12);
      const dx = mx - each[0]![0]!.points[k]!.x;
      expect(out[1]!.points[k]!.x).toBeCloseTo(each[0]![1]!.points[k]!.x + dx, 12);
    }
    expect(out.map((m) => m.weight)).toEqual(each[0]!.map((m) => m.weight));
    // One member is that member, unchanged; adapting adapts every member.
    expect(new LearnedEnsemble([ens.members[0]!]).predict(e!.observed, 12)).toEqual(each[0]);
    expect(ens.adapt(decelerating(200, 16, 0.8), seededRandom(17)).predictor.members).toHaveLength(3);
    expect(() => new LearnedEnsemble([])).toThrow(/at least one/);
  });
});
