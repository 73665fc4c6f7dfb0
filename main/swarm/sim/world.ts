// One deterministic simulation run: a site of four zones (10 m × 10 m each, in a row), a fleet of
// 4–16 cameras with partial and overlapping coverage (f up to 5 in a zone seen by 16), a ground
// truth of events, faulty cameras as the scenario says, a network with delays, drops, partitions
// and reordering, an attacker that replays or forges messages, and the real coordinator. Cameras
// are open-loop (they do not react to the coordinator), so every message is generated up front and
// then delivered in time order against an injected clock. Every run ends with the checkers: safety
// compares each confirmed event with the ground truth (zone, class, position within SAFE_DISTANCE_M
// of a true event, time), liveness wants every true event confirmed by its deadline.
//
// Liars are the plausible kind: they collude on one zone, claim objects of the classes that really
// occur there, next to true events (a few metres off, at the same time), report the true events
// too (sometimes with the wrong class), and in one scenario lie only some of the time.
import type { ObjectClass } from '../envelope';
import { createCoordinator, type Coordinator } from '../coordinator';
import type { ConfirmedEvent, FusionOutput, Observation, Report, Zone } from '../fusion';
import { mulberry32, randInt, shuffled, type Random } from '../prng';
import type { RecordedKey, RejectReason } from '../verify';
import { sealEnvelope, simKey } from './keys';
import { scenarios, type ScenarioName } from './scenarios';

export type Role = 'honest' | 'crashed' | 'partitioned' | 'liar' | 'equivocator';
export interface SimCamera {
  id: string;
  role: Role;
  /** The zones it sees (and reports on). */
  zones: string[];
  mirrored: boolean;
  crashAt?: number;
  partition?: [number, number];
  /** Replay scenario: the camera restarts here (a new boot epoch, seq from 1). */
  restartAt?: number;
}
export interface TrueEvent {
  id: number;
  zone: string;
  cls: ObjectClass;
  t: number;
  x: number;
  y: number;
}
export interface SimResult {
  scenario: ScenarioName;
  seed: number;
  n: number;
  /** f of the zone the adversaries target. */
  f: number;
  zones: { id: string; n: number; f: number }[];
  target: string;
  cameras: SimCamera[];
  truth: TrueEvent[];
  /** The liars' invented events (they never happened). */
  fakes: TrueEvent[];
  confirmed: (ConfirmedEvent & { atConfirmation: { x: number; y: number } })[];
  quarantined: string[];
  rejected: Partial<Record<RejectReason, number>>;
  safety: { ok: boolean; violations: string[] };
  liveness: { ok: boolean; applicable: boolean; missed: string[] };
  /** Scenario-specific checks (replays all refused, equivocators quarantined, crashes detected). */
  expectations: { ok: boolean; problems: string[] };
  trace: string[];
}

export const SIM_WINDOW_MS = 1_000;
/** A confirmed event must lie this close to a true event of its class (metres): the fusion gate. */
export const SAFE_DISTANCE_M = 2.5;
const DURATION_MS = 6_000;
const TICK_MS = 250;
const EVENT_FRAMES = [40, 240]; // an event is seen on two frames this long after it happens
const ZONE_M = 10;
const ZONES = 4;
const SITE_M = ZONE_M * ZONES;
const CLASSES: ObjectClass[] = ['Human', 'Car', 'Truck', 'Bike'];

const zones: Zone[] = Array.from({ length: ZONES }, (_, i) => ({
  id: `Z${i}`,
  polygon: [
    { x: i * ZONE_M, y: 0 },
    { x: (i + 1) * ZONE_M, y: 0 },
    { x: (i + 1) * ZONE_M, y: ZONE_M },
    { x: i * ZONE_M, y: ZONE_M },
  ],
}));
const cameraId = (i: number): string => `B8A44F${(i + 1).toString(16).toUpperCase().padStart(6, '0')}`;
const faultBoundOf = (n: number): number => Math.max(0, Math.floor((n - 1) / 3));

interface Msg {
  at: number; // delivery time
  order: number;
  camera: string;
  epoch: number;
  seq: number;
  sent: number;
  frameTs: number;
  obs: Observation[];
  /** Who produced it: the camera itself, or an attacker on the network. */
  origin: 'camera' | 'replay' | 'forgery';
  payload?: string;
}

export interface SimOptions {
  trace?: boolean;
  /** Deliberately mis-configure fusion (tests of the checkers use this to prove they can fail). */
  fusion?: { maxF?: number; windowMs?: number; positionGate?: number };
}

export function runSimulation(scenario: ScenarioName, seed: number, opts: SimOptions = {}): SimResult {
  const spec = scenarios[scenario];
  // Idle frames double as heartbeats, so the heartbeat interval is the frame period. Signed runs
  // send only the frames that carry an event (each costs a real Ed25519 sign and verify), so their
  // heartbeat interval is longer than the run and nobody is declared down.
  const FRAME_EVERY_MS = 2_000;
  const HEARTBEAT_INTERVAL_MS = spec.signed ? 20_000 : FRAME_EVERY_MS;
  const rnd: Random = mulberry32(seed);
  const trace: string[] = [];
  const log = opts.trace ? (s: string) => trace.push(s) : undefined;

  // ---- fleet and coverage: partial and overlapping ----
  const n = randInt(rnd, 4, 16);
  // Some sites are one yard that every camera sees (up to 16 covering one zone: f = 5).
  const wide = rnd() < 0.2 ? 1 : 0.35;
  const coverage: Set<string>[] = Array.from({ length: n }, () => {
    if (rnd() < wide) return new Set(zones.map((z) => z.id)); // a wide view over the whole site
    const a = randInt(rnd, 0, ZONES - 1);
    const len = randInt(rnd, 1, 2);
    return new Set(Array.from({ length: len }, (_, k) => `Z${Math.min(ZONES - 1, a + k)}`));
  });
  // Every zone seen by at least 4 cameras, so f ≥ 1 everywhere: one liar can never confirm alone.
  for (const z of zones) {
    const covering = () => coverage.filter((c) => c.has(z.id)).length;
    for (const i of shuffled(rnd, [...coverage.keys()])) {
      if (covering() >= 4) break;
      coverage[i]!.add(z.id);
    }
  }
  const nOf = new Map(zones.map((z) => [z.id, coverage.filter((c) => c.has(z.id)).length]));
  const fOf = new Map([...nOf].map(([z, k]) => [z, faultBoundOf(k)]));
  const target = `Z${randInt(rnd, 0, ZONES - 1)}`;
  const F = fOf.get(target)!;

  // ---- faulty cameras: among those covering the target zone, within every zone's budget ----
  const roles: Role[] = Array.from({ length: n }, () => 'honest');
  const faultyIn = new Map(zones.map((z) => [z.id, 0]));
  const candidates = shuffled(rnd, [...coverage.keys()].filter((i) => coverage[i]!.has(target)));
  const assign = (role: Role, k: number, overBudget = false): void => {
    for (const i of candidates) {
      if (k <= 0) return;
      if (roles[i] !== 'honest') continue;
      const zs = [...coverage[i]!];
      if (!overBudget && zs.some((z) => faultyIn.get(z)! + 1 > fOf.get(z)!)) continue;
      roles[i] = role;
      for (const z of zs) faultyIn.set(z, faultyIn.get(z)! + 1);
      k--;
    }
  };
  assign('crashed', spec.crashed(F));
  assign('partitioned', spec.partitioned(F));
  assign('liar', spec.liars(F), spec.overBudget);
  assign('equivocator', spec.equivocators(F));
  const cams: SimCamera[] = roles.map((role, i) => {
    const c: SimCamera = { id: cameraId(i), role, zones: [...coverage[i]!].sort(), mirrored: rnd() < 0.5 };
    if (role === 'crashed') c.crashAt = randInt(rnd, 0, 4_000);
    if (role === 'partitioned') {
      const a = randInt(rnd, 0, 3_000);
      c.partition = [a, a + 3_000];
    }
    if (spec.replays) c.restartAt = randInt(rnd, 0, DURATION_MS);
    return c;
  });
  const byId = new Map(cams.map((c) => [c.id, c]));
  const isByzantine = (c: SimCamera) => c.role === 'liar' || c.role === 'equivocator';

  // ---- ground truth; at least one true event in the target zone, where the liars lie ----
  const truth: TrueEvent[] = [];
  const eventCount = spec.signed ? 1 : randInt(rnd, 1, 3);
  for (let i = 0; i < eventCount; i++) {
    const z = i === 0 ? Number(target.slice(1)) : randInt(rnd, 0, ZONES - 1);
    truth.push({ id: i + 1, zone: `Z${z}`, cls: CLASSES[randInt(rnd, 0, CLASSES.length - 1)]!, t: randInt(rnd, 500, 4_000), x: z * ZONE_M + 1 + 8 * rnd(), y: 1 + 8 * rnd() });
  }
  // The liars' shared story: objects of a class that really occurs, next to a true event in the
  // target zone (4–7 m off, inside the zone), at about the same time.
  const fakes: TrueEvent[] = [];
  const anchor = truth[0]!;
  for (let i = 0; i < randInt(rnd, 1, 2); i++) {
    const zx = Number(target.slice(1)) * ZONE_M;
    let x = anchor.x;
    let y = anchor.y;
    for (let tries = 0; tries < 50; tries++) {
      const d = 4 + 3 * rnd();
      const a = 2 * Math.PI * rnd();
      x = anchor.x + d * Math.cos(a);
      y = anchor.y + d * Math.sin(a);
      // Inside the zone, and a real lie: at least 4 m from every true event (not one that happens to be there).
      if (x > zx + 0.2 && x < zx + ZONE_M - 0.2 && y > 0.2 && y < ZONE_M - 0.2 && truth.every((t) => Math.hypot(t.x - x, t.y - y) >= 4)) break;
    }
    const cls = i === 0 ? anchor.cls : CLASSES[randInt(rnd, 0, CLASSES.length - 1)]!;
    fakes.push({ id: 100 + i, zone: target, cls, t: anchor.t + randInt(rnd, -300, 300), x, y });
  }

  /** The camera's image box around a ground point (a known affine view of the whole site). */
  const boxFor = (c: SimCamera, x: number, y: number) => {
    const u = x / SITE_M + (rnd() - 0.5) * 0.002;
    const cx = Math.min(0.99, Math.max(0.01, c.mirrored ? 1 - u : u));
    const cy = Math.min(0.95, Math.max(0.05, y / ZONE_M));
    return { left: cx - 0.005, top: cy - 0.05, right: cx + 0.005, bottom: cy + 0.05 };
  };

  // ---- messages each camera sends ----
  const msgs: Msg[] = [];
  let order = 0;
  const [dLo, dHi] = spec.delay;
  const deliver = (m: Omit<Msg, 'at' | 'order'>, extraDelay = 0): void => {
    const c = byId.get(m.camera)!;
    if (m.origin === 'camera' && c.partition && m.sent >= c.partition[0] && m.sent < c.partition[1]) return;
    if (rnd() < spec.dropRate) return;
    msgs.push({ ...m, at: m.sent + randInt(rnd, dLo, dHi) + extraDelay, order: order++ });
  };

  for (const c of cams) {
    let seq = 0;
    let epoch = 1;
    const phase = randInt(rnd, 0, FRAME_EVERY_MS - 1);
    const frames = new Map<number, Observation[]>();
    if (!spec.signed) for (let t = phase; t < DURATION_MS; t += FRAME_EVERY_MS) frames.set(t, []);
    const add = (e: TrueEvent, cls: ObjectClass, track: string): void => {
      for (const dt of EVENT_FRAMES) {
        const ts = e.t + dt + randInt(rnd, 0, 20);
        const list = frames.get(ts) ?? [];
        list.push({ box: boxFor(c, e.x, e.y), cls, trackId: track, ts });
        frames.set(ts, list);
      }
    };
    for (const e of truth) {
      if (!c.zones.includes(e.zone)) continue; // it cannot see that zone
      if (c.role !== 'liar') add(e, e.cls, String(e.id));
      else if (rnd() < 0.7) add(e, rnd() < 0.3 ? CLASSES[(CLASSES.indexOf(e.cls) + 1) % CLASSES.length]! : e.cls, String(e.id)); // sometimes with the wrong class
    }
    if (c.role === 'liar') for (const e of fakes) if (rnd() < spec.lieRate) add(e, e.cls, `f${e.id}`);
    let equivocated = false;
    for (const ts of [...frames.keys()].sort((a, b) => a - b)) {
      if (c.crashAt !== undefined && ts >= c.crashAt) break;
      if (c.restartAt !== undefined && epoch === 1 && ts >= c.restartAt) {
        epoch = 2; // the camera restarted: a new boot epoch, seq from 1
        seq = 0;
      }
      const obs = frames.get(ts)!;
      const sent = ts + randInt(rnd, 5, 30);
      deliver({ camera: c.id, epoch, seq: ++seq, sent, frameTs: ts, obs, origin: 'camera' });
      if (c.role === 'equivocator' && !equivocated && obs.length) {
        // Same track, same frame time, another class: a second signed statement contradicting the first.
        equivocated = true;
        deliver({ camera: c.id, epoch, seq: ++seq, sent: sent + 1, frameTs: ts, obs: obs.map((o) => ({ ...o, cls: CLASSES[(CLASSES.indexOf(o.cls) + 1) % CLASSES.length]! })), origin: 'camera' });
      }
    }
  }
  // ---- the attacker on the network ----
  let replaysInjected = 0;
  let forgeriesInjected = 0;
  if (spec.replays) {
    for (const m of [...msgs]) {
      if (m.origin !== 'camera' || rnd() >= 0.3) continue;
      replaysInjected++;
      msgs.push({ ...m, origin: 'replay', at: m.at + randInt(rnd, 100, 3_000), order: order++ });
    }
  }
  if (spec.forgeries) {
    // Every camera's name, a fake event, a key the attacker made up: enough "cameras" to confirm it.
    const fake = fakes[0]!;
    for (const c of cams) {
      forgeriesInjected++;
      msgs.push({
        camera: c.id,
        epoch: 1,
        seq: 10_000 + forgeriesInjected,
        sent: fake.t,
        frameTs: fake.t,
        obs: [{ box: boxFor(c, fake.x, fake.y), cls: fake.cls, trackId: 'f', ts: fake.t }],
        origin: 'forgery',
        at: fake.t + randInt(rnd, dLo, dHi),
        order: order++,
      });
    }
  }

  // ---- the coordinator under test ----
  let clock = 0;
  const keys = new Map<string, RecordedKey>(cams.map((c) => [c.id, { keyId: simKey(c.id).keyId, publicKey: spec.signed ? simKey(c.id).publicKey : '' }]));
  const coord: Coordinator = createCoordinator({
    now: () => clock,
    keys: { get: (id) => keys.get(id) },
    fusion: { zones, windowMs: SIM_WINDOW_MS, graceMs: 2_000, ...opts.fusion },
    topology: { heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, missedHeartbeats: 3 },
    hrtime: () => 0,
  });
  for (const c of cams)
    coord.addCamera(c.id, {
      zones: c.zones,
      toGround: (b) => {
        const cx = (b.left + b.right) / 2;
        return { x: (c.mirrored ? 1 - cx : cx) * SITE_M, y: ((b.top + b.bottom) / 2) * ZONE_M };
      },
    });

  const confirmed: SimResult['confirmed'] = [];
  const confirmedAt = new Map<string, number>();
  const rejected: Partial<Record<RejectReason, number>> = {};
  const rejectedByOrigin = { camera: 0, replay: 0, forgery: 0 };
  const topoDetected = new Map<string, number>();
  const handle = (outs: FusionOutput[]): void => {
    for (const o of outs) {
      if (o.type === 'confirmed') {
        // Where it was said to be when it was confirmed: what a user saw first.
        confirmed.push(Object.assign(o.event, { atConfirmation: { x: o.event.x, y: o.event.y } }));
        confirmedAt.set(o.event.id, clock);
        log?.(`t=${clock} decision confirmed ${o.event.id} zone=${o.event.zone} class=${o.event.cls} at=(${o.event.x.toFixed(2)},${o.event.y.toFixed(2)}) by=${o.event.confirmers.join(',')} (f=${o.event.f}, n=${o.event.n})`);
      } else if (o.type === 'closed') {
        log?.(`t=${clock} decision closed ${o.event.id} confirmers=${o.event.confirmers.join(',')} disagreed=${o.event.disagreed.join(',') || '-'}`);
      } else if (o.type === 'unconfirmed') {
        log?.(`t=${clock} decision unconfirmed zone=${o.zone} class=${o.cls} reporters=${o.reporters.join(',')} silent=${o.silent.length} overruled=${o.overruled}`);
      } else {
        log?.(`t=${clock} decision quarantine ${o.proof.camera}: ${o.proof.reason}`);
      }
    }
  };

  const forger = spec.forgeries ? simKey('attacker') : undefined;
  const ticks: { at: number; order: number }[] = [];
  for (let t = TICK_MS; t <= DURATION_MS + 6_000; t += TICK_MS) ticks.push({ at: t, order: order++ });
  const timeline = [...msgs.map((m) => ({ m, at: m.at, order: m.order })), ...ticks.map((t) => ({ m: undefined, at: t.at, order: t.order }))].sort(
    (a, b) => a.at - b.at || a.order - b.order,
  );
  log?.(`run scenario=${scenario} seed=${seed} n=${n} target=${target} (f=${F}) zones=${zones.map((z) => `${z.id}:n${nOf.get(z.id)}/f${fOf.get(z.id)}`).join(' ')}`);
  log?.(`cameras ${cams.map((c) => `${c.id}:${c.role}[${c.zones.join(',')}]${c.mirrored ? '/mirrored' : ''}`).join(' ')}`);
  log?.(`truth ${truth.map((e) => `#${e.id} ${e.cls}@${e.zone}(${e.x.toFixed(1)},${e.y.toFixed(1)}) t=${e.t}`).join('; ')}; fakes ${fakes.map((e) => `${e.cls}(${e.x.toFixed(1)},${e.y.toFixed(1)}) t=${e.t}`).join('; ')}`);

  for (const item of timeline) {
    clock = item.at;
    const m = item.m;
    if (!m) {
      const r = coord.tick();
      for (const id of r.topology.failed) {
        topoDetected.set(id, clock);
        log?.(`t=${clock} topology ${id} down (no heartbeat for ${coord.topology.timeoutMs} ms); mode=${r.topology.graph.mode}`);
      }
      handle(r.outputs);
      continue;
    }
    const body = JSON.stringify({ frame: { timestamp: m.frameTs, observations: m.obs.map((o) => ({ bounding_box: o.box, class: { type: o.cls, score: 0.9 }, track_id: o.trackId, timestamp: o.ts })) } });
    log?.(`t=${clock} deliver ${m.origin} camera=${m.camera} epoch=${m.epoch} seq=${m.seq} sent=${m.sent} frame=${m.frameTs} obs=[${m.obs.map((o) => `${o.cls}#${o.trackId}`).join(',')}]`);
    if (spec.signed) {
      if (!m.payload) {
        const key = m.origin === 'forgery' ? forger! : simKey(m.camera);
        m.payload = sealEnvelope({ camera: m.camera, epoch: m.epoch, seq: m.seq, sent: m.sent, kind: 'detections', key: simKey(m.camera).keyId, body }, key.privateKey);
      }
      const r = coord.ingest(m.payload, clock, `axis/${m.camera}/omnisight/detections`);
      if (!r.accepted) {
        rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
        rejectedByOrigin[m.origin]++;
        log?.(`t=${clock}   rejected: ${r.reason} (${r.detail})`);
      } else {
        coord.topology.heartbeat(m.camera, clock); // simulated frames double as heartbeats
      }
      handle(r.outputs);
    } else {
      const report: Report = { camera: m.camera, seq: m.seq, frameTs: m.frameTs, receivedAt: clock, observations: m.obs, raw: `${m.camera}#${m.seq}:${body}` };
      coord.topology.observe(m.camera, m.seq, m.sent, clock);
      coord.topology.heartbeat(m.camera, clock);
      handle(coord.ingestReport(report));
    }
  }

  // ---- checkers ----
  const W = SIM_WINDOW_MS;
  const lastFrame = EVENT_FRAMES[1]! + 20;
  const violations: string[] = [];
  for (const e of confirmed) {
    const p = e.atConfirmation;
    const match = truth.find(
      (t) => t.zone === e.zone && t.cls === e.cls && Math.hypot(t.x - p.x, t.y - p.y) <= SAFE_DISTANCE_M && e.startTs <= t.t + lastFrame + W && e.endTs >= t.t - W,
    );
    if (!match)
      violations.push(`${e.id}: ${e.cls} in ${e.zone} at (${p.x.toFixed(1)}, ${p.y.toFixed(1)}) ${e.startTs}–${e.endTs} confirmed by ${e.confirmers.join(',')} matches no true event (class, within ${SAFE_DISTANCE_M} m, time)`);
  }
  // Liveness applies when no zone has more than f faulty cameras (n ≥ 3f+1 holds by f's definition).
  const overBudget = zones.filter((z) => cams.filter((c) => c.role !== 'honest' && c.zones.includes(z.id)).length > fOf.get(z.id)!);
  const applicable = spec.expectLive && overBudget.length === 0;
  const deadline = lastFrame + 30 + dHi + TICK_MS + 500;
  const missed: string[] = [];
  if (applicable)
    for (const t of truth) {
      const hit = confirmed.some(
        (e) =>
          e.zone === t.zone && e.cls === t.cls && Math.hypot(t.x - e.atConfirmation.x, t.y - e.atConfirmation.y) <= SAFE_DISTANCE_M && e.startTs <= t.t + lastFrame + W && e.endTs >= t.t - W && confirmedAt.get(e.id)! <= t.t + deadline,
      );
      if (!hit) missed.push(`#${t.id} ${t.cls} in ${t.zone} at ${t.t} not confirmed by ${t.t + deadline}`);
    }

  const quarantined = coord.fusion.quarantined().map((q) => q.camera);
  const problems: string[] = [];
  for (const q of quarantined) if (!isByzantine(byId.get(q)!)) problems.push(`non-Byzantine camera ${q} was quarantined`);
  for (const c of cams) if (c.role === 'equivocator' && !quarantined.includes(c.id)) problems.push(`equivocator ${c.id} was not quarantined`);
  if (spec.replays && rejectedByOrigin.replay !== replaysInjected) problems.push(`${replaysInjected - rejectedByOrigin.replay} of ${replaysInjected} replays were accepted`);
  if (spec.forgeries && rejectedByOrigin.forgery !== forgeriesInjected) problems.push(`${forgeriesInjected - rejectedByOrigin.forgery} forgeries were accepted`);
  if (rejectedByOrigin.camera > 0) problems.push(`${rejectedByOrigin.camera} genuine camera messages were refused`);
  for (const c of cams)
    if (c.crashAt !== undefined) {
      const at = topoDetected.get(c.id);
      // Down within one heartbeat timeout (plus one tick) of the last message it could have sent.
      if (at === undefined || at > c.crashAt + 30 + dHi + coord.topology.timeoutMs + TICK_MS) problems.push(`crash of ${c.id} at ${c.crashAt} not detected in time (${at ?? 'never'})`);
    }

  const result: SimResult = {
    scenario,
    seed,
    n,
    f: F,
    zones: zones.map((z) => ({ id: z.id, n: nOf.get(z.id)!, f: fOf.get(z.id)! })),
    target,
    cameras: cams,
    truth,
    fakes,
    confirmed,
    quarantined,
    rejected,
    safety: { ok: violations.length === 0, violations },
    liveness: { ok: missed.length === 0, applicable, missed },
    expectations: { ok: problems.length === 0, problems },
    trace,
  };
  log?.(
    `verdict safety=${result.safety.ok ? 'ok' : `VIOLATED (${violations.join('; ')})`} liveness=${applicable ? (result.liveness.ok ? 'ok' : `VIOLATED (${missed.join('; ')})`) : 'not applicable (more than f faulty)'} expectations=${result.expectations.ok ? 'ok' : problems.join('; ')}`,
  );
  return result;
}
