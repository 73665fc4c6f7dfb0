import { createHash, randomBytes } from 'node:crypto';
import {
  federatedConfig,
  federatedConfigDefaults,
  federatedConfigKeys,
  federatedConfigSchema,
  type FederatedConfig,
  type FederatedPrivacy,
  type FederatedRoundDetail,
  type MethodOutput,
} from '../../preload/contract';
import type { AuditInput } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import { z } from 'zod';
import { jsonText, type Db } from '../store';
import { bytesToFloat32, float32ToBytes } from './fl1';
import { createFlServer, DEFAULT_SETUP_TTL, HEAD_FEATURES, HEAD_NAME, HEAD_PARAMS, headV0, threshold, type FlClock, type FlPhase, type FlProgress, type RoundReport, type RoundSpec, type SetUpRound } from './fl-server';
import { chooseK, shareThreshold } from './fl2';
import { createOutcomePublisher, type Outcome } from './outcomes';
import { createRng } from './random';
import { selectParticipants } from './selection';
import { federatedStatements } from './statements';

export { liveCameras, swarmLinkHealth, fleetStateFallbackHealth, type LiveCameras, type SwarmLink } from './links';
export { createFlServer, HEAD_NAME, HEAD_PARAMS, headV0, type FlServer, type RoundReport, type RoundSpec } from './fl-server';

/**
 * Federated learning where the cameras are the clients (docs/protocol.md, "Federated learning
 * (fl2)"). The desktop is only the aggregation server: it selects online cameras, runs fl2 rounds
 * over MQTT (each round's setup ahead of time: right after the previous result and when rounds are
 * started with none set up, so a started round runs only its critical path), stores each round's result as a model version a deploy can ship, and sends every camera
 * the outcomes of its detections (its labels). It holds no training data and trains nothing.
 */
export interface FederatedDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  /** Publishes a desktop message (QoS 1) from the desktop's own MQTT client; false when not connected. Absent: no rounds. */
  publish?: (topic: string, payload: string) => boolean;
  /** Serials of the registered cameras: the federation's members. */
  cameras: () => string[];
  /** Whether a camera can take part now (online, not down or quarantined). All by default. */
  available?: (serial: string) => boolean;
  /** Link health 0..1 (the swarm's measurements); selection prefers healthy links. */
  linkHealth?: (serial: string) => number;
  audit?: { record(input: AuditInput): unknown };
  /** Timers (phase deadlines, the outcome flush); real ones by default. */
  clock?: FlClock;
  /** Seed of the selection draw (32 random bytes by default). */
  seed?: Uint8Array | string;
  /** Per-phase deadlines in ms (defaults: 10 s to advertise and share, 60 s to train and mask, 10 s to unmask). */
  deadlines?: Partial<Record<FlPhase, number>>;
  /** Labelled training samples a camera needs to take part (announce.minSamples). */
  minSamples?: number;
  /** Yields between rounds so other calls are served. */
  defer?: () => Promise<void>;
  /** How long cameras keep a set-up round waiting for go (announce.setupTtl, ms; default 600,000). */
  setupTtl?: number;
}

export interface FederatedService {
  handlers: Handlers;
  /** A verified fl body from a camera (the swarm's onVerifiedFl). */
  receive(serial: string, body: unknown): void;
  /** A verified heartbeat's head fields: which head version the camera runs and its held-out metric. */
  heartbeat(serial: string, body: { model?: unknown; head?: { version: number; heldOut: number; logLoss: number; accuracy: number } }): void;
  /** Detection outcomes from fusion (the swarm's onOutcomes): sent to each camera as its labels. */
  outcomes(items: readonly Outcome[]): void;
  /** A stored model version with its parameters (float32 LE), for shipping with a deploy; undefined when unknown. */
  modelArtifact(version: number): { version: number; round: number; aggregation: string; classes: number; features: number; parameters: Buffer; name?: string } | undefined;
  /** Resolves when the rounds in progress have finished. */
  idle(): Promise<void>;
  /** Sets the next round up now unless one is set up and still valid; resolves when done (set up or failed: see status.setup). */
  prepare(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_DEADLINES: Record<FlPhase, number> = { advertise: 10_000, shares: 10_000, masked: 60_000, unmask: 10_000 };
/** Clip range of each coordinate of a camera's update (θ_local − θ_global) before quantisation. */
const UPDATE_RANGE = 4;
const realClock: FlClock = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

// Critical-path progress only (the setup runs ahead, unannounced to the user's round view).
const roundPhase = (p: FlProgress['phase']): 'training' | 'aggregating' | null => (p === 'go' ? 'training' : p === 'masked' || p === 'unmask' ? 'aggregating' : null);

const modelSchema = z.object({ name: z.string(), version: z.number().int().nonnegative() });

export function createFederatedService(deps: FederatedDeps): FederatedService {
  const { bus, log, now } = deps;
  const clock = deps.clock ?? realClock;
  const sql = federatedStatements(deps.db);
  const rng = createRng(deps.seed ?? randomBytes(32));
  const available = (s: string): boolean => deps.available?.(s) ?? true;
  const linkHealth = (s: string): number => deps.linkHealth?.(s) ?? 1;
  const onlineCount = (cams: readonly string[]): number => cams.filter(available).length;
  const defer = deps.defer ?? (() => new Promise<void>((r) => setImmediate(r)));
  const deadlines = { ...DEFAULT_DEADLINES, ...deps.deadlines };
  const publish = (topic: string, payload: string): boolean => deps.publish?.(topic, payload) ?? false;
  const server = createFlServer({ transport: { publish: (t, p) => void publish(t, p) }, clock, log });
  const outcomePublisher = createOutcomePublisher({ publish, clock });

  const loadConfig = (): FederatedConfig => {
    const stored = sql.config();
    if (stored !== undefined) {
      // Settings from before fl2 (aggregation mode, masking graph, DP) did nothing on the wire: dropped.
      const known = (v: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(v).filter(([k]) => (federatedConfigKeys as string[]).includes(k)));
      const parsed = jsonText(z.looseObject({})).pipe(z.transform((v) => ({ ...federatedConfigDefaults, ...known(v) }))).pipe(federatedConfigSchema).safeParse(stored);
      if (parsed.success) return parsed.data;
      log.warn({ why: parsed.error.issues[0]?.message }, 'stored federated configuration is invalid; using the defaults');
    }
    return federatedConfig();
  };
  let config = loadConfig();
  let lineage = sql.currentLineage(now());
  const lastRound = (): number => sql.lastRound();

  /** The model the next round starts from: the lineage's newest version, else the built-in v0. */
  const currentModel = (): { version: number; params: Float32Array } => {
    const m = sql.latestModel(lineage);
    const data = m && sql.blob(m.hash);
    if (m && data && data.length === HEAD_PARAMS * 4 && m.name === HEAD_NAME) return { version: m.version, params: bytesToFloat32(data) };
    return { version: 0, params: headV0() };
  };

  // ---- which head each camera runs, and its held-out metric (from verified heartbeats) --------
  const running = new Map<string, { version: number; heldOut: number; logLoss: number; accuracy: number } | { version: number }>();
  const metricOf = (version: number): { accuracy: number; loss: number; cameras: number; samples: number } | null => {
    let n = 0;
    let acc = 0;
    let loss = 0;
    let cams = 0;
    for (const r of running.values()) {
      if (r.version !== version || !('heldOut' in r) || r.heldOut <= 0) continue;
      cams++;
      n += r.heldOut;
      acc += r.accuracy * r.heldOut;
      loss += r.logLoss * r.heldOut;
    }
    return n > 0 ? { accuracy: acc / n, loss: loss / n, cameras: cams, samples: n } : null;
  };
  const heartbeat: FederatedService['heartbeat'] = (serial, body) => {
    const m = modelSchema.safeParse(body.model);
    if (!m.success || m.data.name !== HEAD_NAME) return;
    const h = body.head && body.head.version === m.data.version ? body.head : undefined;
    const prev = running.get(serial);
    running.set(serial, h ? { ...h } : { version: m.data.version });
    // Keep the stored model's metric current (cheap: one row, only when this camera's figures changed).
    if (h && m.data.version > 0 && JSON.stringify(prev) !== JSON.stringify(h)) {
      const metric = metricOf(m.data.version);
      if (metric && sql.model(m.data.version)) sql.setMetric(m.data.version, metric);
    }
  };

  /** What is protected now, stated plainly: secure aggregation of updates; no differential privacy in fl2. */
  const privacy = (): FederatedPrivacy => ({
    enabled: false,
    epsilon: null,
    delta: 0,
    level: 'off',
    perCamera: true,
    accountant: 'none: fl2 adds no differential-privacy noise, so no ε is claimed',
    note:
      'Protected: each camera’s update. The desktop receives only masked vectors and learns the sum of at least ⌈2n/3⌉ cameras’ updates (secure aggregation); ' +
      'the detections and labels a camera trains on never leave it. Not protected: the sum itself, and through it the new model (no noise is added), so no ε holds.',
  });

  const aggregationNote = (n: number): string => {
    const k = chooseK(n);
    const graph =
      n - 1 <= k
        ? `each camera masks with every other (${n} cameras, K = ${k})`
        : `SecAgg+: each camera masks with K = ${k} ring neighbours and ${shareThreshold(k, n)} of its K + 1 share holders rebuild its secrets`;
    return (
      `Secure aggregation (fl2, ${graph}${n >= 3 ? `; ${threshold(n)} of ${n} must answer at every step` : ''}): ` +
      'the desktop sees only the sum of the cameras’ updates. Keys and share boxes are exchanged ahead of each round, so a started round only trains, masks and unmasks. ' +
      'The cameras train on their own detections; FedAvg, every camera weighted equally.'
    );
  };

  let loop: Promise<void> | undefined;
  let stopRequested = false;
  let remaining = 0;

  const store = (round: number, r: RoundReport, fromVersion: number, nextVersion: number): number | null => {
    const detail: FederatedRoundDetail = {
      id: r.round, threshold: r.threshold, advertised: r.advertised, declined: r.declined, shared: r.shared, masked: r.masked,
      unmasked: r.unmasked, failedAt: r.failedAt, refused: r.refused.slice(0, 50), phaseMs: r.phaseMs, fromVersion,
      graph: r.graph, setupMs: r.setupMs, roundMs: r.roundMs,
    };
    let version: number | null = null;
    sql.transaction(() => {
      sql.insertRound({
        round, lineage, startedAt: r.startedAt, finishedAt: r.finishedAt, status: r.ok ? 'completed' : 'aborted', aggregation: 'secure', algorithm: 'fedavg',
        selected: r.selected, participants: r.masked, dropped: r.dropped, accuracy: null, loss: null, delta: 0, sigma: null, reason: r.reason, detail,
      });
      if (r.ok && r.params) {
        const bytes = float32ToBytes(r.params);
        const hash = createHash('sha256').update(bytes).digest('hex');
        sql.insertBlob(hash, bytes, r.finishedAt);
        version = sql.insertModel({
          version: nextVersion, lineage, round, createdAt: r.finishedAt, aggregation: 'secure', algorithm: 'fedavg', participants: r.masked,
          accuracy: null, loss: null, epsilon: null, delta: 0, hash, classes: 1, features: HEAD_FEATURES, paramCount: HEAD_PARAMS, name: HEAD_NAME,
        });
        sql.setModelVersion(round, version);
      }
    });
    return version;
  };

  // ---- setup ahead (fl2): the next round's keys and share boxes, waiting for go -------------
  interface Prepared {
    round: number;
    held: SetUpRound;
    from: { version: number; params: Float32Array };
    nextVersion: number;
    lineage: number;
    train: string;
    cancelExpiry: () => void;
  }
  type SetupStatus = MethodOutput<'federated.status'>['setup'];
  let prepared: Prepared | undefined;
  let preparing: Promise<Prepared | RoundReport | undefined> | undefined;
  let setupStatus: SetupStatus = { state: 'none', round: null, k: 0, tk: 0, cameras: 0, setupMs: null, goBy: null, reason: null };
  let closed = false;
  const trainKey = (c: FederatedConfig): string => JSON.stringify([c.localEpochs, c.learningRate, c.batchSize, c.clientsPerRound]);

  /** Why a set-up round may not run now, or null when it may. */
  const stale = (p: Prepared): string | null => {
    if (clock.now() > p.held.goBy) return 'its setup time ran out before it was started';
    if (p.lineage !== lineage || p.from.version !== currentModel().version) return 'the model it was set up with is no longer the current one';
    if (p.train !== trainKey(config)) return 'the training settings changed';
    if (p.round !== lastRound() + 1 || p.nextVersion !== sql.nextVersion()) return 'another round ran in between';
    return null;
  };
  const discardPrepared = (why: string): void => {
    const p = prepared;
    if (!p) return;
    prepared = undefined;
    p.cancelExpiry();
    p.held.discard(`The set-up round was discarded: ${why}. Nothing was used.`);
    log.info({ round: p.round, id: p.held.round, why }, 'federated set-up round discarded');
    setupStatus = { ...setupStatus, state: 'none', round: null, goBy: null, reason: why };
  };

  /** Sets one round up; the report when it failed, undefined when it could not start (broker, cameras). */
  const setUpOne = (): Promise<Prepared | RoundReport | undefined> => {
    if (preparing) return preparing;
    const online = deps.cameras().filter(available);
    if (!deps.publish || closed || online.length < 3 || server.busy()) return Promise.resolve(undefined);
    preparing = (async () => {
      const round = lastRound() + 1;
      const cfg = config;
      const selected = selectParticipants(online, cfg.clientsPerRound, linkHealth, rng.fork(`select/${round}`));
      const from = currentModel();
      const nextVersion = sql.nextVersion();
      const spec: RoundSpec = {
        round: `r${round}-${rng.bytes(4).toString('hex')}`,
        model: from,
        nextVersion,
        selected,
        train: { epochs: cfg.localEpochs, lr: cfg.learningRate, batchSize: cfg.batchSize },
        range: UPDATE_RANGE,
        deadlines,
        minSamples: deps.minSamples ?? 50,
        setupTtl: deps.setupTtl ?? DEFAULT_SETUP_TTL,
      };
      const k = chooseK(selected.length);
      setupStatus = { state: 'setting-up', round: spec.round, k, tk: 0, cameras: selected.length, setupMs: null, goBy: null, reason: null };
      const out = await server.setup(spec);
      if (!out.ok) {
        setupStatus = { ...setupStatus, state: 'failed', reason: out.report.reason };
        log.info({ round, id: spec.round, failedAt: out.report.failedAt }, 'federated setup failed');
        return Object.assign(out.report, { storeAs: { round, from, nextVersion } });
      }
      const held = out.round;
      const p: Prepared = { round, held, from, nextVersion, lineage, train: trainKey(cfg), cancelExpiry: () => undefined };
      // When its setup time runs out unused, set it up again (cheap: keys and boxes, no training).
      p.cancelExpiry = clock.after(Math.max(0, held.goBy - clock.now()), () => {
        if (prepared !== p) return;
        discardPrepared('its setup time ran out before it was started');
        if (!closed) void setUpOne().then(keep);
      });
      setupStatus = { ...setupStatus, state: 'ready', k: held.report.graph.k, tk: held.report.graph.tk, cameras: held.report.shared.length, setupMs: held.report.setupMs, goBy: held.goBy };
      return p;
    })().finally(() => {
      preparing = undefined;
    });
    return preparing;
  };
  /** A background setup's outcome: a set-up round is kept for the next go; a failure stays in status only. */
  const keep = (r: Prepared | RoundReport | undefined): void => {
    if (r && 'held' in r) prepared = r;
  };
  const prepare = async (): Promise<void> => {
    if (preparing) await preparing;
    if (prepared) {
      const why = stale(prepared);
      if (!why) return;
      discardPrepared(why);
    }
    keep(await setUpOne());
  };

  const runOne = async (): Promise<void> => {
    if (preparing) keep(await preparing);
    if (prepared) {
      const why = stale(prepared);
      if (why) discardPrepared(why);
    }
    let p = prepared;
    prepared = undefined;
    if (!p) {
      const r = await setUpOne();
      if (!r) throw new Error('a round could not be set up: the broker is not connected or fewer than 3 cameras are online');
      if (!('held' in r)) {
        // The user asked for this round: its failed setup is recorded like any failed round.
        const s = (r as RoundReport & { storeAs: { round: number; from: { version: number }; nextVersion: number } }).storeAs;
        finishRound(s.round, r, s.from.version, s.nextVersion);
        return;
      }
      p = r;
    }
    p.cancelExpiry();
    setupStatus = { ...setupStatus, state: 'none', round: null, goBy: null };
    const { round } = p;
    const event = (phase: 'selected' | 'training' | 'aggregating' | 'completed' | 'aborted', r: RoundReport, message: string | null = null): void =>
      bus.publish('federated.round', { round, phase, selected: r.selected.length, participants: r.masked.length, dropped: r.dropped.length, accuracy: null, loss: null, epsilon: null, message });
    event('selected', p.held.report, `set up: ${p.held.report.shared.length} cameras, K = ${p.held.report.graph.k}`);
    const report = await p.held.go((g) => {
      const phase = roundPhase(g.phase);
      if (phase) event(phase, g.report, `${g.phase}: ${g.phase === 'go' ? g.report.shared.length : g.phase === 'masked' ? g.report.masked.length : g.report.unmasked.length} cameras`);
    });
    finishRound(round, report, p.from.version, p.nextVersion);
    // Set the next round up right away, so that it too runs only its critical path: on the next turn
    // of the event loop, once this round's result is out and stored (its announce is not part of this round).
    if (!closed)
      void defer()
        .then(() => (closed ? undefined : setUpOne().then(keep)))
        .catch((err: unknown) => log.warn({ err }, 'the next federated round could not be set up'));
  };

  const finishRound = (round: number, report: RoundReport, fromVersion: number, nextVersion: number): void => {
    const version = store(round, report, fromVersion, nextVersion);
    log.info({ round, id: report.round, ok: report.ok, selected: report.selected.length, masked: report.masked.length, dropped: report.dropped, version, setupMs: report.setupMs, roundMs: report.roundMs }, 'federated round finished');
    bus.publish('federated.round', {
      round, phase: report.ok ? 'completed' : 'aborted', selected: report.selected.length, participants: report.masked.length, dropped: report.dropped.length,
      accuracy: null, loss: null, epsilon: null, message: report.reason,
    });
    if (!report.ok) {
      deps.audit?.record({
        kind: 'federated.round.aborted',
        severity: 'warning',
        source: 'federated',
        message: report.reason ?? 'round aborted',
        detail: { round, id: report.round, selected: report.selected.length, advertised: report.advertised.length, shared: report.shared.length, masked: report.masked.length },
      });
    }
  };

  const runLoop = async (count: number): Promise<void> => {
    try {
      for (remaining = count; remaining > 0 && !stopRequested; remaining--) {
        await defer();
        if (stopRequested) break;
        await runOne();
      }
    } catch (err) {
      log.error({ err }, 'federated rounds stopped by an error');
      bus.publish('federated.round', { round: lastRound(), phase: 'stopped', selected: 0, participants: 0, dropped: 0, accuracy: null, loss: null, epsilon: null, message: 'Rounds stopped by an internal error; the details are in the log file.' });
    } finally {
      if (stopRequested)
        bus.publish('federated.round', { round: lastRound(), phase: 'stopped', selected: 0, participants: 0, dropped: 0, accuracy: null, loss: null, epsilon: null, message: 'Stopped on request.' });
      remaining = 0;
      loop = undefined;
    }
  };

  const status = (): MethodOutput<'federated.status'> => ({
    running: loop !== undefined,
    remaining,
    lastRound: lastRound(),
    lineage,
    cameras: deps.cameras().length,
    camerasOnline: onlineCount(deps.cameras()),
    config,
    privacy: privacy(),
    aggregationNote: aggregationNote(Math.min(config.clientsPerRound, onlineCount(deps.cameras()))),
    setup: setupStatus,
    // The desktop holds no training data, so it has no centralised reference to draw (bench:federated measures one).
    reference: null,
  });

  const handlers: Handlers = {
    'federated.config.get': () => config,
    'federated.config.set': (patch) => {
      const next = federatedConfig({ ...config, ...patch });
      sql.saveConfig(JSON.stringify(next), now());
      config = next;
      if (prepared && stale(prepared)) discardPrepared(stale(prepared)!);
      return config;
    },
    'federated.status': status,
    'federated.start': ({ rounds }) => {
      if (loop) throw new AppError('conflict', `Federated rounds are already running (${remaining} to go). Stop them first, or wait for them to finish.`);
      if (!deps.publish) throw new AppError('unavailable', 'Federated rounds need the MQTT broker, which is not running. Check the broker in Settings.');
      const cams = deps.cameras();
      const online = onlineCount(cams);
      if (online < 3) throw new AppError('unavailable', `Federated learning needs at least 3 online cameras; ${online} of ${cams.length} are online. Bring cameras back online, then start again.`);
      stopRequested = false;
      // A set-up round made with other settings or another model is not used (runOne discards it).
      const fromRound = lastRound() + 1;
      remaining = rounds;
      loop = runLoop(rounds);
      return { started: true, fromRound, rounds };
    },
    'federated.stop': () => {
      const was = loop !== undefined;
      if (was) stopRequested = true;
      return { stopped: was };
    },
    'federated.reset': () => {
      if (loop) throw new AppError('conflict', 'Stop the running rounds before starting a new model.');
      lineage = sql.newLineage(now());
      // The set-up round trains from the old model: discard it now and set one up from the new one.
      if (prepared) {
        discardPrepared('a new model was started');
        void setUpOne().then(keep);
      }
      return { lineage };
    },
    'federated.rounds': ({ limit, beforeRound }) => ({ rounds: sql.rounds(limit, beforeRound) }),
    'federated.models': ({ limit }) => ({ models: sql.models(limit) }),
    'federated.model': ({ version, withParameters }) => {
      const model = sql.model(version);
      if (!model) throw notFound(`Model version ${version}`);
      if (!withParameters) return model;
      const data = sql.blob(model.hash);
      if (!data) throw new AppError('internal', `The parameters of model version ${version} are missing from the database.`);
      return { ...model, parameters: data.toString('base64') };
    },
  };

  return {
    handlers,
    receive: (serial, body) => server.receive(serial, body),
    heartbeat,
    outcomes: (items) => outcomePublisher.add(items),
    modelArtifact(version) {
      const row = sql.model(version);
      if (!row) return undefined;
      const data = sql.blob(row.hash);
      if (!data) return undefined;
      return { version: row.version, round: row.round, aggregation: row.aggregation, classes: row.classes, features: row.features, parameters: Buffer.from(data), ...(row.name ? { name: row.name } : {}) };
    },
    idle: async () => {
      await loop;
    },
    prepare,
    async close() {
      stopRequested = true;
      closed = true;
      prepared?.cancelExpiry();
      prepared = undefined;
      server.abort('The desktop is shutting down.');
      await loop;
      await preparing?.catch(() => undefined);
      server.abort('The desktop is shutting down.');
      outcomePublisher.close();
    },
  };
}
