// The coordinator pipeline without I/O: verify → fusion → topology. The service (index.ts) and the
// deterministic simulation (sim/) both drive this one object, so the simulation tests what ships.
import { performance } from 'node:perf_hooks';
import type { DetectionsBody, Envelope, ObjectClass } from './envelope';
import { claimsFl, isFlOnlyBatch } from './fl-batch';
import type { ReplayEntry } from './replay';
import { createFusion, type CameraCoverage, type Fusion, type FusionOptions, type FusionOutput, type Report } from './fusion';
import type { DesktopSessionKey } from './session';
import { createTopology, type Topology, type TopologyChange, type TopologyOptions } from './topology';
import { createVerifier, parseMessage, type AuditSink, type KeyRegistry, type RejectReason, type ReplayStore, type SessionRef, type Verifier, type VerifiedBody, type VerifiedMessage, type VerifyMode, type VerifyResult, type WorkerVerdict } from './verify';

export interface CoordinatorOptions {
  now: () => number;
  keys: KeyRegistry;
  audit?: AuditSink;
  mode?: VerifyMode;
  skewToleranceMs?: number;
  /** Where the replay state persists (SQLite in the service). */
  replayStore?: ReplayStore;
  fusion: Omit<FusionOptions, 'now'>;
  topology?: Omit<TopologyOptions, 'now' | 'reputation'>;
  /** Wall-clock timer for the fusion-latency metric; injectable so tests stay deterministic. */
  hrtime?: () => number;
  onFusionLatency?: (seconds: number) => void;
  /** The desktop's X25519 session key (envelope v3). */
  sessionKey?: DesktopSessionKey;
  /**
   * Runs a batch's verification and its replay flush as one unit (a SQLite transaction in the
   * service): the audit rows of the batch's refusals and its replay state cost one commit — one
   * fsync — together, instead of one each. Defaults to running `fn` as it is. `durable` is false
   * for a batch of federated-learning messages only: its commit may be written behind (see flOnly).
   */
  transaction?: <T>(fn: () => T, durable: boolean) => T;
}

export type IngestResult =
  | {
      accepted: true;
      camera: string;
      kind: 'detections' | 'heartbeat' | 'fl' | 'session';
      /** Signing key id and boot epoch of the message; `version` is the app version a heartbeat names. */
      key: string;
      epoch: number;
      version?: string;
      /** The verified message itself (envelope and parsed body). */
      message: VerifiedMessage;
      outputs: FusionOutput[];
      stats?: CameraStats;
      /** Detections for the timeline: absent when the camera is quarantined (also by this very report). */
      verified?: VerifiedDetections;
    }
  | {
      accepted: false;
      reason: RejectReason;
      camera: string | undefined;
      detail: string;
      label: string;
      outputs: FusionOutput[];
      /** Permissive mode: a well-formed report that failed a trust check, to be shown marked (never fused). */
      unverified?: { envelope: Envelope; data: VerifiedBody };
      /** unknown_session: the session the report named. */
      session?: SessionRef;
    };

/** One raw message as it arrived: the payload bytes, the desktop clock at receipt, the MQTT topic. */
export interface RawMessage {
  payload: string | Uint8Array;
  receivedAt: number;
  topic?: string;
}

/**
 * A detections report the swarm verified (every check passed, whatever the mode) and fused, from a
 * camera that is not quarantined (also not by this very report).
 */
export interface VerifiedDetections {
  frameTs: number;
  observations: DetectionsBody['frame']['observations'];
}

/** The detector figures a camera reports with its messages, for the performance monitor. */
export interface CameraStats {
  inferenceMs: number;
  fpsCamera: number;
  fpsProcessed: number;
  fpsSkipped: number;
}

export interface Coordinator {
  verifier: Verifier;
  fusion: Fusion;
  topology: Topology;
  addCamera(id: string, coverage: CameraCoverage): void;
  removeCamera(id: string): void;
  ingest(payload: string | Uint8Array, receivedAt: number, topic?: string): IngestResult;
  /**
   * Verifies every message, persists the replay state they changed in one write (the verifier's
   * flush), and only then fuses them: group commit. Throws, with nothing fused, when that write fails.
   */
  ingestBatch(messages: readonly RawMessage[]): IngestResult[];
  /** The same for messages a verification worker parsed and signature-checked (verify-pool.ts). */
  ingestChecked(items: readonly { verdict: WorkerVerdict; receivedAt: number }[]): IngestResult[];
  /**
   * Group commit in two halves, for a caller that writes the replay state elsewhere (the service's
   * writer thread): `stage*` runs every check of the batch and hands back the replay state it
   * changed, with no effect yet (refusals are counted and their audit rows written behind);
   * `applyStaged` acts on it — fusion, topology — and must be called only once that state is
   * committed, in the order the batches were staged. `durable` is false for an fl-only batch.
   */
  stageBatch(messages: readonly RawMessage[]): StagedBatch;
  stageChecked(items: readonly { verdict: WorkerVerdict; receivedAt: number }[]): StagedBatch;
  applyStaged(staged: StagedBatch): IngestResult[];
  /** For already-verified reports (the simulation's unsigned scenarios feed fusion through here). */
  ingestReport(report: Report): FusionOutput[];
  tick(): { outputs: FusionOutput[]; topology: TopologyChange };
  release(camera: string): boolean;
}

/** A verified batch whose replay state is not committed yet (Coordinator.stageBatch). */
export interface StagedBatch {
  verdicts: VerifyResult[];
  delta: ReplayEntry[];
  durable: boolean;
}

export const toReport = (m: VerifiedMessage): Report | undefined => {
  if (m.data.kind !== 'detections') return undefined;
  const frame = m.data.body.frame;
  return {
    camera: m.envelope.camera,
    epoch: m.envelope.epoch,
    seq: m.envelope.seq,
    frameTs: frame.timestamp,
    receivedAt: m.receivedAt,
    raw: m.raw,
    observations: frame.observations.map((o) => ({ box: o.bounding_box, cls: o.class.type as ObjectClass, trackId: o.track_id, ts: o.timestamp })),
  };
};

export function createCoordinator(opts: CoordinatorOptions): Coordinator {
  const { now } = opts;
  const hr = opts.hrtime ?? (() => performance.now());
  const verifier = createVerifier({ keys: opts.keys, audit: opts.audit, mode: opts.mode, skewToleranceMs: opts.skewToleranceMs, replayStore: opts.replayStore, now, sessionKey: opts.sessionKey });
  const fusion = createFusion({ ...opts.fusion, now });
  const topology = createTopology({ ...opts.topology, now, reputation: (id) => fusion.reputation(id).score });

  const afterFusion = (outputs: FusionOutput[]): FusionOutput[] => {
    for (const o of outputs) if (o.type === 'equivocation') topology.setQuarantined(o.proof.camera, true);
    return outputs;
  };
  const ingestReport = (r: Report): FusionOutput[] => {
    const t0 = hr();
    const out = fusion.ingest(r);
    opts.onFusionLatency?.((hr() - t0) / 1000);
    return afterFusion(out);
  };

  const apply = (v: VerifyResult): IngestResult => {
    if (!v.ok) return { accepted: false, reason: v.reason, camera: v.camera, detail: v.detail, label: v.label, outputs: [], ...(v.unverified ? { unverified: v.unverified } : {}), ...(v.session ? { session: v.session } : {}) };
    const m = v.message;
    const cam = m.envelope.camera;
    const receivedAt = m.receivedAt;
    topology.observe(cam, m.envelope.seq, m.envelope.sent, receivedAt);
    if (m.data.kind === 'heartbeat') topology.heartbeat(cam, receivedAt);
    const report = toReport(m);
    const outputs = report ? ingestReport(report) : [];
    const st = m.data.kind === 'heartbeat' ? m.data.body : m.data.kind === 'detections' ? m.data.body.stats : undefined;
    const stats = st ? { inferenceMs: st.inference_ms, fpsCamera: st.fps_camera, fpsProcessed: st.fps_processed, fpsSkipped: st.fps_skipped } : undefined;
    // Checked after fusion: an equivocating report quarantines its camera and must not count downstream either.
    const verified: VerifiedDetections | undefined =
      m.data.kind === 'detections' && !fusion.isQuarantined(cam) ? { frameTs: m.data.body.frame.timestamp, observations: m.data.body.frame.observations } : undefined;
    const version = m.data.kind === 'heartbeat' ? m.data.body.version : undefined;
    return { accepted: true, camera: cam, kind: m.data.kind, key: m.envelope.key, epoch: m.envelope.epoch, ...(version !== undefined ? { version } : {}), message: m, outputs, stats, ...(verified ? { verified } : {}) };
  };

  const inTransaction = opts.transaction ?? (<T>(fn: () => T, _durable: boolean): T => fn());
  // Group commit: every check of the batch, then one write of the replay state it changed (with the
  // refusals' audit rows, in the same transaction), committed before any message of it is acted on.
  // Why an fl2 batch needs no fsync of its replay state before it is acted on: acting on an fl
  // message only feeds the federated server's round in memory, which a crash ends; its round id
  // carries random bytes, so a message replayed after a power loss (within the clock-skew window)
  // names a round that no longer exists and is ignored. The state is still written (behind: durable
  // from the next full commit on). A round of n cameras is 4n messages; a full fsync each on a busy
  // disk (10–20 ms) made the desktop's disk, not the arithmetic, the round's bottleneck.
  // Main-thread path: decided on what each message claims; a message whose signature then fails is
  // refused and advances nothing, so every message this lets through is a signed fl message.
  // The rule itself lives in fl-batch.ts (the ingest link applies it too); the topic is checked
  // first so a non-fl topic costs no parse.
  const flOnly = (messages: readonly RawMessage[]): boolean =>
    isFlOnlyBatch(
      messages.map((x) => {
        if (x.topic !== undefined && !claimsFl({ topic: x.topic })) return { topic: x.topic };
        const p = parseMessage(x.payload, x.topic);
        return { topic: x.topic, kind: p.ok ? p.parsed.envelope.kind : null };
      }),
    );
  const ingestBatch = (messages: readonly RawMessage[]): IngestResult[] => {
    const verdicts = inTransaction(() => {
      const vs = messages.map((x) => verifier.verify(x.payload, x.receivedAt, x.topic));
      verifier.flush();
      return vs;
    }, !(opts.transaction && flOnly(messages)));
    return verdicts.map(apply);
  };

  const admitChecked = (items: readonly { verdict: WorkerVerdict; receivedAt: number }[]): VerifyResult[] =>
    items.map(({ verdict, receivedAt }) => (verdict.parse.ok ? verifier.admit(verdict.parse.parsed, receivedAt, verdict.sig, verdict.mac) : verifier.parseFailed(verdict.parse)));
  const ingestChecked = (items: readonly { verdict: WorkerVerdict; receivedAt: number }[]): IngestResult[] => {
    const verdicts = inTransaction(() => {
      const vs = admitChecked(items);
      verifier.flush();
      return vs;
    }, !isFlOnlyBatch(items.map(({ verdict }) => ({ kind: verdict.parse.ok ? verdict.parse.parsed.envelope.kind : null }))));
    return verdicts.map(apply);
  };
  // The refusals' audit rows go in a transaction written behind (durable: false): nothing is acted
  // on because of them, and the replay state they used to share a commit with is written elsewhere.
  // Durable unless every message is an accepted fl message (see flOnly above; decided on the verdicts
  // here, which costs no second parse).
  const stage = (check: () => VerifyResult[]): StagedBatch =>
    inTransaction(() => {
      const verdicts = check();
      const flOnlyBatch = isFlOnlyBatch(verdicts.map((v) => ({ kind: v.ok ? v.message.data.kind : null })));
      return { verdicts, delta: verifier.takeDirty(), durable: !flOnlyBatch };
    }, false);

  return {
    verifier,
    fusion,
    topology,
    addCamera(id, coverage) {
      fusion.setCamera(id, coverage);
      topology.join(id, coverage.zones);
    },
    removeCamera(id) {
      fusion.removeCamera(id);
      topology.leave(id);
      verifier.forget(id);
    },
    ingest(payload, receivedAt, topic) {
      return ingestBatch([{ payload, receivedAt, topic }])[0]!;
    },
    ingestBatch,
    ingestChecked,
    stageBatch: (messages) => stage(() => messages.map((x) => verifier.verify(x.payload, x.receivedAt, x.topic))),
    stageChecked: (items) => stage(() => admitChecked(items)),
    applyStaged: (staged) => staged.verdicts.map(apply),
    ingestReport,
    tick() {
      const change = topology.tick();
      for (const id of change.failed) fusion.setDown(id, true);
      for (const id of change.recovered) fusion.setDown(id, false);
      return { outputs: fusion.tick(), topology: change };
    },
    release(camera) {
      const ok = fusion.release(camera);
      if (ok) topology.setQuarantined(camera, false);
      return ok;
    },
  };
}
