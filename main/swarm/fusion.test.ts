import { describe, expect, it } from 'vitest';
import { createFusion, faultBound, pointInPolygon, type CameraCoverage, type Observation, type Report, type Zone } from './fusion';

const square = (id: string, x0: number): Zone => ({ id, polygon: [{ x: x0, y: 0 }, { x: x0 + 1, y: 0 }, { x: x0 + 1, y: 1 }, { x: x0, y: 1 }] });
const zones = [square('A', 0), square('B', 1)];
// Known mapping: the image's x spans both zones (ground x = 2·cx), y is the same.
const both: CameraCoverage = { zones: ['A', 'B'], toGround: (b) => ({ x: (b.left + b.right), y: (b.top + b.bottom) / 2 }) };
const boxAt = (gx: number, gy = 0.5) => ({ left: gx / 2 - 0.02, right: gx / 2 + 0.02, top: gy - 0.05, bottom: gy + 0.05 });

function setup(n: number, opts: { maxF?: number; positionGate?: number } = {}) {
  let clock = 0;
  const f = createFusion({ zones, windowMs: 1_000, graceMs: 1_000, now: () => clock, ...opts });
  const cams = Array.from({ length: n }, (_, i) => `C${i}`);
  for (const c of cams) f.setCamera(c, both);
  let seq = 0;
  const report = (camera: string, ts: number, obs: Partial<Observation>[] = []): Report => ({
    camera,
    seq: ++seq,
    frameTs: ts,
    receivedAt: ts,
    raw: `${camera}/${seq}`,
    observations: obs.map((o) => ({ box: boxAt(0.5), cls: 'Human', trackId: 't1', ts, ...o })),
  });
  return { f, cams, report, setClock: (t: number) => (clock = t) };
}

describe('fusion', () => {
  it('f = ⌊(n−1)/3⌋, capped by configuration', () => {
    expect([1, 3, 4, 6, 7, 10].map((n) => faultBound(n))).toEqual([0, 0, 1, 1, 2, 3]);
    expect(faultBound(10, 1)).toBe(1);
    expect(pointInPolygon({ x: 0.5, y: 0.5 }, zones[0]!.polygon)).toBe(true);
    expect(pointInPolygon({ x: 1.5, y: 0.5 }, zones[0]!.polygon)).toBe(false);
  });

  it('confirms at f+1 distinct cameras in the zone the mapping says, not before', () => {
    const { f, report } = setup(7); // f = 2
    expect(f.ingest(report('C0', 1_000, [{ box: boxAt(1.5) }]))).toEqual([]);
    expect(f.ingest(report('C0', 1_100, [{ box: boxAt(1.5) }]))).toEqual([]); // same camera again: still one
    expect(f.ingest(report('C1', 1_200, [{ box: boxAt(1.5), trackId: 'x' }]))).toEqual([]);
    const out = f.ingest(report('C2', 1_300, [{ box: boxAt(1.5), trackId: 'y' }]));
    expect(out).toHaveLength(1);
    const ev = out[0]!.type === 'confirmed' ? out[0]!.event : undefined;
    expect(ev).toMatchObject({ zone: 'B', cls: 'Human', f: 2, n: 7 });
    expect(ev!.confirmers.sort()).toEqual(['C0', 'C1', 'C2']);
  });

  it('a report far from a candidate is another candidate: liars next to a real event cannot join it or confirm their own', () => {
    const { f, report } = setup(4, { positionGate: 0.2 }); // f = 1: quorum 2
    // One liar claims a Human 0.6 from where the real one is, at the same time, in the same zone.
    expect(f.ingest(report('C3', 1_000, [{ box: boxAt(0.9) }]))).toEqual([]);
    expect(f.ingest(report('C0', 1_000, [{ box: boxAt(0.3) }]))).toEqual([]); // not merged with the liar's
    const out = f.ingest(report('C1', 1_050, [{ box: boxAt(0.32) }]));
    const ev = out[0]?.type === 'confirmed' ? out[0].event : undefined;
    expect(ev?.confirmers.sort()).toEqual(['C0', 'C1']);
    expect(ev?.x).toBeCloseTo(0.31, 6); // the median of the honest points, not pulled toward the liar
    expect(f.openCandidates()).toBe(2);
  });

  it('reports outside the window do not add up', () => {
    const { f, report } = setup(4); // f = 1
    f.ingest(report('C0', 1_000, [{}]));
    expect(f.ingest(report('C1', 2_500, [{}])).filter((o) => o.type === 'confirmed')).toHaveLength(0);
  });

  it('at close, lists the cameras that were looking and disagreed, and updates reputation', () => {
    const { f, report, setClock } = setup(4);
    f.ingest(report('C0', 1_000, [{}]));
    f.ingest(report('C1', 1_100, [{}]));
    f.ingest(report('C2', 1_200, []));
    f.ingest(report('C3', 1_300, [])); // looking, saw nothing
    f.ingest(report('C2', 3_000, []));
    f.ingest(report('C3', 3_000, []));
    setClock(5_000);
    const closed = f.tick().find((o) => o.type === 'closed');
    expect(closed && closed.type === 'closed' && closed.event.disagreed).toEqual(['C2', 'C3']);
    expect(f.reputation('C0').score).toBeGreaterThan(0.5);
    expect(f.reputation('C3').score).toBeLessThan(0.5);
  });

  it('equivocation: same track and time, another class → proof kept, camera quarantined, its reports no longer count', () => {
    const { f, report } = setup(4);
    f.ingest(report('C0', 1_000, [{ cls: 'Human' }]));
    const out = f.ingest(report('C0', 1_000, [{ cls: 'Car' }]));
    expect(out).toHaveLength(1);
    const q = out[0]!;
    expect(q.type).toBe('equivocation');
    if (q.type === 'equivocation') {
      expect(q.proof.first).toBe('C0/1');
      expect(q.proof.second).toBe('C0/2');
    }
    expect(f.isQuarantined('C0')).toBe(true);
    // C0's earlier report was withdrawn: C1 alone does not reach f+1 = 2.
    expect(f.ingest(report('C1', 1_100, [{}]))).toEqual([]);
    expect(f.ingest(report('C0', 1_150, [{ trackId: 'other' }]))).toEqual([]);
    expect(f.release('C0')).toBe(true);
    expect(f.ingest(report('C0', 1_200, [{ trackId: 'other' }])).map((o) => o.type)).toEqual(['confirmed']);
  });

  it('after a release, conflicts captured before it (still in flight) do not quarantine again; new ones do', () => {
    const { f, report, setClock } = setup(4);
    setClock(1_000);
    f.ingest(report('C0', 1_000, [{ cls: 'Human' }]));
    expect(f.ingest(report('C0', 1_000, [{ cls: 'Car' }])).map((o) => o.type)).toEqual(['equivocation']);
    setClock(2_000);
    expect(f.release('C0')).toBe(true);
    // The same fault's pair for a frame from before the release arrives late.
    f.ingest(report('C0', 1_500, [{ cls: 'Human', trackId: 't9' }]));
    expect(f.ingest(report('C0', 1_500, [{ cls: 'Car', trackId: 't9' }]))).toEqual([]);
    expect(f.isQuarantined('C0')).toBe(false);
    // A conflict about a frame after the release is new evidence.
    f.ingest(report('C0', 2_100, [{ cls: 'Human', trackId: 't9' }]));
    expect(f.ingest(report('C0', 2_100, [{ cls: 'Car', trackId: 't9' }])).map((o) => o.type)).toEqual(['equivocation']);
  });

  it('equivocation needs a real conflict: the same box again, or a box within the threshold, is not one', () => {
    const { f, report } = setup(4);
    f.ingest(report('C0', 1_000, [{ box: boxAt(0.5) }]));
    expect(f.ingest(report('C0', 1_000, [{ box: boxAt(0.52) }]))).toEqual([]);
    expect(f.ingest(report('C0', 1_000, [{ box: boxAt(0.9) }])).map((o) => o.type)).toEqual(['equivocation']); // 0.2 apart in image x
  });

  it('zone status flags zones that lack 2f+1 healthy cameras', () => {
    const { f } = setup(4);
    expect(f.zones().every((z) => !z.lacksLiveness && z.byzantineTolerant)).toBe(true);
    f.setDown('C0', true);
    f.setDown('C1', true);
    expect(f.zones()[0]).toMatchObject({ healthy: 2, f: 1, lacksLiveness: true });
  });

  it('stays well under a millisecond per report at 100 cameras', () => {
    let clock = 0;
    const f = createFusion({ zones: Array.from({ length: 20 }, (_, i) => square(`Z${i}`, i)), now: () => clock });
    for (let c = 0; c < 100; c++) f.setCamera(`C${c}`, { zones: [`Z${c % 20}`], toGround: (b) => ({ x: (c % 20) + (b.left + b.right) / 2, y: 0.5 }) });
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) {
      clock = i * 10;
      f.ingest({ camera: `C${i % 100}`, seq: i, frameTs: clock, receivedAt: clock, raw: String(i), observations: [{ box: boxAt(0.5), cls: 'Human', trackId: String(i % 7), ts: clock }] });
      if (i % 100 === 0) f.tick();
    }
    const perReportUs = ((performance.now() - t0) / 20_000) * 1000;
    expect(perReportUs).toBeLessThan(200); // generous for a shared machine; the bench reports p99
  });

  it('setZones replaces the site: candidates of a removed zone are dropped, a new zone confirms', () => {
    const { f, report } = setup(4); // f = 1
    f.ingest(report('C0', 1_000, [{ box: boxAt(1.5) }])); // a candidate in B
    expect(f.openCandidates()).toBe(1);
    f.setZones([square('A', 0)]);
    expect(f.openCandidates()).toBe(0);
    expect(f.zones().map((z) => z.zone)).toEqual(['A']);
    expect(f.ingest(report('C1', 1_100, [{ box: boxAt(1.5), trackId: 'q' }]))).toEqual([]); // B is gone
    f.setZones([square('A', 0), square('C', 1)]); // the same ground, a new id
    f.ingest(report('C0', 1_200, [{ box: boxAt(1.5) }]));
    const out = f.ingest(report('C1', 1_300, [{ box: boxAt(1.5), trackId: 'r' }]));
    expect(out.map((o) => o.type === 'confirmed' && o.event.zone)).toEqual([]); // cameras still list A and B only
    f.setCamera('C0', { ...both, zones: ['A', 'C'] });
    f.setCamera('C1', { ...both, zones: ['A', 'C'] });
    // Two cameras cover C: f = 0, so the first report confirms.
    const ok = f.ingest(report('C0', 1_400, [{ box: boxAt(1.5), trackId: 's' }]));
    expect(ok.map((o) => o.type === 'confirmed' && o.event.zone)).toEqual(['C']);
    expect(f.zones().find((z) => z.zone === 'C')!.covering).toEqual(['C0', 'C1']);
  });
});

describe('fusion outcomes (the cameras’ labels for federated learning)', () => {
  it('labels each detection by (camera, epoch, seq, index): confirmed when it was part of a confirmed event, else not, once its window closes', () => {
    let clock = 0;
    const got: { camera: string; epoch: number; seq: number; index: number; confirmed: boolean }[] = [];
    const f = createFusion({ zones, windowMs: 1_000, graceMs: 1_000, now: () => clock, onOutcomes: (items) => got.push(...items) });
    for (const c of ['C0', 'C1', 'C2', 'C3']) f.setCamera(c, both); // f = 1: two cameras confirm
    const rep = (camera: string, seq: number, ts: number, boxes: ReturnType<typeof boxAt>[]): Report => ({
      camera, epoch: 3, seq, frameTs: ts, receivedAt: ts, raw: `${camera}/${seq}`,
      observations: boxes.map((box, i) => ({ box, cls: 'Human', trackId: `${camera}-${i}`, ts })),
    });
    // C0: index 0 a real person (zone A), index 1 a lone false alarm in zone B, index 2 outside every zone.
    f.ingest(rep('C0', 10, 1_000, [boxAt(0.5), boxAt(1.5), boxAt(1.9, 1.5)]));
    expect(got).toEqual([{ camera: 'C0', epoch: 3, seq: 10, index: 2, confirmed: false }]);
    // C1 confirms the person: C0's and C1's detections are labelled at once.
    f.ingest(rep('C1', 4, 1_100, [boxAt(0.52)]));
    expect(got.slice(1)).toEqual([
      { camera: 'C0', epoch: 3, seq: 10, index: 0, confirmed: true },
      { camera: 'C1', epoch: 3, seq: 4, index: 0, confirmed: true },
    ]);
    // A later detection joining the confirmed event is labelled at once too.
    f.ingest(rep('C2', 7, 1_200, [boxAt(0.51)]));
    expect(got.at(-1)).toEqual({ camera: 'C2', epoch: 3, seq: 7, index: 0, confirmed: true });
    const before = got.length;
    // The false alarm is labelled only when its candidate closes unconfirmed.
    clock = 1_000 + 1_000 + 999;
    f.tick();
    expect(got.length).toBe(before);
    clock = 10_000;
    f.tick();
    expect(got.slice(before)).toEqual([{ camera: 'C0', epoch: 3, seq: 10, index: 1, confirmed: false }]);
    // Without an epoch (an unsigned simulation) there are no outcomes.
    got.length = 0;
    f.ingest({ ...rep('C3', 1, 20_000, [boxAt(0.5)]), epoch: undefined });
    expect(got).toEqual([]);
  });
});
