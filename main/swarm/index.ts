// The swarm coordinator's public surface.
//
// THE INGEST SEAM (for main/mqtt and main/fleet): call
//     swarm.ingest(payload, receivedAt, topic)
// with every raw payload received on `axis/+/omnisight/#` — the bytes or string exactly as they
// arrived (a Buffer is fine), the desktop clock at receipt (ms since epoch) and the topic. It is
// synchronous and never throws: bad messages are counted, audited and refused (or flagged, per
// mode). Register each camera's recorded key and coverage with `swarm.registerCamera(...)` when
// it is registered or redeployed, and `swarm.removeCamera(id)` when it is removed.
import type { SwarmEvent, SwarmQuarantine } from '../../preload/contract';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import { createCoordinator, type Coordinator, type IngestResult, type RawMessage, type VerifiedDetections } from './coordinator';
import type { ZoneConfig } from './coverage';
import type { CameraCoverage, ConfirmedEvent, EquivocationProof, FusionOutput, Zone } from './fusion';
import { createInsights, type Decision, type Insights } from './insights';
import { replayStatements } from './statements';
import type { KeyRegistry, RecordedKey, VerifyMode } from './verify';

export type { CameraCoverage, Zone } from './fusion';
export type { KeyRegistry, RecordedKey, VerifyMode } from './verify';
export type { IngestResult, RawMessage, VerifiedDetections } from './coordinator';
export { keyIdOf } from './envelope';
export { buildCoverage, coverageKey, invert3, type CoverageInput, type Mat3, type ZoneConfig } from './coverage';
export type ZoneSource = 'none' | 'demo' | 'user';

export interface SwarmCamera extends RecordedKey {
  id: string;
  coverage: CameraCoverage;
}

export interface SwarmServiceDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  audit: Pick<AuditLog, 'record'>;
  zones?: readonly Zone[];
  /** Where recorded keys come from; defaults to the keys given to registerCamera. */
  keys?: KeyRegistry;
  heartbeatIntervalMs?: number;
  missedHeartbeats?: number;
  windowMs?: number;
  skewToleranceMs?: number;
  maxF?: number;
  /** Periodic timer; returns a stop function. Injected so tests drive ticks themselves. */
  every?: (ms: number, fn: () => void) => () => void;
  /** Per-report fusion compute, for the performance monitor. */
  onFusionLatency?: (seconds: number, openCandidates: number) => void;
  onIngest?: (r: IngestResult, bytes: number) => void;
}

/**
 * What the swarm has accepted from one camera (by serial): the deploy counts a camera verified only
 * when this shows the new version under the enrolled key, accepted after the install finished.
 */
export interface CameraAcceptance {
  serial: string;
  /** Key id, boot epoch and app version of the last accepted message (version: of the last heartbeat in that key and epoch). */
  key?: string;
  epoch?: number;
  version?: string;
  /** The first accepted message with the current (key, epoch, version). */
  firstAcceptedAt?: number;
  lastAcceptedAt?: number;
  /** Counters since start. */
  accepted: number;
  refused: number;
  /** e.g. "replay (old epoch)", "bad signature", "unknown key". */
  lastRefusal?: { reason: string; at: number };
}

export interface SwarmService {
  ingest(message: unknown, receivedAt: number, topic?: string): IngestResult;
  /**
   * Many raw messages at once (what the MQTT drain calls): verified, their replay state written in
   * one transaction, then fused. Results in the same order.
   */
  ingestBatch(messages: readonly RawMessage[]): IngestResult[];
  /** What the swarm accepted from this camera (see CameraAcceptance). */
  acceptanceOf(serial: string): CameraAcceptance;
  registerCamera(cam: SwarmCamera): void;
  removeCamera(id: string): void;
  tick(): void;
  /** The site zones and where they came from (none yet, seeded from the demo scene, or set by the user). */
  zoneConfig(): { zones: ZoneConfig[]; source: ZoneSource };
  /** Replaces the site zones (persisted); the caller re-registers cameras, whose coverage depends on them. */
  setZoneConfig(zones: readonly ZoneConfig[], source: Exclude<ZoneSource, 'none'>): void;
  /** Called after the zones changed, so camera coverage can be rebuilt. */
  onZonesChanged(listener: () => void): () => void;
  /**
   * Detections of reports the swarm accepted (verified, or let through by the fleet's mode with
   * `flags`) from cameras that are not quarantined; the timeline feeds from here. Returns the unsubscribe.
   */
  onVerifiedDetections(listener: (cameraId: string, frameTs: number, observations: VerifiedDetections['observations'], flags: VerifiedDetections['flags']) => void): () => void;
  coordinator: Coordinator;
  insights: Insights;
  handlers: Handlers;
  close(): void;
}

interface EventRow {
  id: number;
  zone: string;
  cls: string;
  start_ts: number;
  end_ts: number;
  confirmed_at: number;
  confirmers: string;
  disagreed: string;
  flagged: string;
  f: number;
  n: number;
  closed: number;
}
const toEvent = (r: EventRow): SwarmEvent => ({
  id: r.id,
  zone: r.zone,
  cls: r.cls,
  startTs: r.start_ts,
  endTs: r.end_ts,
  confirmedAt: r.confirmed_at,
  confirmers: JSON.parse(r.confirmers) as string[],
  disagreed: JSON.parse(r.disagreed) as string[],
  flagged: JSON.parse(r.flagged) as string[],
  f: r.f,
  n: r.n,
  closed: r.closed === 1,
});
const quarantineDto = (p: EquivocationProof, releasedAt: number | null): SwarmQuarantine => ({
  camera: p.camera,
  reason: p.reason,
  trackId: p.trackId,
  ts: p.ts,
  detectedAt: p.detectedAt,
  first: p.first,
  second: p.second,
  releasedAt,
});

const defaultEvery = (ms: number, fn: () => void): (() => void) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

export function createSwarmService(deps: SwarmServiceDeps): SwarmService {
  const { db, bus, log, now } = deps;
  const recorded = new Map<string, RecordedKey>();
  const keys: KeyRegistry = deps.keys ?? { get: (id) => recorded.get(id) };
  const getState = db.prepare('SELECT value FROM swarm_state WHERE key = ?');
  const setState = db.prepare('INSERT INTO swarm_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  const storedMode = (getState.get('mode') as { value: string } | undefined)?.value;
  const mode: VerifyMode = storedMode === 'permissive' || storedMode === 'audit' ? storedMode : 'strict';
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 1_000;

  const readZones = (): { zones: ZoneConfig[]; source: ZoneSource } => {
    const raw = (getState.get('zones') as { value: string } | undefined)?.value;
    if (!raw) return { zones: deps.zones ? deps.zones.map((z) => ({ ...z, name: z.id, cameras: [] })) : [], source: 'none' };
    try {
      return JSON.parse(raw) as { zones: ZoneConfig[]; source: ZoneSource };
    } catch {
      log.warn('stored swarm zones are not JSON; starting without zones');
      return { zones: [], source: 'none' };
    }
  };
  let zoneState = readZones();
  const zoneListeners = new Set<() => void>();
  const detectionListeners = new Set<Parameters<SwarmService['onVerifiedDetections']>[0]>();

  // Replay state (envelope v2): loaded at start, written back once per ingest batch before the batch
  // has any effect (group commit in coordinator.ingestBatch). What it costs: one SQLite transaction
  // — one WAL fsync with synchronous=FULL, about 1–5 ms on an SSD — per batch, with one upsert per
  // (camera, key) the batch touched (a camera sending 10 messages in a batch is written once).
  // MQTT messages are drained in batches of up to 500 (wiring-swarm), so at 10,000 messages/s the
  // cost is a few dozen fsyncs a second, not 10,000. Writing per message instead would cap ingest
  // at the disk's fsync rate; writing behind (after acting) would let a message accepted just before
  // a crash be replayed once after it.
  const replayDb = replayStatements(db);
  const coordinator = createCoordinator({
    now,
    keys,
    audit: deps.audit,
    mode,
    replayStore: { load: () => replayDb.load(), save: (entries) => replayDb.save(entries, now()) },
    skewToleranceMs: deps.skewToleranceMs,
    fusion: { zones: zoneState.zones, windowMs: deps.windowMs, maxF: deps.maxF },
    topology: { heartbeatIntervalMs, missedHeartbeats: deps.missedHeartbeats },
    onFusionLatency: (s) => deps.onFusionLatency?.(s, coordinator.fusion.openCandidates()),
  });
  const insights = createInsights({ now });

  const insertEvent = db.prepare(
    'INSERT INTO swarm_events (zone, cls, start_ts, end_ts, confirmed_at, confirmers, disagreed, flagged, f, n, closed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const updateEvent = db.prepare('UPDATE swarm_events SET end_ts = ?, confirmers = ?, disagreed = ?, closed = ? WHERE id = ? RETURNING *');
  const insertQuarantine = db.prepare(
    'INSERT INTO swarm_quarantines (camera, reason, track_id, ts, first, second, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const releaseQuarantine = db.prepare('UPDATE swarm_quarantines SET released_at = ?, released_note = ? WHERE camera = ? AND released_at IS NULL');
  const bumpDecision = db.prepare(
    'INSERT INTO swarm_decisions (day, rule, subject, count) VALUES (?, ?, ?, 1) ON CONFLICT(day, rule, subject) DO UPDATE SET count = count + 1',
  );
  // Quarantine survives a restart: it ends only when the user releases the camera.
  for (const q of db.prepare('SELECT * FROM swarm_quarantines WHERE released_at IS NULL ORDER BY id').all() as {
    camera: string;
    reason: string;
    track_id: string;
    ts: number;
    first: string;
    second: string;
    detected_at: number;
  }[])
    coordinator.fusion.quarantine({ camera: q.camera, reason: q.reason, trackId: q.track_id, ts: q.ts, first: q.first, second: q.second, detectedAt: q.detected_at });

  /** fusion's event id → row id, while the event is open */
  const rowOf = new Map<string, number>();

  const summarise = (ds: readonly Decision[]): void => {
    const day = Math.floor(now() / 86_400_000);
    for (const d of ds) {
      bumpDecision.run(day, d.rule, d.zone ?? '*');
      for (const c of [...d.overruled, ...d.quarantined]) bumpDecision.run(day, `${d.rule}:camera`, c);
    }
  };

  const persist = (ev: ConfirmedEvent): SwarmEvent => {
    const id = rowOf.get(ev.id);
    const row = (
      id === undefined
        ? insertEvent.get(ev.zone, ev.cls, ev.startTs, ev.endTs, ev.confirmedAt, JSON.stringify(ev.confirmers), JSON.stringify(ev.disagreed), JSON.stringify(ev.flagged), ev.f, ev.n, ev.closed ? 1 : 0)
        : updateEvent.get(ev.endTs, JSON.stringify(ev.confirmers), JSON.stringify(ev.disagreed), ev.closed ? 1 : 0, id)
    ) as EventRow;
    if (ev.closed) rowOf.delete(ev.id);
    else rowOf.set(ev.id, row.id);
    return toEvent(row);
  };

  const handle = (outputs: readonly FusionOutput[]): void => {
    if (!outputs.length) return;
    db.transaction(() => {
      summarise(insights.record(outputs));
      for (const o of outputs) {
        if (o.type === 'confirmed' || o.type === 'closed') bus.publish('swarm.event', persist(o.event));
        else if (o.type === 'equivocation') {
          const p = o.proof;
          insertQuarantine.run(p.camera, p.reason, p.trackId, p.ts, p.first, p.second, p.detectedAt);
          deps.audit.record({
            kind: 'swarm.quarantined',
            severity: 'critical',
            source: `camera:${p.camera}`,
            message: `Camera ${p.camera} sent two conflicting signed reports (${p.reason}); it is quarantined until you release it.`,
            detail: { trackId: p.trackId, ts: p.ts },
          });
          bus.publish('swarm.quarantine', quarantineDto(p, null));
          bus.publish('app.notification', {
            title: 'Camera quarantined',
            body: `${p.camera} contradicted itself (${p.reason}). Its reports no longer count; look at the proof in the Swarm view.`,
            severity: 'critical',
          });
        }
      }
    })();
  };

  const toText = (message: unknown): string | Uint8Array => {
    if (typeof message === 'string' || message instanceof Uint8Array) return message;
    // An already-parsed envelope: the signature covers the fields, not the JSON text, so re-serialising is exact.
    return JSON.stringify(message) ?? '';
  };

  // ---- acceptance per camera (for the deploy's verification) ----
  const MAX_ACCEPTANCE = 10_000;
  const acceptance = new Map<string, CameraAcceptance>();
  const acceptanceEntry = (serial: string): CameraAcceptance | undefined => {
    let a = acceptance.get(serial);
    if (!a && acceptance.size < MAX_ACCEPTANCE) acceptance.set(serial, (a = { serial, accepted: 0, refused: 0 }));
    return a;
  };
  const noteAcceptance = (r: IngestResult, at: number): void => {
    if (!r.camera) return;
    const a = acceptanceEntry(r.camera);
    if (!a) return;
    if (!r.accepted) {
      a.refused++;
      a.lastRefusal = { reason: r.label, at };
      return;
    }
    if (r.flags.length) {
      // Let through by a permissive fleet, but not verified: not an acceptance of this camera.
      a.refused++;
      a.lastRefusal = { reason: r.flags.join(', ').replace(/_/g, ' '), at };
      return;
    }
    a.accepted++;
    if (a.key !== r.key || a.epoch !== r.epoch) {
      // A new key or boot: the version is known again from this boot's first heartbeat.
      a.key = r.key;
      a.epoch = r.epoch;
      a.version = r.version;
      a.firstAcceptedAt = at;
    } else if (r.version !== undefined && r.version !== a.version) {
      a.version = r.version;
      a.firstAcceptedAt = at;
    }
    a.lastAcceptedAt = at;
  };

  const internalError = (): IngestResult => ({ accepted: false, reason: 'malformed', camera: undefined, detail: 'internal error while ingesting', label: 'internal error', outputs: [] });

  const ingestBatch = (messages: readonly RawMessage[]): IngestResult[] => {
    let results: IngestResult[];
    const texts = messages.map((m) => toText(m.payload));
    try {
      results = coordinator.ingestBatch(messages.map((m, i) => ({ payload: texts[i]!, receivedAt: m.receivedAt, topic: m.topic })));
    } catch (err) {
      // The replay state could not be written: nothing of this batch counts (it was not fused either).
      log.error({ err, messages: messages.length }, 'swarm ingest failed');
      return messages.map(internalError);
    }
    for (const [i, r] of results.entries()) {
      const text = texts[i]!;
      try {
        deps.onIngest?.(r, typeof text === 'string' ? text.length : text.byteLength);
        noteAcceptance(r, messages[i]!.receivedAt);
        handle(r.outputs);
      } catch (err) {
        log.error({ err }, 'swarm: recording an ingested message failed');
      }
      // A failing listener must not turn an accepted report into a refused one.
      if (r.accepted && r.verified) {
        for (const l of detectionListeners) {
          try {
            l(r.camera, r.verified.frameTs, r.verified.observations, r.verified.flags);
          } catch (err) {
            log.error({ err, camera: r.camera }, 'a verified-detections listener failed');
          }
        }
      }
    }
    return results;
  };

  const ingest = (message: unknown, receivedAt: number, topic?: string): IngestResult => {
    try {
      return ingestBatch([{ payload: toText(message), receivedAt, topic }])[0]!;
    } catch (err) {
      log.error({ err }, 'swarm ingest failed');
      return internalError();
    }
  };

  const tick = (): void => {
    const { outputs, topology } = coordinator.tick();
    handle(outputs);
    if (topology.changed) bus.publish('swarm.topology', topology.graph);
  };
  // Ticks at a quarter of the heartbeat interval: a failure is acted on within a quarter interval of its timeout.
  const stop = (deps.every ?? defaultEvery)(Math.max(50, heartbeatIntervalMs / 4), tick);

  const zonesDto = () => ({ zones: zoneState.zones.map((z) => ({ id: z.id, name: z.name, polygon: z.polygon.map((p) => ({ x: p.x, y: p.y })), cameras: [...z.cameras] })), source: zoneState.source });
  const setZoneConfig = (zones: readonly ZoneConfig[], source: Exclude<ZoneSource, 'none'>): void => {
    zoneState = { zones: zones.map((z) => ({ id: z.id, name: z.name, polygon: z.polygon.map((p) => ({ x: p.x, y: p.y })), cameras: [...z.cameras] })), source };
    setState.run('zones', JSON.stringify(zoneState));
    coordinator.fusion.setZones(zoneState.zones);
    for (const l of zoneListeners) l();
    bus.publish('swarm.zones', zonesDto());
  };

  const handlers: Handlers = {
    'swarm.zones': () => zonesDto(),
    'swarm.setZones': ({ zones }) => {
      setZoneConfig(zones, 'user');
      deps.audit.record({ kind: 'swarm.zones', severity: 'info', source: 'swarm', message: `Site zones set: ${zones.map((z) => z.name).join(', ') || 'none'}.`, detail: { count: zones.length } });
      return zonesDto();
    },
    'swarm.status': () => {
      const counts = coordinator.verifier.counts();
      return {
        mode: coordinator.verifier.mode(),
        graph: coordinator.topology.graph(),
        zones: coordinator.fusion.zones(),
        quarantined: coordinator.fusion.quarantined().map((p) => quarantineDto(p, null)),
        rejected: { total: Object.values(counts.byReason).reduce((a, b) => a + b, 0), byReason: counts.byReason },
        accepted: counts.accepted,
      };
    },
    'swarm.events': ({ limit, beforeId, zone }) => {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (zone) {
        where.push('zone = ?');
        args.push(zone);
      }
      const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = (db.prepare(`SELECT count(*) AS n FROM swarm_events ${filter}`).get(...args) as { n: number }).n;
      if (beforeId) {
        where.push('id < ?');
        args.push(beforeId);
      }
      const page = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const rows = db.prepare(`SELECT * FROM swarm_events ${page} ORDER BY id DESC LIMIT ?`).all(...args, limit) as EventRow[];
      return { events: rows.map(toEvent), total };
    },
    'swarm.release': ({ camera, note }) => {
      const proof = coordinator.fusion.quarantined().find((p) => p.camera === camera);
      if (!proof) {
        if (!coordinator.fusion.zoneOf(camera).length && !recorded.has(camera)) throw notFound(`Camera ${camera}`);
        throw new AppError('conflict', `Camera ${camera} is not quarantined; nothing to release.`);
      }
      coordinator.release(camera);
      const at = now();
      releaseQuarantine.run(at, note ?? null, camera);
      summarise([insights.released(camera, note)]);
      deps.audit.record({ kind: 'swarm.released', severity: 'warning', source: `camera:${camera}`, message: `Camera ${camera} was released from quarantine; its reports count again.`, detail: { note: note ?? null } });
      bus.publish('swarm.quarantine', quarantineDto(proof, at));
      return { camera, released: true };
    },
    'swarm.setMode': ({ mode: m }) => {
      coordinator.verifier.setMode(m);
      setState.run('mode', m);
      deps.audit.record({ kind: 'swarm.mode', severity: m === 'strict' ? 'info' : 'warning', source: 'swarm', message: `Report verification set to ${m}.`, detail: { mode: m } });
      return { mode: m };
    },
    'swarm.insights': ({ recent }) => ({
      patterns: insights.patterns(coordinator.fusion.zones(), coordinator.fusion.quarantined().map((q) => q.camera)),
      byRule: insights.byRule(),
      recent: insights.recent(recent),
    }),
  };

  return {
    ingest,
    ingestBatch,
    acceptanceOf: (serial) => {
      const a = acceptance.get(serial);
      return a ? { ...a, ...(a.lastRefusal ? { lastRefusal: { ...a.lastRefusal } } : {}) } : { serial, accepted: 0, refused: 0 };
    },
    registerCamera(cam) {
      recorded.set(cam.id, { keyId: cam.keyId, publicKey: cam.publicKey });
      coordinator.addCamera(cam.id, cam.coverage);
      if (coordinator.fusion.isQuarantined(cam.id)) coordinator.topology.setQuarantined(cam.id, true);
    },
    removeCamera(id) {
      recorded.delete(id);
      coordinator.removeCamera(id);
    },
    tick,
    zoneConfig: () => zoneState,
    setZoneConfig,
    onZonesChanged(listener) {
      zoneListeners.add(listener);
      return () => zoneListeners.delete(listener);
    },
    onVerifiedDetections(listener) {
      detectionListeners.add(listener);
      return () => detectionListeners.delete(listener);
    },
    coordinator,
    insights,
    handlers,
    close: stop,
  };
}
