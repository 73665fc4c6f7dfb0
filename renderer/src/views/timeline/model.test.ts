import { describe, expect, it } from 'vitest';
import { parseCameraId, type TimelineTrack } from '../../../../preload/contract';
import { growBounds, laneSegments, stripScale, pointAhead, pushSnapshot, scaleBar, snapshotAt, validateZone, zoneId, type Snapshot } from './model';

const track = (id: string, name: string, x = 0, cam = parseCameraId(name)): TimelineTrack => ({
  id, cls: 'Human', confirmed: true, x, y: 0, vx: 1, vy: 0, cov: [0.1, 0, 0.1], cameras: [cam], lastCamera: cam, updatedAt: 0, modes: {}, futures: [],
});

describe('timeline view model', () => {
  it('keeps snapshots of the window only, in order, and finds the one in force at a time', () => {
    let list: Snapshot[] = [];
    for (const at of [1000, 2000, 3000, 2500]) list = pushSnapshot(list, { at, tracks: [] }, 5000);
    expect(list.map((s) => s.at)).toEqual([1000, 2000, 3000]); // an older snapshot arriving late is ignored
    list = pushSnapshot(list, { at: 7500, tracks: [] }, 5000);
    expect(list.map((s) => s.at)).toEqual([3000, 7500]); // older than 5 s before the newest: dropped
    list = [1000, 2000, 3000].reduce<Snapshot[]>((l, at) => pushSnapshot(l, { at, tracks: [] }, 10_000), []);
    expect(snapshotAt(list, 2500)?.at).toBe(2000);
    expect(snapshotAt(list, 3000)?.at).toBe(3000);
    expect(snapshotAt(list, 999)).toBeUndefined();
  });

  it('merges a track into one segment per camera lane and splits it after a gap', () => {
    const snaps: Snapshot[] = [
      { at: 0, tracks: [track('t1', 'A')] },
      { at: 500, tracks: [track('t1', 'A')] },
      { at: 1000, tracks: [track('t1', 'B')] },
      { at: 5000, tracks: [track('t1', 'B')] },
    ];
    const lanes = laneSegments(snaps, 1500);
    expect(lanes.get('A')).toEqual([{ trackId: 't1', from: 0, to: 500 }]);
    expect(lanes.get('B')).toEqual([
      { trackId: 't1', from: 1000, to: 1000 },
      { trackId: 't1', from: 5000, to: 5000 },
    ]);
  });

  it('grows map bounds with a margin and never shrinks them', () => {
    const b1 = growBounds(undefined, [{ x: 0, y: 0 }], 2)!;
    expect(b1).toEqual({ minX: -2, minY: -2, maxX: 2, maxY: 2 });
    const b2 = growBounds(b1, [{ x: 10, y: 1 }], 2)!;
    expect(b2).toEqual({ minX: -2, minY: -2, maxX: 12, maxY: 3 });
    expect(growBounds(b2, [{ x: 1, y: 1 }], 2)).toBe(b2); // unchanged: same object, no re-render
  });

  it('says what is wrong with a zone draft, field by field', () => {
    const ok = { name: 'Dock', polygon: [{ x: 0, y: 0 }, { x: 4, y: 0 }, { x: 4, y: 3 }], threshold: '0.5', reactionS: '2', action: '' };
    expect(validateZone(ok, [])).toEqual({});
    expect(validateZone({ ...ok, name: ' ' }, []).name).toMatch(/name/);
    expect(validateZone(ok, [{ id: 'x', name: 'Dock', polygon: [], threshold: 0.5, reactionS: 2 }]).name).toMatch(/already/);
    expect(validateZone({ ...ok, polygon: ok.polygon.slice(0, 2) }, []).polygon).toMatch(/2 so far/);
    expect(validateZone({ ...ok, polygon: [{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 2 }] }, []).polygon).toMatch(/one line/);
    expect(validateZone({ ...ok, threshold: '1.5' }, []).threshold).toBeDefined();
    expect(validateZone({ ...ok, reactionS: '' }, []).reactionS).toBeDefined();
  });

  it('derives unique zone ids and finds the point a future reaches after the lead time', () => {
    expect(zoneId('Loading Dock #1', new Set())).toBe('loading-dock-1');
    expect(zoneId('Loading Dock #1', new Set(['loading-dock-1']))).toBe('loading-dock-1-2');
    const t = {
      ...track('t1', 'A'),
      futures: [
        { label: 'a', weight: 0.3, points: [{ dt: 0.4, x: 9, y: 9, cov: [0, 0, 0] as [number, number, number] }] },
        { label: 'b', weight: 0.7, points: [0.4, 0.8, 1.2].map((dt) => ({ dt, x: dt * 10, y: 0, cov: [0, 0, 0] as [number, number, number] })) },
      ],
    };
    expect(pointAhead(t, 0.8)).toEqual({ x: 8, y: 0 });
  });
});

describe('map scale bar', () => {
  it('picks the longest 1-2-5 length within a fifth of the map', () => {
    expect(scaleBar(130)).toEqual({ metres: 20, label: '20 m' });
    expect(scaleBar(40)).toEqual({ metres: 5, label: '5 m' });
    expect(scaleBar(12)).toEqual({ metres: 2, label: '2 m' });
    expect(scaleBar(5)).toEqual({ metres: 1, label: '1 m' });
    expect(scaleBar(2)).toEqual({ metres: 0.2, label: '20 cm' });
    expect(scaleBar(30_000)).toEqual({ metres: 5000, label: '5 km' });
  });
});

describe('calibration and corner input', () => {
  it('refuses a point with a missing number or an image position outside 0..1', async () => {
    const { calibrationPoints } = await import('./model');
    const ok = { u: '0.1', v: '0.2', x: '1', y: '2' };
    expect(calibrationPoints([ok, { ...ok, x: '' }])).toMatch(/Point 2 needs all four numbers/);
    expect(calibrationPoints([{ ...ok, u: '1.5' }])).toMatch(/run from 0 to 1/);
    expect(calibrationPoints([ok])).toEqual([{ image: { u: 0.1, v: 0.2 }, ground: { x: 1, y: 2 } }]);
  });
  it('reads a typed corner', async () => {
    const { parseCorner } = await import('./model');
    expect(parseCorner('12.5, -4')).toEqual({ x: 12.5, y: -4 });
    expect(parseCorner('3 4')).toEqual({ x: 3, y: 4 });
    expect(parseCorner('north')).toMatch(/x, y in metres/);
  });
});

describe('liveCaption', () => {
  it('says live with the time now, and says how long tracks have been quiet instead of pretending', async () => {
    const { liveCaption } = await import('./model');
    const now = Date.UTC(2026, 0, 1, 8, 19, 42);
    expect(liveCaption(undefined, now)).toMatch(/waiting for tracks/);
    expect(liveCaption(now - 500, now)).not.toMatch(/no track update/);
    const quiet = liveCaption(now - 221_000, now);
    expect(quiet).toMatch(/no track update for 4 min/);
  });

  it('keeps the time strip clear of the lane names: time starts after the gutter, a pointer over the names is the start', () => {
    const s = stripScale(10_000, 70_000, 1000, 130);
    expect(s.x(10_000)).toBe(130);
    expect(s.x(70_000)).toBe(1000);
    expect(s.x(40_000)).toBe(565);
    expect(s.toTime(0.05)).toBe(10_000); // over the names
    expect(s.toTime(0.565)).toBeCloseTo(40_000, 6);
    expect(s.toTime(1.2)).toBe(70_000);
  });
});
