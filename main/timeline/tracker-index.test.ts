// The tracker's spatial index over tracks: a frame predicts and miss-checks only the tracks its
// camera can touch, and the results equal the full scan (every track on every frame).
import { describe, expect, it } from 'vitest';
import { parseCameraId, type CameraId } from '../../preload/contract/camera-id';
import { Imm, defaultModels, defaultSwitchMatrix } from './imm';
import { CvKalman, initialState } from './kalman';
import { gaussian, seededRandom } from './rng';
import { Tracker, type Observation, type Track, type TrackerConfig } from './tracker';

const box = (u: number, v: number): Observation => ({ bounding_box: { left: u - 0.005, top: v - 0.02, right: u + 0.005, bottom: v }, class: { type: 'Human', score: 0.9 } });

/** Cameras looking straight down at 12 m × 12 m squares, the one at (x0, y0) seeing [x0, x0+12] × [y0, y0+12]. */
function addCamera(tr: Tracker, name: string, x0: number, y0: number): { id: CameraId; x0: number; y0: number } {
  const id = parseCameraId(name);
  tr.setCamera(id, [12, 0, x0, 0, 12, y0, 0, 0, 1]);
  return { id, x0, y0 };
}

const see = (c: { x0: number; y0: number }, people: { x: number; y: number }[]): Observation[] =>
  people
    .map((p) => ({ u: (p.x - c.x0) / 12, v: (p.y - c.y0) / 12 }))
    .filter(({ u, v }) => u >= 0 && u <= 1 && v >= 0.02 && v <= 1)
    .map(({ u, v }) => box(u, v));

describe('CV prediction composes', () => {
  it('one prediction over a long dt gives the state of several short ones (what lazy prediction relies on)', () => {
    const rnd = seededRandom(3);
    for (let trial = 0; trial < 20; trial++) {
      const { x, p } = initialState(gaussian(rnd), gaussian(rnd), [0.01, 0.002, 0.02], 1 + rnd());
      x[2] = gaussian(rnd);
      x[3] = gaussian(rnd);
      const once = new CvKalman(Float64Array.from(x), Float64Array.from(p));
      const steps = new CvKalman(Float64Array.from(x), Float64Array.from(p));
      const q = 0.1 + rnd();
      const gaps = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => 0.01 + 0.2 * rnd());
      for (const g of gaps) steps.predict(g, q);
      once.predict(gaps.reduce((s, g) => s + g, 0), q);
      for (let i = 0; i < 4; i++) expect(steps.x[i]).toBeCloseTo(once.x[i]!, 10);
      for (let i = 0; i < 16; i++) expect(steps.p[i]).toBeCloseTo(once.p[i]!, 9);
    }
  });
});

/**
 * Walkers over a 6 × 3 block of overlapping cameras plus a far block; cameras drop frames and
 * walkers leave the covered ground, so tracks end both by misses and by coasting.
 */
function scenario(config: Partial<TrackerConfig>) {
  const rnd = seededRandom(77);
  const ended: string[] = [];
  const tracker = new Tracker(config, undefined, { onEnded: (t) => ended.push(`${t.id}@${t.lastUpdate.toFixed(2)}:${t.hits}`) });
  const cams = [];
  for (let i = 0; i < 6; i++) for (let j = 0; j < 3; j++) cams.push(addCamera(tracker, `n${i}${j}`, 10 * i, 10 * j));
  for (let i = 0; i < 4; i++) cams.push(addCamera(tracker, `f${i}`, 500 + 10 * i, 0));
  const people = Array.from({ length: 60 }, (_, k) => ({ x: k < 50 ? 2 + 60 * rnd() : 502 + 40 * rnd(), y: 2 + 30 * rnd(), h: 2 * Math.PI * rnd() }));
  for (let k = 0; k < 120; k++) {
    for (const p of people) {
      p.x += Math.cos(p.h) * 0.14;
      p.y += Math.sin(p.h) * 0.14;
      if (rnd() < 0.02) p.h += gaussian(rnd);
    }
    cams.forEach((c, i) => {
      if (rnd() < 0.15) return; // a dropped frame
      // Frame times increase: with a frame older than a track's clock the full scan (which moved
      // every clock to the newest frame) and the index (which moves only the clocks it touches)
      // clamp differently, by design — the index then applies the frame closer to its own time.
      tracker.ingest(c.id, k * 0.1 + 0.001 * i, see(c, people));
    });
  }
  tracker.sweep(12.5);
  const end = 12.5;
  const live = [...tracker.tracks.values()].map((t: Track) => ({ id: t.id, hits: t.hits, confirmed: t.confirmed, misses: [...t.missesBy], at: tracker.stateAt(t, end) }));
  return { tracker, ended, live };
}

describe('spatial index over tracks', () => {
  it('gives the same tracks, ends and states as predicting every track on every frame', () => {
    const indexed = scenario({});
    const full = scenario({ indexCellM: 0 });
    expect(indexed.ended.length).toBeGreaterThan(10); // the scenario does end tracks
    expect(indexed.ended).toEqual(full.ended);
    expect(indexed.live.map((t) => [t.id, t.hits, t.confirmed, t.misses])).toEqual(full.live.map((t) => [t.id, t.hits, t.confirmed, t.misses]));
    indexed.live.forEach((t, i) => {
      const f = full.live[i]!.at;
      expect(t.at.x).toBeCloseTo(f.x, 8);
      expect(t.at.y).toBeCloseTo(f.y, 8);
      expect(t.at.vx).toBeCloseTo(f.vx, 8);
      expect(t.at.cov[0]).toBeCloseTo(f.cov[0], 8);
    });
    // And it did less work.
    expect(indexed.tracker.predictions).toBeLessThan(full.tracker.predictions / 2);
  });

  /** Predictions made during camera A's frames, with `others` walkers under far-away cameras. */
  const workOfA = (others: number, config: Partial<TrackerConfig> = {}): number => {
    const tracker = new Tracker(config);
    const a = addCamera(tracker, 'A', 0, 0);
    const far = Array.from({ length: others }, (_, i) => addCamera(tracker, `F${i}`, 100 + 20 * (i % 20), 20 * Math.floor(i / 20)));
    let work = 0;
    for (let k = 0; k < 50; k++) {
      const t = k * 0.1;
      for (const c of far) tracker.ingest(c.id, t, [box(0.5, 0.5 + 0.002 * k)]);
      const before = tracker.predictions;
      tracker.ingest(a.id, t + 0.01, [box(0.3 + 0.004 * k, 0.5), box(0.7, 0.6)]);
      work += tracker.predictions - before;
    }
    expect(tracker.tracks.size).toBe(2 + others);
    return work;
  };

  it('does work per frame that does not grow with unrelated tracks (counted in predictions)', () => {
    const alone = workOfA(0);
    expect(alone).toBeGreaterThan(0);
    expect(workOfA(200)).toBe(alone);
    // The count can tell: without the index camera A's frames predict every far track too.
    expect(workOfA(200, { indexCellM: 0 })).toBeGreaterThan(100 * alone);
  });

  it('ends a track its camera keeps missing while only far cameras report, and a coasting one on the first frame after maxCoastS', () => {
    const tracker = new Tracker({ deathMisses: 5 });
    const a = addCamera(tracker, 'A', 0, 0);
    const b = addCamera(tracker, 'B', 0, 20); // sees the walker until it stops reporting
    const far = addCamera(tracker, 'F', 300, 0);
    for (let k = 0; k < 5; k++) {
      tracker.ingest(a.id, k * 0.1, [box(0.5, 0.5)]);
      tracker.ingest(b.id, k * 0.1, [box(0.5, 0.5)]);
    }
    expect(tracker.tracks.size).toBe(2);
    const inA = [...tracker.tracks.values()].find((t) => t.kf.x[1]! < 10)!;
    const inB = [...tracker.tracks.values()].find((t) => t.kf.x[1]! > 10)!;
    // A sees nothing for 4 frames: 4 misses, still alive; the far camera's frames change nothing.
    for (let k = 5; k < 9; k++) {
      tracker.ingest(far.id, k * 0.1, []);
      tracker.ingest(a.id, k * 0.1, []);
    }
    expect(inA.missesBy.get(a.id)).toBe(4);
    expect(tracker.tracks.has(inA.id)).toBe(true);
    tracker.ingest(a.id, 0.9, []);
    expect(tracker.tracks.has(inA.id)).toBe(false);
    // B went silent at 0.4 s: its track coasts (no camera reports its ground) and ends on the first
    // frame of any camera more than maxCoastS (3 s) later, though no camera that sees it reports.
    tracker.ingest(far.id, 3.4, []);
    expect(tracker.tracks.has(inB.id)).toBe(true);
    tracker.ingest(far.id, 3.41, []);
    expect(tracker.tracks.has(inB.id)).toBe(false);
  });

  it('leaves the IMM untouched by unrelated frames (it is stepped at updates only, one predict per gap, as before)', () => {
    const run = (others: number): Imm => {
      const tracker = new Tracker();
      const a = addCamera(tracker, 'A', 0, 0);
      const far = Array.from({ length: others }, (_, i) => addCamera(tracker, `F${i}`, 100 + 20 * i, 0));
      for (let k = 0; k < 30; k++) {
        for (const c of far) tracker.ingest(c.id, k * 0.1 + 0.05, [box(0.5, 0.5)]);
        if (k % 3 === 0) tracker.ingest(a.id, k * 0.1, [box(0.2 + 0.01 * k, 0.4 + 0.003 * k)]);
      }
      return [...tracker.tracks.values()].find((t) => t.lastCamera === a.id)!.imm;
    };
    const alone = run(0);
    const crowded = run(30);
    expect(crowded.t).toBe(alone.t);
    expect([...crowded.mu]).toEqual([...alone.mu]);
    for (let j = 0; j < defaultModels.length; j++) expect([...crowded.x[j]!]).toEqual([...alone.x[j]!]);
    // For the IMM a long step is not several short ones: mixing with the per-step switch matrix
    // happens once per step, so the mode probabilities differ. The tracker therefore never
    // subdivides an IMM gap, before or after the index.
    const r: [number, number, number] = [0.01, 0, 0.01];
    const pi = defaultSwitchMatrix(defaultModels.length);
    const mk = () => {
      const { x, p } = initialState(0, 0, r, 2);
      return new Imm(defaultModels, { n: defaultModels.length, pi }, x, p, 0);
    };
    const long = mk();
    const short = mk();
    for (let k = 1; k <= 6; k++) {
      long.step(k * 0.4, 0.5 * k * 0.4, 0, r);
      short.step(k * 0.4, 0.5 * k * 0.4, 0, r);
    }
    long.step(4, 2, 0.3, r);
    short.step(3.2, 1.6, 0.2, r);
    short.step(4, 2, 0.3, r);
    expect(Math.max(...[...long.mu].map((m, j) => Math.abs(m - short.mu[j]!)))).toBeGreaterThan(1e-3);
  });
});
