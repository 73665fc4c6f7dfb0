import { z } from 'zod';
import { event, method, noInput } from './define';

export const federatedAggregations = ['secure', 'plain', 'robust-trimmed', 'robust-median', 'krum'] as const;

/**
 * How federated rounds run (fl2, docs/protocol.md): always secure aggregation (SecAgg+ ring, FedAvg
 * with every camera weighted equally, no differential-privacy noise), so the only settings are how
 * many cameras a round selects and how each trains. Robust aggregation needs each camera's update
 * and differential privacy needs noise the cameras do not add: neither is offered on the wire.
 */
const federatedConfigFields = {
  clientsPerRound: z.number().int().min(3).max(1000),
  localEpochs: z.number().int().min(1).max(50),
  learningRate: z.number().positive().max(10),
  batchSize: z.number().int().min(1).max(4096),
};

export const federatedConfigSchema = z.object(federatedConfigFields).strict();
export type FederatedConfig = z.infer<typeof federatedConfigSchema>;
/** The configuration's keys: a stored configuration from before fl2 keeps these and drops the rest. */
export const federatedConfigKeys = Object.keys(federatedConfigFields) as (keyof FederatedConfig)[];
// No defaults in the patch: zod 4 would fill them in and a one-field change would reset the rest.
export const federatedConfigPatchSchema = z.object(federatedConfigFields).partial().strict();
export type FederatedConfigPatch = z.infer<typeof federatedConfigPatchSchema>;

export const federatedConfigDefaults: FederatedConfig = {
  clientsPerRound: 10,
  localEpochs: 1,
  learningRate: 0.1,
  batchSize: 16,
};

/** A full configuration: the defaults with a patch applied, validated. */
export const federatedConfig = (patch: FederatedConfigPatch = {}): FederatedConfig =>
  federatedConfigSchema.parse({ ...federatedConfigDefaults, ...patch });

export const federatedPrivacySchema = z.object({
  enabled: z.boolean(),
  /** Worst camera's ε for the current model; null when no finite ε holds (a round ran without noise). */
  epsilon: z.number().nullable(),
  delta: z.number(),
  level: z.enum(['off', 'strong', 'moderate', 'weak']),
  /** Always true: the guarantee covers one camera's whole contribution, not one image. */
  perCamera: z.boolean(),
  accountant: z.string(),
  note: z.string(),
});
export type FederatedPrivacy = z.infer<typeof federatedPrivacySchema>;

/** Who took part at each phase of an fl1/fl2 round (docs/protocol.md); null for rounds before fl1. */
export const federatedRoundDetailSchema = z.object({
  /** The fl1 round id on the wire. */
  id: z.string(),
  threshold: z.number().int(),
  advertised: z.array(z.string()),
  declined: z.array(z.object({ serial: z.string(), reason: z.string() })),
  /** Their share boxes arrived in time (U2). */
  shared: z.array(z.string()),
  /** Their masked input arrived in time (U3). */
  masked: z.array(z.string()),
  /** Sent their unmasking shares. */
  unmasked: z.array(z.string()),
  /** 'setup': a set-up round discarded before go (fl2). */
  failedAt: z.enum(['advertise', 'shares', 'masked', 'unmask', 'setup']).nullable(),
  /** Camera messages refused (shape or content), with why. */
  refused: z.array(z.object({ serial: z.string(), phase: z.string(), why: z.string() })),
  phaseMs: z.record(z.string(), z.number()),
  /** The model version the cameras trained from. */
  fromVersion: z.number().int(),
  /** fl2: masking-graph degree K and share threshold tk (absent for fl1 rounds). */
  graph: z.object({ k: z.number().int(), tk: z.number().int() }).optional(),
  /** fl2: announce → deliver published (ran ahead of the round); null when the setup failed. */
  setupMs: z.number().nullable().optional(),
  /** fl2: go → result, the round's critical path; null when it never started. */
  roundMs: z.number().nullable().optional(),
});
export type FederatedRoundDetail = z.infer<typeof federatedRoundDetailSchema>;

export const federatedRoundSchema = z.object({
  round: z.number().int(),
  lineage: z.number().int(),
  startedAt: z.number(),
  finishedAt: z.number(),
  status: z.enum(['completed', 'aborted']),
  aggregation: z.enum(federatedAggregations),
  algorithm: z.enum(['fedavg', 'fedprox']),
  selected: z.array(z.string()),
  participants: z.array(z.string()),
  dropped: z.array(z.string()),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  epsilon: z.number().nullable(),
  delta: z.number(),
  reason: z.string().nullable(),
  modelVersion: z.number().int().nullable(),
  detail: federatedRoundDetailSchema.nullable(),
});
export type FederatedRound = z.infer<typeof federatedRoundSchema>;

export const federatedModelSchema = z.object({
  version: z.number().int(),
  lineage: z.number().int(),
  round: z.number().int(),
  createdAt: z.number(),
  aggregation: z.enum(federatedAggregations),
  algorithm: z.enum(['fedavg', 'fedprox']),
  participants: z.array(z.string()),
  /** For an fl1 head: the cameras' held-out accuracy/log-loss once they run it (null until reported). */
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  epsilon: z.number().nullable(),
  delta: z.number(),
  /** SHA-256 of the float32 little-endian parameters: what a deploy ships and a camera checks. */
  hash: z.string(),
  classes: z.number().int(),
  features: z.number().int(),
  paramCount: z.number().int(),
  /** The model's name (fl1: omnisight.head.confirm.v1); null for models before fl1. */
  name: z.string().nullable(),
  /** How many cameras reported the metric, over how many held-out samples. */
  metricCameras: z.number().int(),
  metricSamples: z.number().int(),
});
export type FederatedModel = z.infer<typeof federatedModelSchema>;

export const federatedStatusSchema = z.object({
  running: z.boolean(),
  /** Rounds still queued by the last federated.start. */
  remaining: z.number().int(),
  lastRound: z.number().int(),
  lineage: z.number().int(),
  /** Registered cameras, and how many of them are online (only those are selected). */
  cameras: z.number().int(),
  camerasOnline: z.number().int(),
  config: federatedConfigSchema,
  privacy: federatedPrivacySchema,
  /** Which aggregation is on, in words for the UI. */
  aggregationNote: z.string(),
  /**
   * fl2 runs a round's setup (keys, share boxes) ahead: 'ready' = the next round is set up and runs
   * only its critical path when started; 'setting-up'; 'none' (nothing set up: the next start sets
   * one up first); 'failed' (the last setup failed: reason).
   */
  setup: z.object({
    state: z.enum(['none', 'setting-up', 'ready', 'failed']),
    round: z.string().nullable(),
    /** K and tk of the set-up round (0 while unknown). */
    k: z.number().int(),
    tk: z.number().int(),
    cameras: z.number().int(),
    setupMs: z.number().nullable(),
    /** Until when the set-up round can be started (ms since the epoch). */
    goBy: z.number().nullable(),
    reason: z.string().nullable(),
  }),
  /** Centralised training on all cameras' data pooled (the charts' reference line); null below 3 cameras. */
  reference: z.object({ accuracy: z.number(), loss: z.number(), epochs: z.number().int() }).nullable(),
});

export const federatedMethods = {
  'federated.config.get': method('The federated-learning configuration.', noInput, federatedConfigSchema),
  'federated.config.set': method(
    'Change the federated-learning configuration; applies from the next round.',
    federatedConfigPatchSchema,
    federatedConfigSchema,
  ),
  'federated.status': method('Whether rounds are running, which aggregation is on, and the privacy budget spent.', noInput, federatedStatusSchema),
  'federated.start': method(
    'Run federated rounds across the cameras in the background; progress arrives as federated.round events.',
    z.object({ rounds: z.number().int().min(1).max(1000).default(10) }).strict(),
    z.object({ started: z.boolean(), fromRound: z.number().int(), rounds: z.number().int() }),
  ),
  'federated.stop': method('Stop after the round in progress.', noInput, z.object({ stopped: z.boolean() })),
  'federated.reset': method(
    'Start a new model from zero (a new lineage with a fresh privacy budget); history is kept.',
    noInput,
    z.object({ lineage: z.number().int() }),
  ),
  'federated.rounds': method(
    'Round history, newest first: participation, dropouts, accuracy, loss, ε.',
    z.object({ limit: z.number().int().min(1).max(1000).default(100), beforeRound: z.number().int().positive().optional() }).strict(),
    z.object({ rounds: z.array(federatedRoundSchema) }),
  ),
  'federated.models': method(
    'Stored model versions, newest first.',
    z.object({ limit: z.number().int().min(1).max(1000).default(50) }).strict(),
    z.object({ models: z.array(federatedModelSchema) }),
  ),
  'federated.model': method(
    'One model version; with parameters as base64 float32 little-endian when asked (for a deploy).',
    z.object({ version: z.number().int().positive(), withParameters: z.boolean().default(false) }).strict(),
    federatedModelSchema.extend({ parameters: z.string().optional() }),
  ),
} as const;

export const federatedEvents = {
  'federated.round': event(
    'Progress and results of a federated round.',
    z.object({
      round: z.number().int(),
      phase: z.enum(['selected', 'training', 'aggregating', 'completed', 'aborted', 'stopped']),
      selected: z.number().int(),
      participants: z.number().int(),
      dropped: z.number().int(),
      accuracy: z.number().nullable(),
      loss: z.number().nullable(),
      epsilon: z.number().nullable(),
      message: z.string().nullable(),
    }),
  ),
} as const;
