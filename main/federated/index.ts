import { createHash } from 'node:crypto';
import {
  federatedConfig,
  federatedConfigDefaults,
  federatedConfigSchema,
  type FederatedConfig,
  type FederatedPrivacy,
  type MethodOutput,
} from '../../preload/contract';
import type { AuditInput } from '../audit';
import type { EventBus } from '../kernel/bus';
import type { Handlers } from '../kernel/dispatcher';
import { AppError, notFound } from '../kernel/errors';
import type { Logger } from '../kernel/logger';
import { z } from 'zod';
import { jsonText, type Db } from '../store';
import { federatedStatements } from './statements';
import { generateTask, type TaskSpec } from './data';
import { checkPlan, Federation, planFor, PlanError, trainCentralised, type RoundContext } from './engine';
import { epsilonFromBudget, privacyLevel } from './privacy';
import { createRng } from './random';
import { toleranceNote } from './robust';
import { effectiveMaskGraph } from './secagg';

export { Federation, checkPlan, planFor, trainCentralised } from './engine';
export { liveCameras, swarmLinkHealth, fleetStateFallbackHealth, type LiveCameras, type SwarmLink } from './links';
export { generateTask, type TaskSpec } from './data';
export { createFlServer, headV0, type FlServer, type RoundReport, type RoundSpec } from './fl-server';

export interface FederatedDeps {
  db: Db;
  bus: EventBus;
  log: Logger;
  now: () => number;
  /** Seed of the random source (32 secret bytes in the app; a fixed string in tests). */
  seed: Uint8Array | string;
  /** The registered cameras: the federation's members, each with its own local data. */
  cameras: () => string[];
  /** Whether a camera can take part now; offline cameras are never selected. All by default. */
  available?: (cameraId: string) => boolean;
  /** Link health 0..1 per camera (from the swarm's link measurements); unknown cameras count as healthy. */
  linkHealth?: (cameraId: string) => number;
  audit?: { record(input: AuditInput): unknown };
  /** Shape of the generated local data sets. */
  task?: Partial<TaskSpec>;
  /**
   * Measured message loss 0..1 per camera (the swarm's sequence gaps), null when unmeasured. The
   * simulated dropouts are drawn from it (engine's lossDropout); without it nobody drops out.
   */
  linkLoss?: (cameraId: string) => number | null;
  /** Overrides the simulated dropouts (tests). */
  dropout?: RoundContext['dropout'];
  /** Yields between rounds so other calls are served; tests may pass an immediate one. */
  defer?: () => Promise<void>;
}

export interface FederatedService {
  handlers: Handlers;
  /** A stored model version with its parameters (Float32 LE), for shipping with a deploy; undefined when unknown. */
  modelArtifact(version: number): { version: number; round: number; aggregation: string; classes: number; features: number; parameters: Buffer } | undefined;
  /** Resolves when the rounds in progress have finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_TASK: TaskSpec = { classes: 10, features: 32, clients: 0, samplesPerClient: 200, testSamples: 2000, alpha: 0.5, separation: 3 };
const ACCOUNTANT = 'Rényi DP of the Gaussian mechanism (Mironov 2017), composed over the rounds each camera took part in; no subsampling amplification';

const paramsToBytes = (p: Float32Array): Buffer => {
  const out = Buffer.alloc(p.length * 4);
  for (let i = 0; i < p.length; i++) out.writeFloatLE(p[i]!, i * 4);
  return out;
};
const bytesToParams = (b: Buffer): Float32Array => {
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
};

/** The masking graph in words, for the n cameras a round would select now (the one the protocol will use). */
const maskGraphNote = (c: FederatedConfig, n: number): string => {
  const g = effectiveMaskGraph(c.secureGraph, n);
  const quorumText = `${g.quorum} of ${n} must answer at every step`;
  if (g.kind === 'secagg+') return `SecAgg+, each of ${n} cameras masks with ${g.k} neighbours and ${g.t} of them can unmask it; ${quorumText}`;
  if (g.fallback) return `SecAgg+ is chosen but the full graph is used: ${g.fallback}; each camera masks with every other, ${quorumText}`;
  return `full graph, each camera masks with every other; ${quorumText}`;
};

const aggregationNote = (c: FederatedConfig, n: number): string =>
  ({
    secure: `Secure aggregation is on (${n >= 3 ? maskGraphNote(c, n) : c.secureGraph === 'secagg+' ? 'SecAgg+ for large rounds, the full graph up to 23 cameras' : 'full graph, each camera masks with every other'}): the coordinator sees only the sum of the cameras’ updates. Robust aggregation is off.`,
    plain: 'Plain FedAvg: the coordinator sees each camera’s update. Neither secure nor robust aggregation is on.',
    'robust-trimmed': `Robust aggregation (coordinate-wise trimmed mean, ${Math.round(c.trimFraction * 100)}% each end) is on; secure aggregation is off, so the coordinator sees each update. ${toleranceNote({ rule: 'trimmed-mean', trim: c.trimFraction }, n)}`,
    'robust-median': `Robust aggregation (coordinate-wise median) is on; secure aggregation is off, so the coordinator sees each update. ${toleranceNote({ rule: 'median' }, n)}`,
    krum: `Robust aggregation (Krum, up to ${c.krumFaulty} faulty) is on; secure aggregation is off, so the coordinator sees each update. ${toleranceNote({ rule: 'krum', f: c.krumFaulty }, n)}`,
  })[c.aggregation];

/**
 * Federated learning across the cameras: configuration, rounds in the background with progress
 * events, the privacy budget, and stored model versions a deploy can ship.
 */
export function createFederatedService(deps: FederatedDeps): FederatedService {
  const { bus, log, now } = deps;
  const sql = federatedStatements(deps.db);
  const rng = createRng(deps.seed);
  const linkHealth = (id: string): number => deps.linkHealth?.(id) ?? 1;
  const available = (id: string): boolean => deps.available?.(id) ?? true;
  const onlineCount = (cams: readonly string[]): number => cams.filter(available).length;
  const defer = deps.defer ?? (() => new Promise<void>((r) => setImmediate(r)));

  const loadConfig = (): FederatedConfig => {
    const stored = sql.config();
    if (stored !== undefined) {
      // Fields added since the row was written take their defaults.
      const parsed = jsonText(z.looseObject({})).pipe(z.transform((v) => ({ ...federatedConfigDefaults, ...v }))).pipe(federatedConfigSchema).safeParse(stored);
      if (parsed.success) return parsed.data;
      log.warn({ why: parsed.error.issues[0]?.message }, 'stored federated configuration is invalid; using the defaults');
    }
    return federatedConfig();
  };
  let config = loadConfig();

  let lineage = sql.currentLineage(now());
  const lastRound = (): number => sql.lastRound();

  let federation: Federation | undefined;
  let federationKey = '';
  const getFederation = (): Federation => {
    const cams = [...deps.cameras()].sort();
    const key = cams.join(',');
    if (federation && key === federationKey) return federation;
    const spec: TaskSpec = { ...DEFAULT_TASK, ...deps.task, clients: cams.length };
    const previous = federation?.params;
    federation = new Federation(generateTask(spec, rng.fork(`task/${key}`)), cams, rng.fork(`federation/${key}`));
    federationKey = key;
    if (previous) federation.params = previous;
    else {
      // Continue the current lineage from its newest stored model after a restart.
      const data = sql.latestParameters(lineage);
      if (data && data.length === federation.paramCount * 4) federation.params = bytesToParams(data);
    }
    return federation;
  };

  // Centralised training on the same cameras' data pooled: the reference line of the charts. One
  // epoch per round the UI is likely to show is overkill; 20 epochs is where this head levels off.
  const REFERENCE_EPOCHS = 20;
  let reference: { key: string; accuracy: number; loss: number } | undefined;
  const centralReference = (): { accuracy: number; loss: number; epochs: number } | null => {
    if (deps.cameras().length < 3) return null;
    const fed = getFederation();
    const key = `${federationKey}|${config.learningRate}|${config.batchSize}`;
    if (reference?.key !== key) {
      const r = trainCentralised(fed.task, { epochs: REFERENCE_EPOCHS, batchSize: config.batchSize, lr: config.learningRate }, rng.fork(`central/${key}`));
      reference = { key, accuracy: r.accuracy, loss: r.loss };
    }
    return { accuracy: reference.accuracy, loss: reference.loss, epochs: REFERENCE_EPOCHS };
  };

  /** Worst camera's ε over the lineage, null when some camera took part in a round without noise. */
  const privacy = (): FederatedPrivacy => {
    const rows = sql.completedRounds(lineage);
    const budget = new Map<string, number>();
    let unprotected = false;
    for (const r of rows) {
      const ids = r.participants;
      if (r.sigma === null) {
        if (ids.length) unprotected = true;
        continue;
      }
      for (const id of ids) budget.set(id, (budget.get(id) ?? 0) + 1 / (r.sigma * r.sigma));
    }
    const worst = Math.max(0, ...budget.values());
    const epsilon = unprotected || (!config.dpEnabled && rows.length === 0) ? null : epsilonFromBudget(worst, config.dpDelta);
    const enabled = config.dpEnabled && !unprotected;
    const secure = config.aggregation === 'secure';
    return {
      enabled: config.dpEnabled,
      epsilon,
      delta: config.dpDelta,
      level: privacyLevel(enabled, epsilon ?? Infinity),
      perCamera: true,
      accountant: ACCOUNTANT,
      note: unprotected
        ? 'A round of this model ran without privacy noise, so no finite ε holds. Reset the model (a new lineage) with privacy on to get a guarantee.'
        : !config.dpEnabled
          ? 'Differential privacy is off: updates are not clipped or noised.'
          : secure
            ? 'Each camera clips its update and adds its share of the Gaussian noise before masking; ε is for the worst camera. With few cameras, a camera-level ε ≤ 10 costs a lot of accuracy.'
            : 'The coordinator clips each update and adds Gaussian noise to the sum; it sees each update (secure aggregation is off). ε is for the worst camera.',
    };
  };


  let running: Promise<void> | undefined;
  let stopRequested = false;
  let remaining = 0;

  const runOne = (): void => {
    const fed = getFederation();
    const round = lastRound() + 1;
    const cfg = config;
    const startedAt = now();
    const publish = (phase: 'selected' | 'training' | 'aggregating', selected: number): void =>
      bus.publish('federated.round', { round, phase, selected, participants: 0, dropped: 0, accuracy: null, loss: null, epsilon: null, message: null });
    const out = fed.runRound({ round, config: cfg, linkHealth, linkLoss: deps.linkLoss, available, dropout: deps.dropout, onPhase: (phase, info) => publish(phase, info.selected.length) });
    const finishedAt = now();
    // Which cameras were simulated to drop and from what measurement: the evidence when rounds abort.
    const simulated = (out.drops ?? []).filter((d) => d.dropAfter !== null);
    log.info({ round, status: out.status, selected: out.selected.length, simulatedDrops: simulated }, 'federated round finished');
    if (simulated.length || out.status === 'aborted') log.debug({ round, drops: out.drops }, 'federated round: link health, measured loss and simulated dropouts');
    let version: number | null = null;
    sql.transaction(() => {
      sql.insertRound({
        round, lineage, startedAt, finishedAt, status: out.status, aggregation: cfg.aggregation, algorithm: cfg.algorithm,
        selected: out.selected, participants: out.participants, dropped: out.dropped,
        accuracy: out.accuracy, loss: out.loss, delta: cfg.dpDelta, sigma: out.sigma, reason: out.reason,
      });
      const eps = privacy().epsilon;
      sql.setEpsilon(round, eps);
      if (out.status === 'completed') {
        const bytes = paramsToBytes(fed.params);
        const hash = createHash('sha256').update(bytes).digest('hex');
        sql.insertBlob(hash, bytes, finishedAt);
        version = sql.insertModel({
          lineage, round, createdAt: finishedAt, aggregation: cfg.aggregation, algorithm: cfg.algorithm, participants: out.participants,
          accuracy: out.accuracy!, loss: out.loss!, epsilon: eps, delta: cfg.dpDelta, hash, classes: fed.shape.classes, features: fed.shape.features, paramCount: fed.paramCount,
        });
        sql.setModelVersion(round, version);
      }
    });
    const epsilon = privacy().epsilon;
    bus.publish('federated.round', {
      round,
      phase: out.status,
      selected: out.selected.length,
      participants: out.participants.length,
      dropped: out.dropped.length,
      accuracy: out.accuracy,
      loss: out.loss,
      epsilon,
      message: out.reason,
    });
    if (out.status === 'aborted') {
      log.warn({ round, reason: out.reason }, 'federated round aborted');
      deps.audit?.record({
        kind: 'federated.round.aborted',
        severity: 'warning',
        source: 'federated',
        message: out.reason ?? 'round aborted',
        detail: { round, selected: out.selected.length, participants: out.participants.length },
      });
    }
  };

  const loop = async (count: number): Promise<void> => {
    try {
      for (remaining = count; remaining > 0 && !stopRequested; remaining--) {
        await defer();
        if (stopRequested) break;
        runOne();
      }
    } catch (err) {
      log.error({ err }, 'federated rounds stopped by an error');
      bus.publish('federated.round', { round: lastRound(), phase: 'stopped', selected: 0, participants: 0, dropped: 0, accuracy: null, loss: null, epsilon: null, message: 'Rounds stopped by an internal error; the details are in the log file.' });
    } finally {
      if (stopRequested)
        bus.publish('federated.round', { round: lastRound(), phase: 'stopped', selected: 0, participants: 0, dropped: 0, accuracy: null, loss: null, epsilon: null, message: 'Stopped on request.' });
      remaining = 0;
      running = undefined;
    }
  };

  const asPlanError = (err: unknown): never => {
    if (err instanceof PlanError) throw new AppError('invalid_input', err.message);
    throw err;
  };

  const status = (): MethodOutput<'federated.status'> => ({
    running: running !== undefined,
    remaining,
    lastRound: lastRound(),
    lineage,
    cameras: deps.cameras().length,
    camerasOnline: onlineCount(deps.cameras()),
    config,
    privacy: privacy(),
    aggregationNote: aggregationNote(config, Math.min(config.clientsPerRound, onlineCount(deps.cameras()))),
    reference: centralReference(),
  });

  const handlers: Handlers = {
    'federated.config.get': () => config,
    'federated.config.set': (patch) => {
      const next = federatedConfig({ ...config, ...patch });
      try {
        checkPlan(planFor(next));
      } catch (err) {
        asPlanError(err);
      }
      sql.saveConfig(JSON.stringify(next), now());
      config = next;
      return config;
    },
    'federated.status': status,
    'federated.start': ({ rounds }) => {
      if (running) throw new AppError('conflict', `Federated rounds are already running (${remaining} to go). Stop them first, or wait for them to finish.`);
      const cams = deps.cameras();
      if (cams.length < 3) throw new AppError('unavailable', `Federated learning needs at least 3 cameras; ${cams.length} are registered. Add cameras or turn on the simulated fleet.`);
      const online = onlineCount(cams);
      if (online < 3) throw new AppError('unavailable', `Federated learning needs at least 3 online cameras; ${online} of ${cams.length} are online. Bring cameras back online, then start again.`);
      try {
        checkPlan(planFor(config));
      } catch (err) {
        asPlanError(err);
      }
      stopRequested = false;
      const fromRound = lastRound() + 1;
      remaining = rounds;
      running = loop(rounds);
      return { started: true, fromRound, rounds };
    },
    'federated.stop': () => {
      const was = running !== undefined;
      if (was) stopRequested = true;
      return { stopped: was };
    },
    'federated.reset': () => {
      if (running) throw new AppError('conflict', 'Stop the running rounds before starting a new model.');
      lineage = sql.newLineage(now());
      federation?.reset();
      return { lineage };
    },
    'federated.rounds': ({ limit, beforeRound }) => {
      return { rounds: sql.rounds(limit, beforeRound) };
    },
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
    modelArtifact(version) {
      const row = sql.model(version);
      if (!row) return undefined;
      const data = sql.blob(row.hash);
      if (!data) return undefined;
      return { version: row.version, round: row.round, aggregation: row.aggregation, classes: row.classes, features: row.features, parameters: Buffer.from(data) };
    },
    idle: async () => {
      await running;
    },
    async close() {
      stopRequested = true;
      await running;
    },
  };
}
