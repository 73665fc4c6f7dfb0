// The swarm coordinator's public surface.
//
// THE INGEST SEAM, the one trust path for camera messages: every raw payload received on
// `axis/+/omnisight/#` goes to `swarm.ingestBatch([{ payload, receivedAt, topic }])` (or `ingest`
// for one) exactly as it arrived. The swarm is the only parser of a camera message (envelope and
// body, verify.ts) and decides trust; what it verified then reaches the rest of the product through
// it: `onDetectionsShowable` (a report's tile boxes, once checked and before its replay commit),
// `onMessage` (the fleet's live status, tile boxes and the deploy's heartbeats, after that commit),
// `onVerifiedDetections` (the timeline), fusion (confirmed events). Nothing else parses these
// messages. It is synchronous and never throws: bad messages are counted, audited and refused.
// Register each camera's recorded key and coverage with `swarm.registerCamera(...)` when it is
// registered or redeployed, and `swarm.removeCamera(serial)` when it is removed. The swarm knows a
// camera by its serial, the name it signs its messages with (the envelope's `camera`); the app's
// camera id (CameraId) is the fleet's, which alone maps a serial to it (FleetService.cameraIdOf).
import type { SwarmEvent, SwarmQuarantine } from '../../preload/contract';
import type { DetectionsBody, Envelope, FlBody, HeartbeatBody } from './envelope';
import type { AuditLog } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import type { Db } from '../store';
import { performance } from 'node:perf_hooks';
import { createCoordinator, type Coordinator, type IngestResult, type RawMessage, type StagedBatch, type VerifiedDetections } from './coordinator';
import type { ReplayEntry } from './replay';
import type { ReplayWriter } from './replay-writer';
import type { ZoneConfig } from './coverage';
import type { CameraCoverage, ConfirmedEvent, DetectionOutcome, EquivocationProof, FusionOutput, Zone } from './fusion';
import type { DesktopSessionKey } from './session';
import { createInsights, type Decision, type Insights } from './insights';
import { swarmStatements, type StoredEvent } from './statements';
import { formReasons, type KeyRegistry, type RecordedKey, type RejectReason, type VerifyMode, type VerifyResult, type WorkerVerdict } from './verify';
import { readableReason } from './quarantine-text';

export type { CameraCoverage, DetectionOutcome, Zone } from './fusion';
export type { KeyRegistry, RecordedKey, VerifyMode } from './verify';
export type { IngestResult, RawMessage, VerifiedDetections } from './coordinator';
export { loadDesktopSessionKey, SESSION_KEY_TOPIC, type DesktopSessionKey } from './session';
export { createSessionNotices, sessionNotice, sessionNoticeTopic } from './session-notice';
export { createVerifyPool, type VerifyPool, type VerifyPoolOptions } from './verify-pool';
export { claimsFl, FL_TOPIC_SUFFIX, isFlOnlyBatch, type FlEvidence } from './fl-batch';
export { createReplayWriter, REPLAY_FILE, type ReplayWriter, type ReplayWriterOptions } from './replay-writer';
export type { WorkerVerdict } from './verify';
/** A message a verification worker checked, with what the service needs to account for it. */
export interface CheckedMessage {
  verdict: WorkerVerdict;
  receivedAt: number;
  topic?: string;
  bytes: number;
}
export { keyIdOf, type DetectionsBody, type Envelope, type HeartbeatBody } from './envelope';
export type { RejectReason } from './verify';

/**
 * A camera message after the swarm's checks. `verified: true`: every check passed. `verified:
 * false` only in permissive mode, for a well-formed report that failed a trust check: it may be
 * shown, marked as unverified, and must count for nothing (no liveness, no fusion, no timeline).
 */
export type CameraMessage =
  | { kind: 'detections'; serial: string; envelope: Envelope; body: DetectionsBody; receivedAt: number; verified: boolean }
  | { kind: 'heartbeat'; serial: string; envelope: Envelope; body: HeartbeatBody; receivedAt: number; verified: boolean };

/**
 * A detections report that passed every check (onDetectionsShowable), before its replay state is
 * committed: what a tile may draw, and nothing else.
 */
export type ShowableDetections = Extract<CameraMessage, { kind: 'detections' }> & { verified: true };

/** A verified federated-learning message (envelope kind "fl"): only these reach the federated server. */
export interface VerifiedFlMessage {
  serial: string;
  envelope: Envelope;
  body: FlBody;
  receivedAt: number;
}

/** A message refused because it is not well-formed (size, JSON, envelope, topic, body). */
export interface BadMessage {
  /** The envelope's camera, else the serial in the topic, else "unknown". */
  serial: string;
  topic: string;
  reason: RejectReason;
  message: string;
  bytes: number;
}
export { buildCoverage, coverageKey, invert3, zoneShareInView, MIN_ZONE_SHARE, type CoverageInput, type ImagePoint, type Mat3, type ZoneConfig } from './coverage';
export type ZoneSource = 'none' | 'demo' | 'user';

/** A verified detections report of one camera (onVerifiedDetectionsBatch). */
export interface VerifiedDetectionsOf extends VerifiedDetections {
  serial: string;
}

export interface SwarmCamera extends RecordedKey {
  /** The camera's serial: what it signs its messages with (not the fleet's camera id). */
  serial: string;
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
  /** The desktop's X25519 session key (envelope v3, loadDesktopSessionKey); without it cameras stay on v2. */
  sessionKey?: DesktopSessionKey;
  /**
   * Where the replay state is made durable off this thread (createReplayWriter; the app passes
   * one). Without it the replay state is committed in the main database on this thread.
   */
  replayWriter?: ReplayWriter;
  /** Per pipelined batch (submitBatch / submitChecked): where its time went, ms. For the benchmark and the perf view. */
  onBatchTiming?: (t: BatchTiming) => void;
}

/** One pipelined batch: checks on this thread, the wait for its replay commit, acting on it. */
export interface BatchTiming {
  messages: number;
  stageMs: number;
  /** From the end of the checks until the batch could be acted on (its commit, and the batches before it). */
  commitWaitMs: number;
  applyMs: number;
  /** When the checks started and when acting on it ended (performance.now(), ms): lets a benchmark line stalls up with reports. */
  startedAt?: number;
  endedAt?: number;
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
  /**
   * Set while the camera is quarantined (it signed two conflicting reports): its reports are still
   * accepted (counted above) but count for nothing (no fusion, no timeline, no outcomes).
   */
  quarantined?: { reason: string; at: number };
}

/** The ingest queue in front of the swarm, as last reported. */
export interface IngestBacklog {
  /** Messages waiting for verification. */
  queued: number;
  /** How long the oldest of them has waited, ms. */
  oldestMs: number;
  /** Messages dropped since start because the desktop was behind (oldest first). */
  shed: number;
  /** Batches at the verification workers. */
  inFlight: number;
}

export interface SwarmService {
  ingest(message: unknown, receivedAt: number, topic?: string): IngestResult;
  /**
   * Many raw messages at once (what the MQTT drain calls): verified, their replay state written in
   * one transaction, then fused. Results in the same order.
   */
  ingestBatch(messages: readonly RawMessage[]): IngestResult[];
  /**
   * The same for messages a verification worker already parsed and signature-checked
   * (createVerifyPool): the stateful checks, the replay write and fusion happen here.
   */
  ingestChecked(items: readonly CheckedMessage[]): IngestResult[];
  /**
   * The pipelined forms of ingestBatch / ingestChecked (what the MQTT link calls): the checks run
   * now; with a replay writer the batch's replay state is committed on the writer's thread while
   * this thread goes on, and the batch is acted on (fused, shown, persisted) once that commit is
   * done, after every batch submitted before it. A failed commit acts on nothing of the batch (every
   * result is an internal-error refusal). Without a writer, the same as the synchronous forms.
   * Do not mix with the synchronous forms while submitted batches are pending: those act at once.
   */
  submitBatch(messages: readonly RawMessage[]): Promise<IngestResult[]>;
  submitChecked(items: readonly CheckedMessage[]): Promise<IngestResult[]>;
  /** Submitted batches not acted on yet. */
  pendingBatches(): number;
  /**
   * What the ingest in front of the swarm (main/app wiring-swarm) is holding: shown in swarm.status,
   * so a desktop that falls behind its fleet says so instead of only getting slower.
   */
  reportBacklog(b: IngestBacklog): void;
  /** What the swarm accepted from this camera (see CameraAcceptance). */
  acceptanceOf(serial: string): CameraAcceptance;
  registerCamera(cam: SwarmCamera): void;
  removeCamera(serial: string): void;
  tick(): void;
  /** The site zones and where they came from (none yet, seeded from the demo scene, or set by the user). */
  zoneConfig(): { zones: ZoneConfig[]; source: ZoneSource };
  /** Replaces the site zones (persisted); the caller re-registers cameras, whose coverage depends on them. */
  setZoneConfig(zones: readonly ZoneConfig[], source: Exclude<ZoneSource, 'none'>): void;
  /** Called after the zones changed, so camera coverage can be rebuilt. */
  onZonesChanged(listener: () => void): () => void;
  /**
   * Detections of reports the swarm verified (every check passed, in every mode) from cameras that
   * are not quarantined; the timeline feeds from here. Returns the unsubscribe.
   */
  onVerifiedDetections(listener: (serial: string, frameTs: number, observations: VerifiedDetections['observations']) => void): () => void;
  /** The same detections, once per ingested batch (in order): what the timeline takes in one call. */
  onVerifiedDetectionsBatch(listener: (items: readonly VerifiedDetectionsOf[]) => void): () => void;
  /**
   * Every detections report that passed all the checks (signature or MAC, key, clock, replay
   * window), as soon as it did: with a replay writer, before its replay state is committed and
   * before anything acts on it (then onMessage follows for the same report, once committed; a failed
   * commit refuses it after it was shown). For display only — the boxes on a tile: fusion, events,
   * the timeline, reputation, liveness and acceptance wait for the commit (onMessage and the rest).
   * Why that split is safe: docs/protocol.md, "Showing a report before its commit".
   */
  onDetectionsShowable(listener: (m: ShowableDetections) => void): () => void;
  /** Every verified message, and in permissive mode unverified reports to show marked (see CameraMessage). */
  onMessage(listener: (m: CameraMessage) => void): () => void;
  /** Messages refused as not well-formed (the fleet counts them as bad input on the camera). */
  onRefused(listener: (b: BadMessage) => void): () => void;
  /**
   * Federated-learning messages that passed every check (signature, recorded key, epoch, replay),
   * in every mode; never an unverified one. The federated server's only input from cameras.
   */
  onVerifiedFl(listener: (m: VerifiedFlMessage) => void): () => void;
  /** What became of verified detections, by (camera, epoch, seq, index): the cameras' labels (fl2 outcomes). */
  onOutcomes(listener: (items: DetectionOutcome[]) => void): () => void;
  coordinator: Coordinator;
  insights: Insights;
  handlers: Handlers;
  close(): void;
}

const toEvent = (r: StoredEvent): SwarmEvent => ({
  id: r.id,
  zone: r.zone,
  cls: r.cls,
  startTs: r.start_ts,
  endTs: r.end_ts,
  confirmedAt: r.confirmed_at,
  confirmers: r.confirmers,
  disagreed: r.disagreed,
  flagged: r.flagged,
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

/**
 * The replay state from before the writer's file existed (the main database's table) merged with
 * the file's: per (camera, key) the later state wins (higher epoch, else higher seq).
 */
export function mergeReplay(older: readonly ReplayEntry[], newer: readonly ReplayEntry[]): ReplayEntry[] {
  const out = new Map<string, ReplayEntry>();
  for (const e of [...older, ...newer]) {
    const k = `${e.camera}|${e.key}`;
    const cur = out.get(k);
    if (!cur || e.epoch > cur.epoch || (e.epoch === cur.epoch && e.highest >= cur.highest)) out.set(k, e);
  }
  return [...out.values()];
}

const defaultEvery = (ms: number, fn: () => void): (() => void) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

export function createSwarmService(deps: SwarmServiceDeps): SwarmService {
  const { db, bus, log, now } = deps;
  const writer = deps.replayWriter;
  const recorded = new Map<string, RecordedKey>();
  const keys: KeyRegistry = deps.keys ?? { get: (id) => recorded.get(id) };
  const sql = swarmStatements(db);
  const storedMode = sql.getState('mode');
  const mode: VerifyMode = storedMode === 'permissive' || storedMode === 'audit' ? storedMode : 'strict';
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 1_000;

  const readZones = (): { zones: ZoneConfig[]; source: ZoneSource } => {
    try {
      const stored = sql.readZones();
      if (stored) return stored;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'the stored swarm zones are unreadable; starting without zones');
      return { zones: [], source: 'none' };
    }
    return { zones: deps.zones ? deps.zones.map((z) => ({ ...z, name: z.id, cameras: [] })) : [], source: 'none' };
  };
  let zoneState = readZones();
  const zoneListeners = new Set<() => void>();
  const outcomeListeners = new Set<(items: DetectionOutcome[]) => void>();
  const detectionListeners = new Set<Parameters<SwarmService['onVerifiedDetections']>[0]>();
  const detectionBatchListeners = new Set<Parameters<SwarmService['onVerifiedDetectionsBatch']>[0]>();

  // Replay state (envelope v2): loaded at start, written back once per ingest batch before the batch
  // has any effect (group commit), so a message accepted just before a crash is refused after it;
  // writing it behind (after acting) would let such a message be replayed once. What it costs: one
  // SQLite commit — one WAL fsync with synchronous=FULL, about 2–5 ms on an idle SSD, 10–40 ms on a
  // busy disk — with one upsert per (camera, key) the batch touched.
  //  - With a replay writer (the app): that commit runs on the writer's thread, in its own file
  //    (replay-writer.ts says why), grouping whatever batches arrive during one fsync; the link
  //    submits batches (submitChecked) and each is acted on when its commit answers, in order. The
  //    refusals' audit rows go to the main database written behind.
  //  - Without one (tests, scripts): the commit runs here, in the main database, with the refusals'
  //    audit rows in the same transaction.
  // What a batch produced (events, counters) is then committed written behind (statements.writtenBehind).
  const coordinator = createCoordinator({
    now,
    keys,
    audit: deps.audit,
    mode,
    // Should the writer's thread be gone, the replay state is committed here again, in the main
    // database (whose rows are merged at the next start): slower, but nothing is acted on unwritten
    // and the swarm keeps working, as verification falls back to this thread when its workers fail.
    replayStore: writer
      ? { load: () => mergeReplay(sql.loadReplay(), writer.load()), save: (entries) => (writer.broken() ? sql.saveReplay(entries, now()) : writer.commitSync(entries, true, now())) }
      : { load: () => sql.loadReplay(), save: (entries) => sql.saveReplay(entries, now()) },
    skewToleranceMs: deps.skewToleranceMs,
    sessionKey: deps.sessionKey,
    fusion: { zones: zoneState.zones, windowMs: deps.windowMs, maxF: deps.maxF, onOutcomes: (items) => emit(outcomeListeners, items) },
    topology: { heartbeatIntervalMs, missedHeartbeats: deps.missedHeartbeats },
    onFusionLatency: (s) => deps.onFusionLatency?.(s, coordinator.fusion.openCandidates()),
    // A batch of fl messages only is written behind (coordinator: flOnly); every other batch is on disk before it counts.
    // With a writer, the main database holds only the refusals' audit rows of a batch: written behind.
    transaction: (fn, durable) => (durable && !writer ? sql.transaction(fn) : sql.writtenBehind(fn)),
  });
  const insights = createInsights({ now });

  // Quarantine survives a restart: it ends only when the user releases the camera.
  for (const q of sql.openQuarantines()) coordinator.fusion.quarantine(q);

  /** fusion's event id → row id, while the event is open */
  const rowOf = new Map<string, number>();

  const summarise = (ds: readonly Decision[]): void => {
    const day = Math.floor(now() / 86_400_000);
    for (const d of ds) {
      sql.bumpDecision(day, d.rule, d.zone ?? '*');
      for (const c of [...d.overruled, ...d.quarantined]) sql.bumpDecision(day, `${d.rule}:camera`, c);
    }
  };

  const persist = (ev: ConfirmedEvent): SwarmEvent => {
    const id = rowOf.get(ev.id);
    const row = id === undefined ? sql.insertEvent(ev) : sql.updateEvent(id, ev);
    if (ev.closed) rowOf.delete(ev.id);
    else rowOf.set(ev.id, row.id);
    return toEvent(row);
  };

  const handle = (outputs: readonly FusionOutput[]): void => {
    if (!outputs.length) return;
    sql.transaction(() => {
      summarise(insights.record(outputs));
      for (const o of outputs) {
        if (o.type === 'confirmed' || o.type === 'closed') bus.publish('swarm.event', persist(o.event));
        else if (o.type === 'equivocation') {
          const p = o.proof;
          sql.insertQuarantine(p);
          deps.audit.record({
            kind: 'swarm.quarantined',
            severity: 'critical',
            source: `camera:${p.camera}`,
            message: `Camera ${p.camera} sent two conflicting signed reports (${readableReason(p)}); it is quarantined until you release it.`,
            detail: { trackId: p.trackId, ts: p.ts },
          });
          bus.publish('swarm.quarantine', quarantineDto(p, null));
          bus.publish('app.notification', {
            title: 'Camera quarantined',
            body: `${p.camera} contradicted itself (${readableReason(p)}). Its reports no longer count; look at the proof in the Swarm view.`,
            severity: 'critical',
          });
        }
      }
    });
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

  let backlog: IngestBacklog = { queued: 0, oldestMs: 0, shed: 0, inFlight: 0 };
  // Median (receipt − sent) of the last batch's accepted reports: how late reports reach the desktop
  // at all. A queue in front of the desktop (the broker's queue for it, its socket) is invisible to
  // the ingest queue's age; with cameras on NTP, the median over a batch shows it (one camera's skew
  // does not move a median).
  let transitMs: number | null = null;
  const noteTransit = (results: readonly IngestResult[]): void => {
    const d: number[] = [];
    for (const r of results) if (r.accepted) d.push(r.message.receivedAt - r.message.envelope.sent);
    if (!d.length) return;
    d.sort((a, b) => a - b);
    transitMs = d[Math.floor(d.length / 2)]!;
  };

  const messageListeners = new Set<(m: CameraMessage) => void>();
  const showableListeners = new Set<(m: ShowableDetections) => void>();
  const refusedListeners = new Set<(b: BadMessage) => void>();
  const flListeners = new Set<(m: VerifiedFlMessage) => void>();
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, 'a swarm message listener failed');
    }
  };
  const emit = <T>(listeners: Set<(x: T) => void>, x: T): void => {
    for (const l of listeners) guard(() => l(x));
  };

  const internalError = (): IngestResult => ({ accepted: false, reason: 'malformed', camera: undefined, detail: 'internal error while ingesting', label: 'internal error', outputs: [] });

  const ingestBatch = (messages: readonly RawMessage[]): IngestResult[] => {
    const texts = messages.map((m) => toText(m.payload));
    const meta = messages.map((m, i) => ({ receivedAt: m.receivedAt, topic: m.topic, bytes: byteLength(texts[i]!) }));
    return run(meta, () => showAccepted(coordinator.ingestBatch(messages.map((m, i) => ({ payload: texts[i]!, receivedAt: m.receivedAt, topic: m.topic })))));
  };

  const ingestChecked = (items: readonly CheckedMessage[]): IngestResult[] =>
    run(
      items.map((x) => ({ receivedAt: x.receivedAt, topic: x.topic, bytes: x.bytes })),
      () => showAccepted(coordinator.ingestChecked(items)),
    );

  // Display before the commit (onDetectionsShowable). In the pipelined path the staged verdicts are
  // shown as soon as the checks end; the synchronous path commits within the call, so it shows its
  // accepted reports just before acting on them, for one rule in both.
  const show = (m: VerifyResult): void => {
    if (!m.ok || m.message.data.kind !== 'detections') return;
    const v = m.message;
    emit(showableListeners, { kind: 'detections', serial: v.envelope.camera, envelope: v.envelope, body: v.data.body as DetectionsBody, receivedAt: v.receivedAt, verified: true });
  };
  const showStaged = (staged: StagedBatch): void => {
    if (showableListeners.size) for (const v of staged.verdicts) show(v);
  };
  const showAccepted = (results: IngestResult[]): IngestResult[] => {
    if (showableListeners.size) for (const r of results) if (r.accepted) show({ ok: true, message: r.message });
    return results;
  };

  // ---- pipelined group commit (with a replay writer) ----
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let writerGone = false;
  const submit = (meta: readonly { receivedAt: number; topic?: string; bytes: number }[], stageFn: () => StagedBatch): Promise<IngestResult[]> => {
    const w = writer!;
    const t0 = performance.now();
    let staged: StagedBatch;
    try {
      staged = stageFn();
    } catch (err) {
      log.error({ err, messages: meta.length }, 'swarm ingest failed');
      return Promise.resolve(meta.map(internalError));
    }
    const t1 = performance.now();
    // Its boxes may be drawn now; nothing else of it counts until its commit (applyStaged below).
    showStaged(staged);
    const gone = w.broken();
    if (gone && !writerGone) {
      writerGone = true;
      log.error({ err: gone }, 'swarm: the replay writer thread is gone; committing the replay state on the main thread from now on');
    }
    const written = !staged.delta.length
      ? Promise.resolve()
      : gone
        ? tail.then(() => sql.transaction(() => sql.saveReplay(staged.delta, now()))) // in turn, after the batches before it
        : w.commit(staged.delta, staged.durable, now());
    // An fl-only batch (durable false) is written behind, as before the writer thread: acted on once
    // the batches before it are, without waiting for its own commit (why that is safe for fl:
    // coordinator.ts, flOnly). Should that write fail, its entries go again with the next batch.
    const gate = staged.durable ? written : Promise.resolve();
    written.catch((err: unknown) => {
      if (staged.durable) return; // handled below, in turn (this only keeps an early failure from counting as unhandled)
      coordinator.verifier.markDirty(staged.delta);
      log.error({ err, messages: meta.length }, 'swarm: writing the replay state of an fl batch behind failed; it goes with the next batch');
    });
    pending++;
    const done = tail
      .then(() => gate)
      .then(
        () => {
          const t2 = performance.now();
          const results = run(meta, () => coordinator.applyStaged(staged));
          const t3 = performance.now();
          deps.onBatchTiming?.({ messages: meta.length, stageMs: t1 - t0, commitWaitMs: t2 - t1, applyMs: t3 - t2, startedAt: t0, endedAt: t3 });
          return results;
        },
        (err: unknown) => {
          // Not on disk: nothing of this batch is acted on. Its entries are written again with the next batch.
          coordinator.verifier.markDirty(staged.delta);
          log.error({ err, messages: meta.length }, 'swarm: the replay state of a batch could not be committed; its messages are refused');
          return meta.map(internalError);
        },
      )
      .finally(() => {
        pending--;
      });
    tail = done;
    return done;
  };
  const submitBatch = (messages: readonly RawMessage[]): Promise<IngestResult[]> => {
    if (!writer) return Promise.resolve(ingestBatch(messages));
    const texts = messages.map((m) => toText(m.payload));
    const meta = messages.map((m, i) => ({ receivedAt: m.receivedAt, topic: m.topic, bytes: byteLength(texts[i]!) }));
    return submit(meta, () => coordinator.stageBatch(messages.map((m, i) => ({ payload: texts[i]!, receivedAt: m.receivedAt, topic: m.topic }))));
  };
  const submitChecked = (items: readonly CheckedMessage[]): Promise<IngestResult[]> => {
    if (!writer) return Promise.resolve(ingestChecked(items));
    return submit(
      items.map((x) => ({ receivedAt: x.receivedAt, topic: x.topic, bytes: x.bytes })),
      () => coordinator.stageChecked(items),
    );
  };

  const byteLength = (t: string | Uint8Array): number => (typeof t === 'string' ? t.length : t.byteLength);

  const run = (meta: readonly { receivedAt: number; topic?: string; bytes: number }[], verify: () => IngestResult[]): IngestResult[] => {
    let results: IngestResult[];
    try {
      results = verify();
    } catch (err) {
      // The replay state could not be written: nothing of this batch counts (it was not fused either).
      log.error({ err, messages: meta.length }, 'swarm ingest failed');
      return meta.map(internalError);
    }
    // Acting on the batch: the events, quarantines and decision counts it produced (and whatever the
    // listeners write) in one transaction — one commit for the batch instead of one per report that
    // confirmed or closed an event. The replay state was committed before this (verify above), with
    // a full fsync; this commit is written behind (durable against a power loss from the next full
    // commit on), except when the batch quarantines a camera: that proof is on disk before it counts.
    noteTransit(results);
    const quarantines = results.some((r) => r.outputs.some((o) => o.type === 'equivocation'));
    try {
      (quarantines ? sql.transaction : sql.writtenBehind)(() => act(meta, results));
    } catch (err) {
      log.error({ err, messages: meta.length }, 'swarm: committing what a batch produced failed');
    }
    return results;
  };

  const act = (meta: readonly { receivedAt: number; topic?: string; bytes: number }[], results: readonly IngestResult[]): void => {
    const detections: VerifiedDetectionsOf[] = [];
    for (const [i, r] of results.entries()) {
      const m = meta[i]!;
      const bytes = m.bytes;
      try {
        deps.onIngest?.(r, bytes);
        noteAcceptance(r, m.receivedAt);
        handle(r.outputs);
      } catch (err) {
        log.error({ err }, 'swarm: recording an ingested message failed');
      }
      // Listeners run after the swarm's own bookkeeping; a failing one changes nothing of the verdict.
      if (r.accepted && r.message.data.kind === 'fl') {
        const v = r.message;
        emit(flListeners, { serial: r.camera, envelope: v.envelope, body: v.data.body as FlBody, receivedAt: v.receivedAt });
      } else if (r.accepted) {
        const v = r.message;
        if (v.data.kind === 'session') continue; // a session announcement: the verifier keeps its key, nothing else to show
        emit(messageListeners, { kind: v.data.kind, serial: r.camera, envelope: v.envelope, body: v.data.body, receivedAt: v.receivedAt, verified: true } as CameraMessage);
        if (r.verified) {
          for (const l of detectionListeners) guard(() => l(r.camera, r.verified!.frameTs, r.verified!.observations));
          if (detectionBatchListeners.size) detections.push({ serial: r.camera, frameTs: r.verified.frameTs, observations: r.verified.observations });
        }
      } else if (r.unverified && r.unverified.data.kind !== 'fl' && r.unverified.data.kind !== 'session') {
        const u = r.unverified;
        emit(messageListeners, { kind: u.data.kind, serial: u.envelope.camera, envelope: u.envelope, body: u.data.body, receivedAt: m.receivedAt, verified: false } as CameraMessage);
      } else if (formReasons.has(r.reason)) {
        const serial = r.camera ?? /^axis\/([0-9A-F]{12})\//.exec(m.topic ?? '')?.[1] ?? 'unknown';
        emit(refusedListeners, { serial, topic: (m.topic ?? '').slice(0, 200), reason: r.reason, message: r.detail, bytes });
      }
    }
    if (detections.length) emit(detectionBatchListeners, detections as readonly VerifiedDetectionsOf[]);
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
    // What a tick produced (events that close, confirmations after a camera went down) is committed
    // written behind, as a batch's is (run, above), and for the same reason: nothing about a camera
    // message's trust hangs on it. A durable commit here was an fsync on this thread every tick
    // (4 a second) at fleet scale, 1–22 ms each on a shared disk (strace of bench:detections),
    // during which no MQTT socket is read. A quarantine is still on disk before it counts.
    if (outputs.length) (outputs.some((o) => o.type === 'equivocation') ? sql.transaction : sql.writtenBehind)(() => handle(outputs));
    if (topology.changed) bus.publish('swarm.topology', topology.graph);
  };
  // Ticks at a quarter of the heartbeat interval: a failure is acted on within a quarter interval of its timeout.
  const stop = (deps.every ?? defaultEvery)(Math.max(50, heartbeatIntervalMs / 4), tick);

  const zonesDto = () => ({ zones: zoneState.zones.map((z) => ({ id: z.id, name: z.name, polygon: z.polygon.map((p) => ({ x: p.x, y: p.y })), cameras: [...z.cameras] })), source: zoneState.source });
  const setZoneConfig = (zones: readonly ZoneConfig[], source: Exclude<ZoneSource, 'none'>): void => {
    zoneState = { zones: zones.map((z) => ({ id: z.id, name: z.name, polygon: z.polygon.map((p) => ({ x: p.x, y: p.y })), cameras: [...z.cameras] })), source };
    sql.writeZones(zoneState);
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
        backlog: { ...backlog, transitMs, pendingCommits: pending },
      };
    },
    'swarm.events': ({ limit, beforeId, zone }) => {
      const { rows, total } = sql.events({ limit, beforeId, zone });
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
      sql.releaseQuarantine(camera, at, note ?? null);
      summarise([insights.released(camera, note)]);
      deps.audit.record({ kind: 'swarm.released', severity: 'warning', source: `camera:${camera}`, message: `Camera ${camera} was released from quarantine; its reports count again.`, detail: { note: note ?? null } });
      bus.publish('swarm.quarantine', quarantineDto(proof, at));
      return { camera, released: true };
    },
    'swarm.setMode': ({ mode: m }) => {
      coordinator.verifier.setMode(m);
      sql.setState('mode', m);
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
    ingestChecked,
    submitBatch,
    submitChecked,
    pendingBatches: () => pending,
    reportBacklog: (b) => {
      backlog = b;
    },
    acceptanceOf: (serial) => {
      const a = acceptance.get(serial);
      const proof = coordinator.fusion.isQuarantined(serial) ? coordinator.fusion.quarantined().find((p) => p.camera === serial) : undefined;
      return {
        ...(a ? { ...a, ...(a.lastRefusal ? { lastRefusal: { ...a.lastRefusal } } : {}) } : { serial, accepted: 0, refused: 0 }),
        ...(proof ? { quarantined: { reason: proof.reason, at: proof.detectedAt } } : {}),
      };
    },
    registerCamera({ serial, keyId, publicKey, coverage }) {
      recorded.set(serial, { keyId, publicKey });
      coordinator.addCamera(serial, coverage);
      if (coordinator.fusion.isQuarantined(serial)) coordinator.topology.setQuarantined(serial, true);
    },
    removeCamera(serial) {
      recorded.delete(serial);
      coordinator.removeCamera(serial);
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
    onVerifiedDetectionsBatch(listener) {
      detectionBatchListeners.add(listener);
      return () => detectionBatchListeners.delete(listener);
    },
    onDetectionsShowable(listener) {
      showableListeners.add(listener);
      return () => showableListeners.delete(listener);
    },
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onRefused(listener) {
      refusedListeners.add(listener);
      return () => refusedListeners.delete(listener);
    },
    onOutcomes(listener) {
      outcomeListeners.add(listener);
      return () => outcomeListeners.delete(listener);
    },
    onVerifiedFl(listener) {
      flListeners.add(listener);
      return () => flListeners.delete(listener);
    },
    coordinator,
    insights,
    handlers,
    close: stop,
  };
}
