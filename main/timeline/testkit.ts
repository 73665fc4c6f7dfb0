// Shared by the timeline's tests: affine test cameras and the detection box that puts a person's
// feet at a given ground point.
import type { Mat3 } from './homography';
import type { Observation } from './tracker';

/** A camera seeing ground x ∈ [x0, x0 + 12], y ∈ [0, 10] (affine: u → x, v → y). */
export const affineCamera = (x0: number): Mat3 => [12, 0, x0, 0, 10, 0, 0, 0, 1];

/** A Human box whose bottom centre maps to ground (x, y) through the affine camera h. */
export const box = (h: Mat3, x: number, y: number): Observation => {
  const u = (x - h[2]) / h[0];
  const v = y / h[4];
  return { bounding_box: { left: u - 0.01, top: v - 0.1, right: u + 0.01, bottom: v }, class: { type: 'Human', score: 0.9 } };
};
