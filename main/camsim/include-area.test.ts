import { describe, expect, it } from 'vitest';
import { includeAreaOf } from './agent';
import { createScene, pointInPolygon, projectPoint } from './scene';

// The include area a simulated camera serves with its calibration must say where its detector
// reports objects: an actor is detected when its ground position is within maxRangeM of the camera
// (detector.ts) and it is in the frame. Checked on the ground, against the camera model itself.
describe('includeAreaOf', () => {
  it('covers the frame where the ground is within the detection range, and nothing beyond it', () => {
    for (const seed of [1, 2, 3]) {
      const scene = createScene({ seed, cameras: 8, origin: 0 });
      for (const cam of scene.models) {
        const area = includeAreaOf(cam.homography, cam.maxRangeM, cam.position);
        expect(area, `${cam.cameraId} (seed ${seed})`).toBeDefined();
        const poly = area!.map((p) => [p.u, p.v] as const);
        let inFrame = 0;
        let agree = 0;
        let farInside = 0;
        for (let x = cam.position.x - 150; x <= cam.position.x + 150; x += 1.5)
          for (let y = cam.position.y - 150; y <= cam.position.y + 150; y += 1.5) {
            const p = projectPoint(cam, x, y, 0);
            if (!p || p.u < 0 || p.u > 1 || p.v < 0 || p.v > 1) continue;
            inFrame++;
            const dist = Math.hypot(x - cam.position.x, y - cam.position.y);
            const claimed = pointInPolygon(p.u, p.v, poly);
            if (claimed === dist <= cam.maxRangeM) agree++;
            // Beyond the range by more than the polygon's chord error: never inside.
            if (claimed && dist > cam.maxRangeM * 1.1) farInside++;
          }
        expect(inFrame).toBeGreaterThan(1000);
        expect(agree / inFrame, `${cam.cameraId} (seed ${seed})`).toBeGreaterThan(0.98);
        expect(farInside, `${cam.cameraId} (seed ${seed})`).toBe(0);
      }
    }
  });

  it('is undefined for a camera whose frame sees no ground within range', () => {
    const scene = createScene({ seed: 1, cameras: 1, origin: 0 });
    const cam = scene.models[0]!;
    expect(includeAreaOf(cam.homography, 1, cam.position)).toBeUndefined();
  });
});
