// Every SQL statement of federated learning (config, lineages, rounds, models, parameter blobs),
// with the zod schemas its rows are decoded by; rows come out as the contract's types.
import { z } from 'zod';
import { federatedAggregations, federatedRoundDetailSchema, type FederatedModel, type FederatedRound, type FederatedRoundDetail } from '../../preload/contract';
import { command, jsonText, query, type Db } from '../store';

const ids = jsonText(z.array(z.string()));
const algorithm = z.enum(['fedavg', 'fedprox']);

const roundRow = z
  .object({
    round: z.number().int(),
    lineage: z.number().int(),
    started_at: z.number(),
    finished_at: z.number(),
    status: z.enum(['completed', 'aborted']),
    aggregation: z.enum(federatedAggregations),
    algorithm,
    selected: ids,
    participants: ids,
    dropped: ids,
    accuracy: z.number().nullable(),
    loss: z.number().nullable(),
    epsilon: z.number().nullable(),
    delta: z.number(),
    sigma: z.number().nullable(),
    reason: z.string().nullable(),
    model_version: z.number().int().nullable(),
    detail: jsonText(federatedRoundDetailSchema).nullable(),
  })
  .transform(
    (r): FederatedRound => ({
      round: r.round,
      lineage: r.lineage,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      status: r.status,
      aggregation: r.aggregation,
      algorithm: r.algorithm,
      selected: r.selected,
      participants: r.participants,
      dropped: r.dropped,
      accuracy: r.accuracy,
      loss: r.loss,
      epsilon: r.epsilon,
      delta: r.delta,
      reason: r.reason,
      modelVersion: r.model_version,
      detail: r.detail,
    }),
  );

const modelRow = z
  .object({
    version: z.number().int(),
    lineage: z.number().int(),
    round: z.number().int(),
    created_at: z.number(),
    aggregation: z.enum(federatedAggregations),
    algorithm,
    participants: ids,
    accuracy: z.number().nullable(),
    loss: z.number().nullable(),
    epsilon: z.number().nullable(),
    delta: z.number(),
    hash: z.string(),
    classes: z.number().int(),
    features: z.number().int(),
    param_count: z.number().int(),
    name: z.string().nullable(),
    metric_cameras: z.number().int(),
    metric_samples: z.number().int(),
  })
  .transform(
    (r): FederatedModel => ({
      version: r.version,
      lineage: r.lineage,
      round: r.round,
      createdAt: r.created_at,
      aggregation: r.aggregation,
      algorithm: r.algorithm,
      participants: r.participants,
      accuracy: r.accuracy,
      loss: r.loss,
      epsilon: r.epsilon,
      delta: r.delta,
      hash: r.hash,
      classes: r.classes,
      features: r.features,
      paramCount: r.param_count,
      name: r.name,
      metricCameras: r.metric_cameras,
      metricSamples: r.metric_samples,
    }),
  );

const blob = z.object({ data: z.instanceof(Buffer) });
const id = z.object({ id: z.number().int() });

export interface RoundInsert {
  round: number;
  lineage: number;
  startedAt: number;
  finishedAt: number;
  status: FederatedRound['status'];
  aggregation: FederatedRound['aggregation'];
  algorithm: FederatedRound['algorithm'];
  selected: readonly string[];
  participants: readonly string[];
  dropped: readonly string[];
  accuracy: number | null;
  loss: number | null;
  delta: number;
  sigma: number | null;
  reason: string | null;
  detail?: FederatedRoundDetail | null;
}

export type ModelInsert = Omit<FederatedModel, 'version' | 'paramCount' | 'metricCameras' | 'metricSamples'> & { paramCount: number; version?: number };

export function federatedStatements(db: Db) {
  const configGet = query(db, 'SELECT value FROM federated_config WHERE id = 1', z.object({ value: z.string() }));
  const configSet = command(
    db,
    'INSERT INTO federated_config (id, value, updated_at) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  const maxLineage = query(db, 'SELECT max(id) AS id FROM federated_lineages', z.object({ id: z.number().int().nullable() }));
  const newLineage = query(db, 'INSERT INTO federated_lineages (started_at) VALUES (?) RETURNING id', id);
  const maxRound = query(db, 'SELECT max(round) AS r FROM federated_rounds', z.object({ r: z.number().int().nullable() }));
  const latestParams = query(db, 'SELECT b.data FROM federated_models m JOIN federated_blobs b ON b.hash = m.hash WHERE m.lineage = ? ORDER BY m.version DESC LIMIT 1', blob);
  const completedRounds = query(
    db,
    "SELECT participants, sigma FROM federated_rounds WHERE lineage = ? AND status = 'completed'",
    z.object({ participants: ids, sigma: z.number().nullable() }),
  );
  const insertBlob = command(db, 'INSERT OR IGNORE INTO federated_blobs (hash, data, created_at) VALUES (?, ?, ?)');
  const insertModel = query(
    db,
    `INSERT INTO federated_models (version, lineage, round, created_at, aggregation, algorithm, participants, accuracy, loss, epsilon, delta, hash, classes, features, param_count, name)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING version`,
    z.object({ version: z.number().int() }),
  );
  const insertRound = command(
    db,
    `INSERT INTO federated_rounds (round, lineage, started_at, finished_at, status, aggregation, algorithm, selected, participants, dropped, accuracy, loss, epsilon, delta, sigma, reason, model_version, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setEpsilon = command(db, 'UPDATE federated_rounds SET epsilon = ? WHERE round = ?');
  const setModelVersion = command(db, 'UPDATE federated_rounds SET model_version = ? WHERE round = ?');
  const nextVersion = query(db, 'SELECT coalesce(max(version), 0) + 1 AS v FROM federated_models', z.object({ v: z.number().int() }));
  const latestModel = query(db, 'SELECT * FROM federated_models WHERE lineage = ? ORDER BY version DESC LIMIT 1', modelRow);
  const setMetric = command(db, 'UPDATE federated_models SET accuracy = ?, loss = ?, metric_cameras = ?, metric_samples = ? WHERE version = ?');
  const roundsBefore = query(db, 'SELECT * FROM federated_rounds WHERE round < ? ORDER BY round DESC LIMIT ?', roundRow);
  const rounds = query(db, 'SELECT * FROM federated_rounds ORDER BY round DESC LIMIT ?', roundRow);
  const models = query(db, 'SELECT * FROM federated_models ORDER BY version DESC LIMIT ?', modelRow);
  const model = query(db, 'SELECT * FROM federated_models WHERE version = ?', modelRow);
  const blobByHash = query(db, 'SELECT data FROM federated_blobs WHERE hash = ?', blob);

  return {
    /** The stored configuration as JSON (decoded and defaulted by the caller), if any. */
    config: (): string | undefined => configGet.get()?.value,
    saveConfig: (json: string, at: number): void => void configSet.run(json, at),
    /** The newest lineage, created when there is none. */
    currentLineage: (at: number): number => maxLineage.get()?.id ?? newLineage.get(at)!.id,
    newLineage: (at: number): number => newLineage.get(at)!.id,
    lastRound: (): number => maxRound.get()?.r ?? 0,
    latestParameters: (lineage: number): Buffer | undefined => latestParams.get(lineage)?.data,
    completedRounds: (lineage: number) => completedRounds.all(lineage),
    insertRound: (r: RoundInsert): void =>
      void insertRound.run(
        r.round, r.lineage, r.startedAt, r.finishedAt, r.status, r.aggregation, r.algorithm,
        JSON.stringify(r.selected), JSON.stringify(r.participants), JSON.stringify(r.dropped),
        r.accuracy, r.loss, null, r.delta, r.sigma, r.reason, null, r.detail ? JSON.stringify(r.detail) : null,
      ),
    setEpsilon: (round: number, epsilon: number | null): void => void setEpsilon.run(epsilon, round),
    setModelVersion: (round: number, version: number): void => void setModelVersion.run(version, round),
    insertBlob: (hash: string, data: Buffer, at: number): void => void insertBlob.run(hash, data, at),
    /** Returns the new model's version. */
    insertModel: (m: ModelInsert): number =>
      insertModel.get(
        m.version ?? null, m.lineage, m.round, m.createdAt, m.aggregation, m.algorithm, JSON.stringify(m.participants),
        m.accuracy, m.loss, m.epsilon, m.delta, m.hash, m.classes, m.features, m.paramCount, m.name ?? null,
      )!.version,
    /** The version the next stored model will get (versions are never reused). */
    nextVersion: (): number => nextVersion.get()!.v,
    latestModel: (lineage: number): FederatedModel | undefined => latestModel.get(lineage),
    /** The cameras' held-out metric of a model version, once they run it. */
    setMetric: (version: number, m: { accuracy: number; loss: number; cameras: number; samples: number }): void =>
      void setMetric.run(m.accuracy, m.loss, m.cameras, m.samples, version),
    rounds: (limit: number, beforeRound?: number): FederatedRound[] => (beforeRound ? roundsBefore.all(beforeRound, limit) : rounds.all(limit)),
    models: (limit: number): FederatedModel[] => models.all(limit),
    model: (version: number): FederatedModel | undefined => model.get(version),
    blob: (hash: string): Buffer | undefined => blobByHash.get(hash)?.data,
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
  };
}
