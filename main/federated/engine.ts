import type { FederatedConfig } from '../../preload/contract';
import { paramCount, pool, type Task } from './data';
import { evaluate, newParams, train, type HeadShape } from './model';
import { addGaussian, clipL2 } from './privacy';
import { dequantize, quantize, quantizer } from './quantize';
import type { Rng } from './random';
import { krum, median, trimmedMean, weightedMean } from './robust';
import { quorum, runSecureAggregation, SecAggAbort, SecAggClient, type ClientMessage, type Phase } from './secagg';
import { selectParticipants } from './selection';

/** What one round does, derived from the configuration; kept separate so a bad mix is refused in one place. */
export interface RoundPlan {
  secure: boolean;
  robust: 'trimmed-mean' | 'median' | 'krum' | null;
  privacy: boolean;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

export function planFor(config: FederatedConfig): RoundPlan {
  const robust = { 'robust-trimmed': 'trimmed-mean', 'robust-median': 'median', krum: 'krum' } as const;
  return {
    secure: config.aggregation === 'secure',
    robust: config.aggregation in robust ? robust[config.aggregation as keyof typeof robust] : null,
    privacy: config.dpEnabled,
  };
}

export function checkPlan(plan: RoundPlan): void {
  if (plan.secure && plan.robust)
    throw new PlanError(
      `Secure aggregation and robust aggregation (${plan.robust}) cannot run on the same round: secure aggregation hides each camera's update, ` +
        'and robust aggregation must see every update to discard outliers. Choose one aggregation mode.',
    );
  if (plan.privacy && plan.robust)
    throw new PlanError(
      `Differential privacy is accounted only for sum-based aggregation (secure or plain); ${plan.robust} has no small sensitivity bound. ` +
        'Switch aggregation to secure or plain, or turn differential privacy off.',
    );
}

export interface RoundContext {
  round: number;
  config: FederatedConfig;
  linkHealth: (cameraId: string) => number;
  /** Whether a camera can take part now (offline cameras are never selected); all by default. */
  available?: (cameraId: string) => boolean;
  /**
   * Measured message loss 0..1 per camera (the swarm's sequence gaps); null when unmeasured. The
   * default simulated dropouts are drawn from it (see lossDropout); without it nobody drops.
   */
  linkLoss?: (cameraId: string) => number | null;
  /** Overrides the simulated dropouts: after which protocol message a camera goes silent, if at all. */
  dropout?: (cameraId: string, health: number, rng: Rng) => Phase | undefined;
  /** Sees every message the coordinator receives during secure aggregation. */
  tap?: (m: ClientMessage) => void;
  /** Sees and may rewrite, in place, the cameras' updates before aggregation (poisoned-camera tests, see poison.ts). */
  tamper?: (updates: ReadonlyMap<string, Float32Array>) => void;
  /** Override of the configuration's plan (tests use it to try combinations the config cannot express). */
  plan?: RoundPlan;
  onPhase?: (phase: 'selected' | 'training' | 'aggregating', info: { selected: string[] }) => void;
}

export interface RoundOutcome {
  status: 'completed' | 'aborted';
  selected: string[];
  participants: string[];
  dropped: string[];
  accuracy: number | null;
  loss: number | null;
  reason: string | null;
  /** Noise multiplier σ applied to the released sum this round (null without privacy). */
  sigma: number | null;
  /** Per selected camera: the link health and loss used and the simulated dropout drawn (for the log). */
  drops?: { id: string; health: number; loss: number | null; dropAfter: Phase | null }[];
}

/**
 * Default simulated dropout, from the camera's measured message loss p (the swarm's fraction of
 * missing sequence numbers). Each protocol message after the advertise (shares, masked input,
 * unmask shares) is lost independently with probability p, and nothing is retransmitted, so the
 * camera goes silent from its first lost message: it drops after the advertise with probability p,
 * after the shares with (1 − p)·p, after the masked input with (1 − p)²·p. A camera with no
 * measurement (null) never drops: link health alone (which includes latency and, for unmeasured
 * cameras, a guess from the fleet state) is not a loss rate. On a loss-free link the round is whole.
 */
export function lossDropout(loss: number | null, rng: Rng): Phase | undefined {
  if (loss === null || !(loss > 0)) return undefined;
  const p = Math.min(1, loss);
  for (const phase of ['advertise', 'share', 'masked'] as const) if (rng.float() < p) return phase;
  return undefined;
}

/** Whether a camera's update reaches the coordinator when it drops after `phase` (no masking protocol). */
const delivers = (phase: Phase | undefined): boolean => phase === undefined || phase === 'masked' || phase === 'unmask';

/**
 * The simulated federation: one client per camera, each with its own generated local data and
 * random stream, and the coordinator's global model. Clients run in-process here; they talk to the
 * coordinator only through the secure-aggregation messages, so they could move to the cameras.
 */
export class Federation {
  readonly shape: HeadShape;
  params: Float32Array;
  readonly cameras: Map<string, { index: number; rng: Rng }>;
  private readonly maxSamples: number;

  constructor(
    readonly task: Task,
    readonly cameraIds: readonly string[],
    private readonly rng: Rng,
  ) {
    if (task.clients.length < cameraIds.length) throw new Error('the task has fewer client data sets than cameras');
    this.shape = { classes: task.spec.classes, features: task.spec.features };
    this.params = newParams(this.shape);
    this.cameras = new Map(cameraIds.map((id, index) => [id, { index, rng: rng.fork(`camera/${id}`) }]));
    this.maxSamples = Math.max(...task.clients.slice(0, cameraIds.length).map((d) => d.n));
  }

  get paramCount(): number {
    return paramCount(this.shape);
  }

  reset(): void {
    this.params = newParams(this.shape);
  }

  evaluate(): { accuracy: number; loss: number } {
    return evaluate(this.params, this.shape, this.task.test);
  }

  runRound(ctx: RoundContext): RoundOutcome {
    const { config } = ctx;
    const plan = ctx.plan ?? planFor(config);
    checkPlan(plan);
    const eligible = ctx.available ? this.cameraIds.filter((id) => ctx.available!(id)) : this.cameraIds;
    if (eligible.length < 3)
      return {
        status: 'aborted', selected: [], participants: [], dropped: [], accuracy: null, loss: null, sigma: null,
        reason: `Only ${eligible.length} of ${this.cameraIds.length} cameras are online and at least 3 are needed. Bring cameras back online, then start again.`,
      };
    const selected = selectParticipants(eligible, config.clientsPerRound, ctx.linkHealth, this.rng);
    ctx.onPhase?.('selected', { selected });
    const need = quorum(selected.length);
    const dropLog = selected.map((id) => {
      const health = ctx.linkHealth(id);
      const loss = ctx.linkLoss?.(id) ?? null;
      const dropAfter = ctx.dropout ? ctx.dropout(id, health, this.rng) : lossDropout(loss, this.rng);
      return { id, health, loss, dropAfter: dropAfter ?? null };
    });
    const drops = new Map(dropLog.map((d) => [d.id, d.dropAfter ?? undefined]));
    const abort = (reason: string, participants: string[] = []): RoundOutcome => ({
      status: 'aborted',
      selected,
      participants,
      dropped: selected.filter((id) => !participants.includes(id)),
      accuracy: null,
      loss: null,
      reason,
      sigma: null,
      drops: dropLog,
    });

    // Local training, only on cameras that get as far as sending an update.
    ctx.onPhase?.('training', { selected });
    const mu = config.algorithm === 'fedprox' ? config.mu : 0;
    const updates = new Map<string, { delta: Float32Array; n: number }>();
    for (const id of selected) {
      const phase = drops.get(id);
      if (!delivers(phase)) continue;
      const cam = this.cameras.get(id)!;
      const data = this.task.clients[cam.index]!;
      const { params } = train(this.params, this.shape, data, { epochs: config.localEpochs, batchSize: config.batchSize, lr: config.learningRate, mu }, cam.rng);
      for (let i = 0; i < params.length; i++) params[i]! -= this.params[i]!;
      updates.set(id, { delta: params, n: data.n });
    }

    ctx.tamper?.(new Map([...updates].map(([id, u]) => [id, u.delta])));
    ctx.onPhase?.('aggregating', { selected });
    const P = this.paramCount;
    const sigma = plan.privacy ? config.dpNoiseMultiplier : null;
    if (plan.privacy) for (const u of updates.values()) clipL2(u.delta, config.dpClip);
    let step: Float64Array;
    let participants: string[];

    if (plan.secure) {
      // Without privacy, FedAvg weights travel inside the masked vector (last slot), scaled by the
      // federation's largest camera so each weight is at most 1; the coordinator divides at the end.
      // With privacy every camera weighs the same, so one camera's influence is bounded by the clip.
      const noiseStd = plan.privacy ? (config.dpNoiseMultiplier * config.dpClip) / Math.sqrt(need) : 0;
      const range = plan.privacy ? Math.max(4, config.dpClip + 6 * noiseStd) : 4;
      const q = quantizer(range, selected.length);
      const participantsIn = selected.map((id, i) => {
        const u = updates.get(id);
        const v = new Float64Array(P + 1);
        if (u) {
          const w = plan.privacy ? 1 : u.n / this.maxSamples;
          for (let j = 0; j < P; j++) v[j] = w * u.delta[j]!;
          if (plan.privacy) addGaussian(v.subarray(0, P), noiseStd, this.cameras.get(id)!.rng);
          v[P] = w;
        }
        return { client: new SecAggClient(i + 1, this.cameras.get(id)!.rng), input: quantize(v, q), dropAfter: drops.get(id) };
      });
      let result;
      try {
        result = runSecureAggregation({
          round: `round-${ctx.round}`,
          vectorLength: P + 1,
          participants: participantsIn,
          threshold: need,
          graph: config.secureGraph,
          tap: ctx.tap,
        });
      } catch (err) {
        if (err instanceof SecAggAbort) return abort(err.message);
        throw err;
      }
      participants = result.included.map((i) => selected[i - 1]!);
      const sum = dequantize(result.sum, q);
      const total = sum[P]!;
      step = sum.subarray(0, P).map((v) => v / total);
    } else {
      participants = selected.filter((id) => updates.has(id));
      if (participants.length < need)
        return abort(
          `Only ${participants.length} of ${selected.length} cameras delivered an update and at least ${need} are needed. No partial result was used. Improve the cameras’ links or select more cameras per round, then start again.`,
          participants,
        );
      const deltas = participants.map((id) => updates.get(id)!.delta);
      if (plan.robust === 'trimmed-mean') step = trimmedMean(deltas, config.trimFraction);
      else if (plan.robust === 'median') step = median(deltas);
      else if (plan.robust === 'krum') {
        const f = Math.min(config.krumFaulty, Math.floor((deltas.length - 3) / 2));
        step = krum(deltas, Math.max(0, f)).vector;
      } else if (plan.privacy) {
        // Central Gaussian noise on the sum at the coordinator (it sees each clipped update here).
        step = weightedMean(deltas, deltas.map(() => 1));
        const std = (config.dpNoiseMultiplier * config.dpClip) / deltas.length;
        addGaussian(step, std, this.rng);
      } else step = weightedMean(deltas, participants.map((id) => updates.get(id)!.n));
    }

    for (let i = 0; i < P; i++) this.params[i]! += step[i]!;
    const { accuracy, loss } = this.evaluate();
    return {
      status: 'completed',
      selected,
      participants,
      dropped: selected.filter((id) => !participants.includes(id)),
      accuracy,
      loss,
      reason: null,
      sigma,
      drops: dropLog,
    };
  }
}

/** Centralised baseline: the same head and optimiser on all cameras' data pooled. */
export function trainCentralised(task: Task, opts: { epochs: number; batchSize: number; lr: number }, rng: Rng): { accuracy: number; loss: number; params: Float32Array } {
  const shape = { classes: task.spec.classes, features: task.spec.features };
  const { params } = train(newParams(shape), shape, pool(task.clients), { ...opts, mu: 0 }, rng);
  return { ...evaluate(params, shape, task.test), params };
}
