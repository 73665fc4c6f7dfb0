// One deterministic simulation run: a ground truth of events in two zones, n cameras (some faulty
// as the scenario says), a network with delays, drops, partitions and reordering, an attacker that
// replays or forges messages, and the real coordinator. Cameras are open-loop (they do not react to
// the coordinator), so every message is generated up front and then delivered in time order
// against an injected clock. Every run ends with the safety and liveness checkers.
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
  mirrored: boolean;
  crashAt?: number;
  partition?: [number, number];
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
  f: number;
  cameras: SimCamera[];
  truth: TrueEvent[];
  confirmed: ConfirmedEvent[];
  quarantined: string[];
  rejected: Partial<Record<RejectReason, number>>;
  safety: { ok: boolean; violations: string[] };
  liveness: { ok: boolean; applicable: boolean; missed: string[] };
  /** Scenario-specific checks (replays all refused, equivocators quarantined, crashes detected). */
  expectations: { ok: boolean; problems: string[] };
  trace: string[];
}

export const SIM_WINDOW_MS = 1_000;
const DURATION_MS = 6_000;
const TICK_MS = 250;
const EVENT_FRAMES = [40, 240]; // an event is seen on two frames this long after it happens

const zones: Zone[] = [
  { id: 'Z0', polygon: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] },
  { id: 'Z1', polygon: [{ x: 1, y: 0 }, { x: 2, y: 0 }, { x: 2, y: 1 }, { x: 1, y: 1 }] },
];
const cameraId = (i: number): string => `B8A44F${(i + 1).toString(16).toUpperCase().padStart(6, '0')}`;

interface Msg {
  at: number; // delivery time
  order: number;
  camera: string;
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
  fusion?: { maxF?: number; windowMs?: number };
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

  const n = [4, 5, 7][randInt(rnd, 0, 2)]!;
  const f = Math.floor((n - 1) / 3);
  const roles: Role[] = [];
  const push = (role: Role, k: number) => {
    for (let i = 0; i < k; i++) roles.push(role);
  };
  push('crashed', spec.crashed(f));
  push('partitioned', spec.partitioned(f));
  push('liar', spec.liars(f));
  push('equivocator', spec.equivocators(f));
  while (roles.length < n) roles.push('honest');
  const assigned = shuffled(rnd, roles);
  const cams: SimCamera[] = assigned.map((role, i) => {
    const c: SimCamera = { id: cameraId(i), role, mirrored: rnd() < 0.5 };
    if (role === 'crashed') c.crashAt = randInt(rnd, 0, 4_000);
    if (role === 'partitioned') {
      const a = randInt(rnd, 0, 3_000);
      c.partition = [a, a + 3_000];
    }
    return c;
  });
  const byId = new Map(cams.map((c) => [c.id, c]));
  const isByzantine = (c: SimCamera) => c.role === 'liar' || c.role === 'equivocator';

  const truth: TrueEvent[] = [];
  const eventCount = spec.signed ? 1 : randInt(rnd, 1, 2);
  for (let i = 0; i < eventCount; i++) {
    const z = randInt(rnd, 0, 1);
    truth.push({ id: i + 1, zone: `Z${z}`, cls: rnd() < 0.5 ? 'Human' : 'Car', t: randInt(rnd, 500, 4_000), x: z + 0.1 + 0.8 * rnd(), y: 0.1 + 0.8 * rnd() });
  }
  // Colluding liars agree on the same invented events (a class that never truly occurs).
  const fakes: TrueEvent[] = [];
  for (let i = 0; i < randInt(rnd, 1, 2); i++) {
    const z = randInt(rnd, 0, 1);
    fakes.push({ id: 100 + i, zone: `Z${z}`, cls: 'Animal', t: randInt(rnd, 500, 4_000), x: z + 0.5, y: 0.5 });
  }

  const boxFor = (c: SimCamera, x: number, y: number) => {
    const cx = Math.min(0.95, Math.max(0.05, c.mirrored ? (2 - x) / 2 : x / 2 + (rnd() - 0.5) * 0.004));
    const cy = Math.min(0.95, Math.max(0.05, y));
    return { left: cx - 0.03, top: cy - 0.05, right: cx + 0.03, bottom: cy + 0.05 };
  };

  // ---- messages each camera sends ----
  const msgs: Msg[] = [];
  /** What honest cameras (including crashed and partitioned ones) actually reported: the safety reference. */
  const honestSaw: { zone: string; cls: ObjectClass; ts: number }[] = [];
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
    const phase = randInt(rnd, 0, FRAME_EVERY_MS - 1);
    const frames = new Map<number, Observation[]>();
    if (!spec.signed) for (let t = phase; t < DURATION_MS; t += FRAME_EVERY_MS) frames.set(t, []);
    const seen = c.role === 'liar' ? fakes : truth;
    for (const e of seen) {
      for (const dt of EVENT_FRAMES) {
        const ts = e.t + dt + randInt(rnd, 0, 20);
        const list = frames.get(ts) ?? [];
        list.push({ box: boxFor(c, e.x, e.y), cls: e.cls, trackId: String(e.id), ts });
        frames.set(ts, list);
      }
    }
    let equivocated = false;
    for (const ts of [...frames.keys()].sort((a, b) => a - b)) {
      if (c.crashAt !== undefined && ts >= c.crashAt) break;
      const obs = frames.get(ts)!;
      const sent = ts + randInt(rnd, 5, 30);
      deliver({ camera: c.id, seq: ++seq, sent, frameTs: ts, obs, origin: 'camera' });
      if (!isByzantine(c)) for (const o of obs) honestSaw.push({ zone: truth.find((e) => String(e.id) === o.trackId)!.zone, cls: o.cls, ts: o.ts });
      if (c.role === 'equivocator' && !equivocated && obs.length) {
        // Same track, same frame time, another class: a second signed statement contradicting the first.
        equivocated = true;
        deliver({ camera: c.id, seq: ++seq, sent: sent + 1, frameTs: ts, obs: obs.map((o) => ({ ...o, cls: 'Animal' as const })), origin: 'camera' });
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
      zones: ['Z0', 'Z1'],
      toGround: (b) => {
        const cx = (b.left + b.right) / 2;
        return { x: c.mirrored ? 2 - 2 * cx : 2 * cx, y: (b.top + b.bottom) / 2 };
      },
    });

  const confirmed: ConfirmedEvent[] = [];
  const confirmedAt = new Map<string, number>();
  const rejected: Partial<Record<RejectReason, number>> = {};
  const rejectedByOrigin = { camera: 0, replay: 0, forgery: 0 };
  const topoDetected = new Map<string, number>();
  const handle = (outs: FusionOutput[]): void => {
    for (const o of outs) {
      if (o.type === 'confirmed') {
        confirmed.push(o.event);
        confirmedAt.set(o.event.id, clock);
        log?.(`t=${clock} decision confirmed ${o.event.id} zone=${o.event.zone} class=${o.event.cls} by=${o.event.confirmers.join(',')} (f=${o.event.f}, n=${o.event.n})`);
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
  log?.(`run scenario=${scenario} seed=${seed} n=${n} f=${f} cameras=${cams.map((c) => `${c.id}:${c.role}${c.mirrored ? '/mirrored' : ''}`).join(' ')}`);
  log?.(`truth ${truth.map((e) => `#${e.id} ${e.cls}@${e.zone} t=${e.t}`).join('; ')}`);

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
    log?.(`t=${clock} deliver ${m.origin} camera=${m.camera} seq=${m.seq} sent=${m.sent} frame=${m.frameTs} obs=[${m.obs.map((o) => `${o.cls}#${o.trackId}`).join(',')}]`);
    if (spec.signed) {
      if (!m.payload) {
        const key = m.origin === 'forgery' ? forger! : simKey(m.camera);
        m.payload = sealEnvelope({ camera: m.camera, seq: m.seq, sent: m.sent, kind: 'detections', key: simKey(m.camera).keyId, body }, key.privateKey);
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
  const violations: string[] = [];
  for (const e of confirmed) {
    const ok = honestSaw.some((h) => h.zone === e.zone && h.cls === e.cls && h.ts >= e.startTs - W && h.ts <= e.endTs + W);
    if (!ok) violations.push(`${e.id}: ${e.cls} in ${e.zone} at ${e.startTs}–${e.endTs} confirmed by ${e.confirmers.join(',')} but no honest camera saw it`);
  }
  const faulty = cams.filter((c) => c.role !== 'honest').length;
  const applicable = spec.expectLive && faulty <= f && n >= 2 * f + 1;
  const deadline = EVENT_FRAMES[1]! + 20 + 30 + dHi + TICK_MS + 500;
  const missed: string[] = [];
  if (applicable)
    for (const t of truth) {
      const hit = confirmed.some(
        (e) => e.zone === t.zone && e.cls === t.cls && e.startTs <= t.t + EVENT_FRAMES[1]! + 20 + W && e.endTs >= t.t - W && confirmedAt.get(e.id)! <= t.t + deadline,
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
    f,
    cameras: cams,
    truth,
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
