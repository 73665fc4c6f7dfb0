import { describe, expect, it } from 'vitest';
import { buildCoverage, invert3, MIN_ZONE_SHARE, zonesInView, zoneShareInView, type ImagePoint, type Mat3, type ZoneConfig } from './coverage';

// A pinhole camera 8 m above the ground at the origin, looking east (+x), pitched 20° down, 80°
// horizontal field of view, 16:9: its ground → normalised image homography K·[r1 r2 t].
function camera(): Mat3 {
  const pitch = (20 * Math.PI) / 180;
  const fx = 0.5 / Math.tan((40 * Math.PI) / 180);
  const fy = (fx * 16) / 9;
  const [cp, sp] = [Math.cos(pitch), Math.sin(pitch)];
  // Rows: right (−y), down, forward; camera centre (0, 0, 8).
  const right = [0, -1, 0];
  const fwd = [cp, 0, -sp];
  const down = [fwd[1]! * right[2]! - fwd[2]! * right[1]!, fwd[2]! * right[0]! - fwd[0]! * right[2]!, fwd[0]! * right[1]! - fwd[1]! * right[0]!];
  const t = [right, down, fwd].map((r) => -(r[2]! * 8));
  const m = [right[0]!, right[1]!, t[0]!, down[0]!, down[1]!, t[1]!, fwd[0]!, fwd[1]!, t[2]!];
  return [
    fx * m[0]! + 0.5 * m[6]!, fx * m[1]! + 0.5 * m[7]!, fx * m[2]! + 0.5 * m[8]!,
    fy * m[3]! + 0.5 * m[6]!, fy * m[4]! + 0.5 * m[7]!, fy * m[5]! + 0.5 * m[8]!,
    m[6]!, m[7]!, m[8]!,
  ];
}
const groundToImage = camera();
const imageToGround = invert3(groundToImage)!;
const rect = (id: string, x0: number, y0: number, x1: number, y1: number): ZoneConfig => ({
  id,
  name: id,
  polygon: [{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }],
  cameras: [],
});
const near = rect('near', 12, -4, 24, 4);
const far = rect('far', 150, -10, 170, 10); // in the frame, just below the horizon
const behind = rect('behind', -30, -5, -20, 5);
const half = rect('half', 15, 0, 25, 120); // mostly off to the left of the frame
/** The frame below the row where the ground is 50 m away (found on the optical axis column). */
function rangeLimited(metres: number): ImagePoint[] {
  const uv = (x: number): number => {
    const w = groundToImage[6] * x + groundToImage[8];
    return (groundToImage[3] * x + groundToImage[5]) / w;
  };
  const v = uv(metres);
  return [{ u: 0, v }, { u: 1, v }, { u: 1, v: 1 }, { u: 0, v: 1 }];
}

describe('coverage', () => {
  it('counts a zone from the share of its area in view, not from one point of it', () => {
    expect(zoneShareInView(groundToImage, near)).toBe(1);
    expect(zoneShareInView(groundToImage, behind)).toBe(0);
    const s = zoneShareInView(groundToImage, half);
    expect(s).toBeGreaterThan(0.05);
    expect(s).toBeLessThan(MIN_ZONE_SHARE);
    expect(zonesInView(imageToGround, [near, far, behind, half])).toEqual(['near', 'far']);
  });

  it('leaves out what lies beyond the include area the camera reports (a homography alone reaches the horizon)', () => {
    const area = rangeLimited(50);
    expect(area[0]!.v).toBeGreaterThan(0.2); // the top of the frame is left out
    expect(zoneShareInView(groundToImage, far, area)).toBe(0);
    expect(zoneShareInView(groundToImage, near, area)).toBe(1);
    expect(zonesInView(imageToGround, [near, far], area)).toEqual(['near']);
    const cov = buildCoverage({ serial: 'CAM', imageToGround, includeArea: area }, [near, far]);
    expect(cov.zones).toEqual(['near']);
    // A zone the user listed the camera under still counts: the user knows the site.
    expect(buildCoverage({ serial: 'CAM', imageToGround, includeArea: area }, [near, { ...far, cameras: ['CAM'] }]).zones).toEqual(['near', 'far']);
  });
});
