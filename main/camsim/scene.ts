import type { SimActor, SimActorClass, SimCalibration, SimScene, SimZone } from './types';
import { createRng, type Rng } from './rng';

/** The sensor clock: every camera captures on this grid, so frames and detections share timestamps. */
export const SENSOR_FPS = 30;
export const TICK_MS = 1000 / SENSOR_FPS;
const HISTORY_TICKS = 150; // 5 s of ground truth kept for late readers
const WARMUP_TICKS = 60 * SENSOR_FPS; // start with a populated scene

const WIDTH = 120;
const HEIGHT = 80;

const ZONES: SimZone[] = [
  { id: 'entrance', name: 'Entrance', polygon: [[0, 30], [18, 30], [18, 50], [0, 50]], restricted: false },
  { id: 'plaza', name: 'Plaza', polygon: [[22, 34], [56, 34], [56, 54], [22, 54]], restricted: false },
  { id: 'restricted', name: 'Restricted area', polygon: [[38, 60], [62, 60], [62, 78], [38, 78]], restricted: true },
  { id: 'loading-dock', name: 'Loading dock', polygon: [[86, 52], [118, 52], [118, 78], [86, 78]], restricted: false },
  { id: 'parking', name: 'Parking', polygon: [[62, 4], [116, 4], [116, 34], [62, 34]], restricted: false },
];

interface Point { x: number; y: number; stopS?: number }

interface ActorState extends SimActor {
  cruise: number;
  route: Point[];
  pauseLeft: number;
}

const DIMENSIONS: Record<SimActorClass, { length: number; width: number; height: number; speed: [number, number] }> = {
  Human: { length: 0.45, width: 0.5, height: 1.75, speed: [1.1, 1.7] },
  Bike: { length: 1.8, width: 0.6, height: 1.7, speed: [3.5, 5.5] },
  Car: { length: 4.5, width: 1.8, height: 1.5, speed: [5, 9] },
  Truck: { length: 8.5, width: 2.5, height: 3.6, speed: [5, 7] },
};

const PEOPLE_GATES: Point[] = [{ x: 0, y: 40 }, { x: 30, y: 0 }, { x: 120, y: 46 }, { x: 28, y: 80 }];
const ROAD_GATES: Point[] = [{ x: 0, y: 14 }, { x: 120, y: 44 }];
const ROAD_JUNCTION: Point = { x: 74, y: 44 };

export function zoneCentroid(z: SimZone): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const [px, py] of z.polygon) {
    x += px;
    y += py;
  }
  return { x: x / z.polygon.length, y: y / z.polygon.length };
}

export function pointInPolygon(x: number, y: number, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function randomPointIn(rng: Rng, z: SimZone): Point {
  const xs = z.polygon.map((p) => p[0]);
  const ys = z.polygon.map((p) => p[1]);
  for (;;) {
    const x = rng.range(Math.min(...xs) + 1, Math.max(...xs) - 1);
    const y = rng.range(Math.min(...ys) + 1, Math.max(...ys) - 1);
    if (pointInPolygon(x, y, z.polygon)) return { x, y };
  }
}

/** Pinhole camera looking down at the ground plane; the homography is K·[r1 r2 −R·C]. */
export interface CameraModel extends SimCalibration {
  rot: number[]; // row-major 3×3 world→camera (rows: right, down, forward)
  fx: number;
  fy: number;
}

export function makeCameraModel(cameraId: string, pos: { x: number; y: number; z: number }, yaw: number, pitch: number, hfovDeg: number, maxRangeM: number): CameraModel {
  const aspect = 16 / 9;
  const cp = Math.cos(pitch);
  const sp = Math.sin(pitch);
  const f = [Math.cos(yaw) * cp, Math.sin(yaw) * cp, -sp];
  const r = [Math.sin(yaw), -Math.cos(yaw), 0];
  // down = forward × right keeps image y pointing down.
  const d = [f[1]! * r[2]! - f[2]! * r[1]!, f[2]! * r[0]! - f[0]! * r[2]!, f[0]! * r[1]! - f[1]! * r[0]!];
  const rot = [...r, ...d, ...f];
  const fx = 0.5 / Math.tan((hfovDeg * Math.PI) / 360);
  const fy = fx * aspect;
  const t = [0, 1, 2].map((row) => -(rot[row * 3]! * pos.x + rot[row * 3 + 1]! * pos.y + rot[row * 3 + 2]! * pos.z));
  // M = [R col0, R col1, t]; H = K·M with K = [[fx,0,.5],[0,fy,.5],[0,0,1]].
  const m = [rot[0]!, rot[1]!, t[0]!, rot[3]!, rot[4]!, t[1]!, rot[6]!, rot[7]!, t[2]!];
  const h = [
    fx * m[0]! + 0.5 * m[6]!, fx * m[1]! + 0.5 * m[7]!, fx * m[2]! + 0.5 * m[8]!,
    fy * m[3]! + 0.5 * m[6]!, fy * m[4]! + 0.5 * m[7]!, fy * m[5]! + 0.5 * m[8]!,
    m[6]!, m[7]!, m[8]!,
  ];
  return { cameraId, position: { ...pos }, yaw, pitch, hfovDeg, aspect, homography: h, zones: [], maxRangeM, rot, fx, fy };
}

export function projectPoint(cam: CameraModel, x: number, y: number, z: number): { u: number; v: number; depth: number } | undefined {
  const dx = x - cam.position.x;
  const dy = y - cam.position.y;
  const dz = z - cam.position.z;
  const R = cam.rot;
  const cz = R[6]! * dx + R[7]! * dy + R[8]! * dz;
  if (cz < 0.3) return undefined;
  const cx = R[0]! * dx + R[1]! * dy + R[2]! * dz;
  const cy = R[3]! * dx + R[4]! * dy + R[5]! * dz;
  return { u: 0.5 + (cam.fx * cx) / cz, v: 0.5 + (cam.fy * cy) / cz, depth: cz };
}

/** The 8 corners of an actor's oriented box, projected; undefined when any corner is behind the camera. */
export function projectActorBox(cam: CameraModel, a: SimActor): { left: number; top: number; right: number; bottom: number; depth: number } | undefined {
  const c = Math.cos(a.heading);
  const s = Math.sin(a.heading);
  let left = Infinity;
  let top = Infinity;
  let right = -Infinity;
  let bottom = -Infinity;
  let depth = Infinity;
  for (const lx of [-a.length / 2, a.length / 2]) {
    for (const ly of [-a.width / 2, a.width / 2]) {
      const wx = a.x + lx * c - ly * s;
      const wy = a.y + lx * s + ly * c;
      for (const z of [0, a.height]) {
        const p = projectPoint(cam, wx, wy, z);
        if (!p) return undefined;
        left = Math.min(left, p.u);
        right = Math.max(right, p.u);
        top = Math.min(top, p.v);
        bottom = Math.max(bottom, p.v);
        depth = Math.min(depth, p.depth);
      }
    }
  }
  return { left, top, right, bottom, depth };
}

export interface SceneEngine extends SimScene {
  models: readonly CameraModel[];
  model(cameraId: string): CameraModel;
  /** Index of the sensor tick at time t. */
  tickAt(t: number): number;
  timeOfTick(k: number): number;
  snapshot(k: number): SimActor[];
}

/** Place n cameras around a loop through the zone centroids: neighbours look at nearby targets, so their views overlap. */
function placeCameras(n: number, rng: Rng): CameraModel[] {
  const order = ['entrance', 'plaza', 'restricted', 'loading-dock', 'parking'].map((id) => zoneCentroid(ZONES.find((z) => z.id === id)!));
  const segs = order.map((p, i) => {
    const q = order[(i + 1) % order.length]!;
    return { p, q, len: Math.hypot(q.x - p.x, q.y - p.y) };
  });
  const total = segs.reduce((s, g) => s + g.len, 0);
  const centre = { x: WIDTH / 2, y: HEIGHT / 2 };
  const cams: CameraModel[] = [];
  for (let i = 0; i < n; i++) {
    let along = (total * i) / n + rng.range(-3, 3);
    along = ((along % total) + total) % total;
    let target = order[0]!;
    for (const g of segs) {
      if (along <= g.len) {
        target = { x: g.p.x + ((g.q.x - g.p.x) * along) / g.len, y: g.p.y + ((g.q.y - g.p.y) * along) / g.len };
        break;
      }
      along -= g.len;
    }
    let dx = target.x - centre.x;
    let dy = target.y - centre.y;
    const norm = Math.hypot(dx, dy) || 1;
    dx /= norm;
    dy /= norm;
    // Rotate the outward direction a little so cameras do not all look at the centre.
    const swing = rng.range(-0.5, 0.5);
    const ox = dx * Math.cos(swing) - dy * Math.sin(swing);
    const oy = dx * Math.sin(swing) + dy * Math.cos(swing);
    const dist = rng.range(18, 26);
    const z = rng.range(6, 9);
    const pos = { x: target.x + ox * dist, y: target.y + oy * dist, z };
    const yaw = Math.atan2(target.y - pos.y, target.x - pos.x);
    const pitch = Math.atan2(z, dist) + rng.range(-0.03, 0.03);
    cams.push(makeCameraModel(`cam-${String(i + 1).padStart(2, '0')}`, pos, yaw, pitch, rng.range(78, 92), 50));
  }
  for (const cam of cams) cam.zones = coveredZones(cam);
  return cams;
}

/** Zones of which at least a quarter (sampled on a 2 m grid) falls in view and in range; the best two. */
function coveredZones(cam: CameraModel): string[] {
  const scored: { id: string; frac: number }[] = [];
  for (const z of ZONES) {
    let seen = 0;
    let all = 0;
    for (let x = 0; x <= WIDTH; x += 2) {
      for (let y = 0; y <= HEIGHT; y += 2) {
        if (!pointInPolygon(x, y, z.polygon)) continue;
        all++;
        const p = projectPoint(cam, x, y, 0);
        if (p && p.u >= 0 && p.u <= 1 && p.v >= 0 && p.v <= 1 && Math.hypot(x - cam.position.x, y - cam.position.y) <= cam.maxRangeM) seen++;
      }
    }
    if (all > 0 && seen / all >= 0.25) scored.push({ id: z.id, frac: seen / all });
  }
  return scored.sort((a, b) => b.frac - a.frac).slice(0, 2).map((s) => s.id);
}

export function createScene(opts: { seed: number; cameras: number; origin: number }): SceneEngine {
  const rng = createRng(opts.seed);
  const placeRng = rng.fork(1);
  const actRng = rng.fork(2);
  const models = placeCameras(opts.cameras, placeRng);
  const byId = new Map(models.map((m) => [m.cameraId, m]));
  const actors: ActorState[] = [];
  let nextId = 1;
  let tick = -WARMUP_TICKS;
  const history = new Map<number, SimActor[]>();
  const dt = TICK_MS / 1000;

  const spawn = (kind: SimActorClass): void => {
    const dims = DIMENSIONS[kind];
    const cruise = actRng.range(dims.speed[0], dims.speed[1]);
    const route: Point[] = [];
    let start: Point;
    if (kind === 'Car' || kind === 'Truck') {
      start = actRng.pick(ROAD_GATES);
      const dest = kind === 'Truck' ? randomPointIn(actRng, ZONES.find((z) => z.id === 'loading-dock')!) : randomPointIn(actRng, ZONES.find((z) => z.id === 'parking')!);
      route.push({ ...ROAD_JUNCTION }, { ...dest, stopS: actRng.range(8, 30) }, { ...ROAD_JUNCTION }, { ...actRng.pick(ROAD_GATES) });
    } else {
      start = actRng.pick(PEOPLE_GATES);
      const stops = actRng.int(2, 4);
      for (let i = 0; i < stops; i++) {
        const open = ZONES.filter((z) => !z.restricted);
        const zone = actRng.chance(0.1) ? ZONES.find((z) => z.restricted)! : actRng.pick(open);
        route.push({ ...randomPointIn(actRng, zone), stopS: actRng.chance(0.3) ? actRng.range(2, 8) : undefined });
      }
      route.push({ ...actRng.pick(PEOPLE_GATES) });
    }
    const first = route[0]!;
    actors.push({
      id: `${kind === 'Human' ? 'p' : 'v'}${nextId++}`,
      kind,
      x: start.x,
      y: start.y,
      heading: Math.atan2(first.y - start.y, first.x - start.x),
      speed: cruise,
      cruise,
      route,
      pauseLeft: 0,
      length: dims.length * actRng.range(0.9, 1.1),
      width: dims.width * actRng.range(0.9, 1.1),
      height: dims.height * actRng.range(0.92, 1.08),
    });
  };

  const step = (record: boolean): void => {
    const people = actors.filter((a) => a.kind === 'Human' || a.kind === 'Bike').length;
    const vehicles = actors.length - people;
    if (people < 14 && actRng.chance(0.5 * dt)) spawn(actRng.chance(0.12) ? 'Bike' : 'Human');
    if (vehicles < 5 && actRng.chance(0.12 * dt)) spawn(actRng.chance(0.2) ? 'Truck' : 'Car');
    for (let i = actors.length - 1; i >= 0; i--) {
      const a = actors[i]!;
      if (a.pauseLeft > 0) {
        a.pauseLeft -= dt;
        a.speed = 0;
        continue;
      }
      const target = a.route[0];
      if (!target) {
        actors.splice(i, 1); // left the area
        continue;
      }
      const dx = target.x - a.x;
      const dy = target.y - a.y;
      const dist = Math.hypot(dx, dy);
      const move = a.cruise * dt;
      a.speed = a.cruise;
      if (dist > 1e-6) a.heading = Math.atan2(dy, dx);
      if (move >= dist) {
        a.x = target.x;
        a.y = target.y;
        a.route.shift();
        if (target.stopS) a.pauseLeft = target.stopS;
      } else {
        a.x += (dx / dist) * move;
        a.y += (dy / dist) * move;
      }
    }
    tick++;
    // Catching up after a long idle time only keeps the snapshots that can still be asked for.
    if (record) history.set(tick, actors.map(({ id, kind, x, y, heading, speed, length, width, height }) => ({ id, kind, x, y, heading, speed, length, width, height })));
    history.delete(tick - HISTORY_TICKS);
  };

  while (tick < 0) step(tick >= -HISTORY_TICKS);

  const snapshot = (k: number): SimActor[] => {
    while (tick < k) step(k - tick <= HISTORY_TICKS);
    const oldest = tick - HISTORY_TICKS + 1;
    return history.get(Math.max(k, oldest)) ?? [];
  };
  const tickAt = (t: number): number => Math.floor(((t - opts.origin) * SENSOR_FPS) / 1000 + 1e-9);
  const timeOfTick = (k: number): number => Math.round(opts.origin + k * TICK_MS);

  return {
    width: WIDTH,
    height: HEIGHT,
    zones: ZONES,
    cameras: models,
    models,
    model: (id) => {
      const m = byId.get(id);
      if (!m) throw new Error(`unknown simulated camera ${id}`);
      return m;
    },
    tickAt,
    timeOfTick,
    snapshot,
    actorsAt: (t) => snapshot(tickAt(t)).map((a) => ({ ...a })),
    project: (id, x, y, z) => {
      const m = byId.get(id);
      return m ? projectPoint(m, x, y, z) : undefined;
    },
  };
}
