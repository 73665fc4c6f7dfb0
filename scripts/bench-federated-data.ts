// The bench's detections and their labels, the same in the desktop process (centralised reference)
// and in the camera processes (each camera's own local data): fl1 head features of synthetic
// detections, labelled by a fixed logistic rule plus per-camera clutter (non-IID: cameras differ
// in how many false alarms they produce and where). 20 % of each camera's samples are held out.
import { createHash } from 'node:crypto';
import { CLASSES, features, type Sample } from '../main/camsim/fl/head';

/** Deterministic uniform [0, 1) from a label (SHA-256), so every process draws the same data. */
function uniforms(label: string, n: number): number[] {
  const out: number[] = [];
  for (let block = 0; out.length < n; block++) {
    const h = createHash('sha256').update(`${label}#${block}`).digest();
    for (let i = 0; i + 4 <= h.length && out.length < n; i += 4) out.push(h.readUInt32LE(i) / 2 ** 32);
  }
  return out;
}

// The "truth" the swarm's confirmations follow: score matters most, Animal/Other and tiny boxes are
// usually not confirmed, the lower half of the image (near the camera) more often is.
const TRUTH = [6, 0, 1.5, 2, 2, 0, 0.5, 0.5, 0.5, 0.5, 0, -2.5, -2, -3.2];

export function cameraData(camera: number, samples: number): { train: Sample[]; heldOut: Sample[] } {
  const u = uniforms(`bench-federated/camera/${camera}`, samples * 8 + 2);
  const clutter = u[0]!; // this camera's share of false alarms (0..1)
  const bias = (u[1]! - 0.5) * 1.5; // and how much its scene shifts the truth
  const train: Sample[] = [];
  const heldOut: Sample[] = [];
  for (let i = 0; i < samples; i++) {
    const r = u.slice(2 + i * 8, 2 + i * 8 + 8);
    const cls = CLASSES[Math.floor(r[0]! * CLASSES.length)]!;
    const w = 0.03 + r[1]! * 0.3;
    const h = 0.05 + r[2]! * 0.4;
    const left = r[3]! * (1 - w);
    const top = r[4]! * (1 - h);
    const score = Math.min(1, Math.max(0, 0.3 + r[5]! * 0.7 - (r[6]! < clutter * 0.5 ? 0.2 : 0)));
    const x = features({ bounding_box: { left, top, right: left + w, bottom: top + h }, class: { type: cls, score } });
    let z = TRUTH[13]! + bias * (r[6]! < clutter ? -1 : 0.3);
    for (let k = 0; k < 13; k++) z += TRUTH[k]! * x[k]!;
    const y: 0 | 1 = r[7]! < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    (i % 5 === 4 ? heldOut : train).push({ x, y });
  }
  return { train, heldOut };
}
