import { z } from 'zod';
import { addPrg, bytesToInt32, float32ToBytes, maskKey, x25519, x25519PrivateKey, x25519PublicKey, x25519PublicOf } from './fl1';
import { bytesToField, combine, FIELD_PRIME, fieldToBytes, lagrangeAtZero, type Share } from './shamir';

/**
 * The desktop's side of fl1 (docs/protocol.md, "Federated learning (fl1)"): the aggregation server.
 * It announces a round, routes the cameras' encrypted share boxes, collects masked inputs and, once
 * enough cameras help unmask, learns the SUM of the survivors' quantised updates and nothing about
 * any single one. Every camera message reaches it only through `receive`, which the composition
 * root calls with bodies the swarm verified (signed envelope v2, kind "fl"); it never sees a
 * camera's data, and its own messages go out through the injected transport (MQTT).
 *
 * Honest-but-curious server model (Bonawitz et al. 2017, semi-honest variant, full masking graph):
 * the server is trusted to follow the protocol but not to see individual updates. Every phase needs
 * t = ⌈2n/3⌉ answers of the n selected cameras, else the round fails closed and publishes only the
 * reason.
 */

export const HEAD_NAME = 'omnisight.head.confirm.v1';
export const HEAD_FEATURES = 13;
export const HEAD_PARAMS = HEAD_FEATURES + 1;
/** Version 0, built into every camera app: "the detector's score, squashed": w_0 = 4, b = −2. */
export const headV0 = (): Float32Array => {
  const p = new Float32Array(HEAD_PARAMS);
  p[0] = 4;
  p[HEAD_PARAMS - 1] = -2;
  return p;
};

export const threshold = (n: number): number => Math.ceil((2 * n) / 3);
/** s = ⌊(2^31 − 1)/(r·n)⌋: the sum of n clipped updates never wraps. */
export const quantizerScale = (range: number, n: number): number => Math.floor((2 ** 31 - 1) / (range * Math.max(1, n)));

export type FlPhase = 'advertise' | 'shares' | 'masked' | 'unmask';
export const flPhases: readonly FlPhase[] = ['advertise', 'shares', 'masked', 'unmask'];

export interface FlTransport {
  /** Publish a server message (plain JSON text) with QoS 1 from the desktop's own MQTT client. */
  publish(topic: string, payload: string): void;
}

export interface FlClock {
  now(): number;
  /** Runs fn after ms; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export interface RoundSpec {
  round: string;
  model: { version: number; params: Float32Array };
  /** The version the result gets (greater than model.version; the desktop numbers versions across lineages). Default version + 1. */
  nextVersion?: number;
  selected: readonly string[];
  train: { epochs: number; lr: number; batchSize: number };
  /** Clip range r of each update coordinate. */
  range: number;
  deadlines: Record<FlPhase, number>;
  minSamples: number;
}

export interface RoundReport {
  round: string;
  ok: boolean;
  reason: string | null;
  /** Phase where a failed round stopped. */
  failedAt: FlPhase | null;
  threshold: number;
  selected: string[];
  advertised: string[];
  declined: { serial: string; reason: string }[];
  /** U2: whose share boxes arrived in time. */
  shared: string[];
  /** U3: whose masked input arrived in time. */
  masked: string[];
  /** Who sent unmasking shares. */
  unmasked: string[];
  /** U2 \ U3: shared keys, then went silent; their pairwise masks were removed from their s. */
  dropped: string[];
  /** Camera messages refused (bad shape, wrong phase content), with why. */
  refused: { serial: string; phase: string; why: string }[];
  /** The new head when ok (float32), null otherwise. */
  params: Float32Array | null;
  /** Exact Σ q_u in Z_2^32 (ok only): what the server learns. */
  sum: Int32Array | null;
  scale: number;
  startedAt: number;
  finishedAt: number;
  /** Milliseconds each completed phase took. */
  phaseMs: Partial<Record<FlPhase, number>>;
}

export interface FlProgress {
  round: string;
  phase: FlPhase | 'announce' | 'done';
  report: RoundReport;
}

export interface FlServer {
  /** A verified fl body from a camera (the swarm checked signature, key, epoch and replay). */
  receive(serial: string, body: unknown): void;
  /** Runs one round to its end (ok or failed closed). One round at a time. */
  run(spec: RoundSpec, onProgress?: (p: FlProgress) => void): Promise<RoundReport>;
  busy(): boolean;
  /** Ends the round in progress as failed (e.g. on shutdown). */
  abort(reason: string): void;
}

// ---- camera message bodies (strict: unknown fields are refused) ------------------------------
const SERIAL = z.string().regex(/^[0-9A-F]{12}$/);
const ROUND = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const b64 = (bytes: number) =>
  z
    .string()
    .max(Math.ceil(bytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/)
    .transform((s, ctx) => {
      const b = Buffer.from(s, 'base64');
      if (b.length !== bytes || b.toString('base64') !== s) {
        ctx.addIssue({ code: 'custom', message: `must be ${bytes} bytes of standard base64` });
        return z.NEVER;
      }
      return b;
    });
const BOX_B64 = b64(100);
const share = z.object({ of: SERIAL, y: b64(32) }).strict();
export const flCameraBodySchema = z.discriminatedUnion('phase', [
  z.object({ round: ROUND, phase: z.literal('advertise'), cPk: b64(32), sPk: b64(32) }).strict(),
  z.object({ round: ROUND, phase: z.literal('decline'), reason: z.string().max(200) }).strict(),
  z.object({ round: ROUND, phase: z.literal('shares'), boxes: z.array(z.object({ to: SERIAL, box: BOX_B64 }).strict()).max(1000) }).strict(),
  z.object({ round: ROUND, phase: z.literal('masked'), y: b64(HEAD_PARAMS * 4) }).strict(),
  z.object({ round: ROUND, phase: z.literal('unmask'), selfShares: z.array(share).max(1000), keyShares: z.array(share).max(1000) }).strict(),
]);
export type FlCameraBody = z.infer<typeof flCameraBodySchema>;

const topics = {
  announce: 'omnisight/desktop/fl/announce',
  roster: (r: string) => `omnisight/desktop/fl/${r}/roster`,
  deliver: (r: string, serial: string) => `omnisight/desktop/fl/${r}/deliver/${serial}`,
  unmask: (r: string) => `omnisight/desktop/fl/${r}/unmask`,
  result: (r: string) => `omnisight/desktop/fl/${r}/result`,
};
export const flTopics = topics;

class RoundFailed extends Error {
  constructor(
    readonly phase: FlPhase,
    message: string,
  ) {
    super(message);
  }
}

interface Collector {
  phase: FlPhase;
  expect: ReadonlySet<string>;
  got: Map<string, FlCameraBody>;
  /** Validates a body of this phase from this camera; returns why it is refused, or null. */
  check: (serial: string, body: FlCameraBody) => string | null;
  done: () => void;
}

export function createFlServer(deps: { transport: FlTransport; clock: FlClock; log?: { debug: (o: object, m: string) => void; warn: (o: object, m: string) => void } }): FlServer {
  const { transport, clock } = deps;
  let current: { round: string; collector?: Collector; refused: RoundReport['refused']; abort?: (why: string) => void } | undefined;

  const publish = (topic: string, msg: unknown): void => transport.publish(topic, JSON.stringify(msg));

  const receive = (serial: string, raw: unknown): void => {
    const cur = current;
    if (!cur) return;
    const parsed = flCameraBodySchema.safeParse(raw);
    if (!parsed.success) {
      const round = typeof raw === 'object' && raw !== null ? (raw as { round?: unknown }).round : undefined;
      if (round === cur.round) cur.refused.push({ serial, phase: String((raw as { phase?: unknown }).phase).slice(0, 16), why: parsed.error.issues[0]?.message ?? 'invalid' });
      return;
    }
    const body = parsed.data;
    if (body.round !== cur.round) return; // another (old) round: ignored
    const c = cur.collector;
    const phase = body.phase === 'decline' ? 'advertise' : body.phase;
    // Late or early messages (a phase already closed, or not yet open) count for nothing: a camera
    // silent past a deadline has dropped out, whatever it sends afterwards.
    if (!c || c.phase !== phase || !c.expect.has(serial) || c.got.has(serial)) return;
    const why = c.check(serial, body);
    if (why) {
      cur.refused.push({ serial, phase: body.phase, why });
      deps.log?.warn({ serial, round: cur.round, phase: body.phase, why }, 'fl message refused');
      return;
    }
    c.got.set(serial, body);
    if (c.got.size === c.expect.size) c.done();
  };

  const collect = (phase: FlPhase, expect: ReadonlySet<string>, deadline: number, check: Collector['check']): Promise<Map<string, FlCameraBody>> =>
    new Promise((resolve, reject) => {
      const got = new Map<string, FlCameraBody>();
      let cancel = (): void => undefined;
      const finish = (): void => {
        cancel();
        if (current?.collector === collector) current.collector = undefined;
        resolve(got);
      };
      const collector: Collector = { phase, expect, got, check, done: finish };
      current!.collector = collector;
      current!.abort = (why) => {
        cancel();
        current!.collector = undefined;
        reject(new RoundFailed(phase, why));
      };
      if (expect.size === 0) return finish();
      cancel = clock.after(deadline, finish);
    });

  const run = async (spec: RoundSpec, onProgress?: (p: FlProgress) => void): Promise<RoundReport> => {
    if (current) throw new Error(`round ${current.round} is still running`);
    if (!ROUND.safeParse(spec.round).success) throw new Error('round id must be 1..64 of [A-Za-z0-9_-]');
    if (spec.model.params.length !== HEAD_PARAMS) throw new Error(`the head has ${HEAD_PARAMS} parameters`);
    const selected = [...new Set(spec.selected)].sort();
    const n = selected.length;
    const t = threshold(n);
    const scale = quantizerScale(spec.range, n);
    const refused: RoundReport['refused'] = [];
    current = { round: spec.round, refused };
    const report: RoundReport = {
      round: spec.round, ok: false, reason: null, failedAt: null, threshold: t, selected,
      advertised: [], declined: [], shared: [], masked: [], unmasked: [], dropped: [], refused,
      params: null, sum: null, scale, startedAt: clock.now(), finishedAt: 0, phaseMs: {},
    };
    const progress = (phase: FlProgress['phase']): void => {
      try {
        onProgress?.({ round: spec.round, phase, report });
      } catch {
        // A listener's error changes nothing of the round.
      }
    };
    const quorum = (phase: FlPhase, got: number): void => {
      if (got >= t) return;
      const declined = phase === 'advertise' ? report.declined : [];
      // Cameras that said why they stay out (too few labelled detections yet) are named as such:
      // "did not answer" would send the user looking for a network fault.
      const why = declined.length
        ? ` ${declined.length} declined (${declined[0]!.serial}: ${declined[0]!.reason}). Cameras learn from the outcomes of their own detections: let them run longer, then start again.`
        : ' Check that the cameras run an app with federated learning and are online, or give the phase more time.';
      throw new RoundFailed(
        phase,
        `The round stopped at the ${phase} step: ${got} of the ${n} selected cameras took part in time and at least ${t} are needed. Nothing partial was used.${why}`,
      );
    };
    let phaseStart = clock.now();
    const endPhase = (p: FlPhase): void => {
      const at = clock.now();
      report.phaseMs[p] = at - phaseStart;
      phaseStart = at;
    };

    try {
      publish(topics.announce, {
        v: 1,
        round: spec.round,
        model: { name: HEAD_NAME, version: spec.model.version, params: float32ToBytes(spec.model.params).toString('base64') },
        train: spec.train,
        quantizer: { range: spec.range, scale },
        selected,
        threshold: t,
        deadlines: spec.deadlines,
        minSamples: spec.minSamples,
      });
      progress('announce');
      if (n < 3) throw new RoundFailed('advertise', `A round needs at least 3 selected cameras; ${n} were selected.`);

      // 1–2. advertise
      const keysSeen = new Set<string>();
      const adv = await collect('advertise', new Set(selected), spec.deadlines.advertise, (_serial, b) => {
        if (b.phase !== 'advertise') return null;
        const k = [b.cPk.toString('hex'), b.sPk.toString('hex')];
        // A repeated key would make two cameras' masks cancel against the server: refuse it.
        if (b.cPk.equals(b.sPk) || k.some((x) => keysSeen.has(x))) return 'a public key repeats one already advertised';
        try {
          x25519PublicKey(b.sPk);
          x25519PublicKey(b.cPk);
        } catch {
          return 'not an X25519 public key';
        }
        k.forEach((x) => keysSeen.add(x));
        return null;
      });
      endPhase('advertise');
      const peers: { serial: string; index: number; cPk: Buffer; sPk: Buffer }[] = [];
      for (const serial of selected) {
        const b = adv.get(serial);
        if (b?.phase === 'advertise') peers.push({ serial, index: peers.length + 1, cPk: b.cPk, sPk: b.sPk });
        else if (b?.phase === 'decline') report.declined.push({ serial, reason: b.reason });
      }
      report.advertised = peers.map((p) => p.serial);
      progress('advertise');
      quorum('advertise', peers.length);
      const bySerial = new Map(peers.map((p) => [p.serial, p]));

      // 3–4. roster, shares
      publish(topics.roster(spec.round), {
        round: spec.round,
        threshold: t,
        peers: peers.map((p) => ({ serial: p.serial, index: p.index, cPk: p.cPk.toString('base64'), sPk: p.sPk.toString('base64') })),
      });
      const sharesMsgs = await collect('shares', new Set(bySerial.keys()), spec.deadlines.shares, (serial, b) => {
        if (b.phase !== 'shares') return 'not a shares message';
        const to = new Set(b.boxes.map((x) => x.to));
        if (to.size !== b.boxes.length || to.size !== peers.length - 1 || to.has(serial) || [...to].some((x) => !bySerial.has(x)))
          return 'shares must hold exactly one box for every other camera on the roster';
        return null;
      });
      endPhase('shares');
      const u2 = peers.filter((p) => sharesMsgs.has(p.serial));
      report.shared = u2.map((p) => p.serial);
      progress('shares');
      quorum('shares', u2.length);

      // 5–6. deliver, masked
      const inU2 = new Set(report.shared);
      const inbox = new Map<string, { from: string; box: string }[]>(report.shared.map((s) => [s, []]));
      for (const from of report.shared) {
        const m = sharesMsgs.get(from)!;
        if (m.phase !== 'shares') continue;
        for (const b of m.boxes) if (inU2.has(b.to)) inbox.get(b.to)!.push({ from, box: b.box.toString('base64') });
      }
      for (const [to, boxes] of inbox) publish(topics.deliver(spec.round, to), { round: spec.round, boxes });
      const maskedMsgs = await collect('masked', inU2, spec.deadlines.masked, (_s, b) => (b.phase === 'masked' ? null : 'not a masked message'));
      endPhase('masked');
      const u3 = u2.filter((p) => maskedMsgs.has(p.serial));
      report.masked = u3.map((p) => p.serial);
      const inU3 = new Set(report.masked);
      const dropped = u2.filter((p) => !inU3.has(p.serial));
      report.dropped = dropped.map((p) => p.serial);
      progress('masked');
      quorum('masked', u3.length);

      // 7–8. unmask
      const isDropped = new Set(report.dropped);
      publish(topics.unmask(spec.round), { round: spec.round, survivors: report.masked, dropped: report.dropped });
      const unmaskMsgs = await collect('unmask', inU3, spec.deadlines.unmask, (serial, b) => {
        if (b.phase !== 'unmask') return 'not an unmask message';
        const self = new Set(b.selfShares.map((s) => s.of));
        const key = new Set(b.keyShares.map((s) => s.of));
        if (self.size !== b.selfShares.length || key.size !== b.keyShares.length) return 'a camera appears twice';
        // Never both shares for one camera: that would unmask its individual input.
        for (const s of self) if (!inU3.has(s)) return `selfShares may only name survivors (${s} is not one)`;
        for (const s of key) if (!isDropped.has(s)) return `keyShares may only name dropped cameras (${s} did not drop)`;
        for (const s of [...b.selfShares, ...b.keyShares]) if (bytesToField(s.y) >= FIELD_PRIME) return 'a share is not below p';
        return null;
      });
      endPhase('unmask');
      report.unmasked = u3.filter((p) => unmaskMsgs.has(p.serial)).map((p) => p.serial);
      progress('unmask');
      quorum('unmask', report.unmasked.length);

      // Rebuild every secret first: a missing share fails the round before any unmasking work.
      // Most secrets are rebuilt from the same t holders: their Lagrange weights are computed once.
      const weights = new Map<string, bigint[]>();
      // Each holder's shares by owner, indexed once (a linear search per owner and holder was O(n³)).
      const sharesOf = (pick: 'selfShares' | 'keyShares'): Map<string, Map<string, Buffer>> =>
        new Map(
          report.unmasked.map((holder) => {
            const m = unmaskMsgs.get(holder)!;
            return [holder, new Map(m.phase === 'unmask' ? m[pick].map((e) => [e.of, e.y] as const) : [])];
          }),
        );
      const byPick = { selfShares: sharesOf('selfShares'), keyShares: sharesOf('keyShares') };
      const rebuild = (owner: string, pick: 'selfShares' | 'keyShares'): bigint => {
        const shares: Share[] = [];
        for (const holder of report.unmasked) {
          const y = byPick[pick].get(holder)!.get(owner);
          if (y) shares.push({ x: bySerial.get(holder)!.index, y: bytesToField(y) });
          if (shares.length === t) break;
        }
        if (shares.length < t)
          throw new RoundFailed(
            'unmask',
            `The round stopped at the unmask step: ${shares.length} of the ${t} shares needed to remove camera ${owner}’s mask arrived. Nothing partial was used.`,
          );
        const key = shares.map((x) => x.x).join(',');
        let w = weights.get(key);
        if (!w) weights.set(key, (w = lagrangeAtZero(shares.map((x) => x.x))));
        return combine(shares, w);
      };
      const selfSeeds = u3.map((p) => fieldToBytes(rebuild(p.serial, 'selfShares')));
      const droppedKeys = dropped.map((p) => {
        const raw = fieldToBytes(rebuild(p.serial, 'keyShares'));
        const priv = x25519PrivateKey(raw);
        // The rebuilt s must be the one whose public key the camera advertised; otherwise a share
        // was wrong and the sum would be garbage.
        if (!x25519PublicOf(priv).equals(p.sPk))
          throw new RoundFailed('unmask', `The round stopped at the unmask step: the shares of camera ${p.serial}’s key do not rebuild the key it advertised. Nothing partial was used.`);
        return priv;
      });

      const sum = new Int32Array(HEAD_PARAMS);
      const acc = new Uint32Array(sum.buffer);
      for (const p of u3) {
        const m = maskedMsgs.get(p.serial)!;
        if (m.phase !== 'masked') continue;
        const y = new Uint32Array(bytesToInt32(m.y).buffer);
        for (let i = 0; i < HEAD_PARAMS; i++) acc[i]! += y[i]!;
      }
      for (const b of selfSeeds) addPrg(sum, b, -1);
      dropped.forEach((d, k) => {
        for (const v of u3) {
          // Survivor v added +PRG(k_vd) when x_d > x_v and −PRG(k_vd) otherwise; take exactly that out.
          const key = maskKey(x25519(droppedKeys[k]!, x25519PublicKey(v.sPk)), spec.round);
          addPrg(sum, key, d.index > v.index ? -1 : 1);
        }
      });
      const params = new Float32Array(HEAD_PARAMS);
      for (let i = 0; i < HEAD_PARAMS; i++) params[i] = spec.model.params[i]! + sum[i]! / scale / u3.length;
      for (const v of params)
        if (!Number.isFinite(v)) throw new RoundFailed('unmask', 'The round stopped: the aggregated head is not finite. Nothing was released.');
      report.ok = true;
      report.sum = sum;
      report.params = params;
      publish(topics.result(spec.round), {
        round: spec.round,
        ok: true,
        model: { name: HEAD_NAME, version: spec.nextVersion ?? spec.model.version + 1, params: float32ToBytes(params).toString('base64') },
        survivors: u3.length,
      });
    } catch (err) {
      if (!(err instanceof RoundFailed)) {
        current = undefined;
        throw err;
      }
      report.ok = false;
      report.reason = err.message;
      report.failedAt = err.phase;
      publish(topics.result(spec.round), { round: spec.round, ok: false, reason: err.message.slice(0, 500) });
    }
    report.finishedAt = clock.now();
    current = undefined;
    progress('done');
    return report;
  };

  return {
    receive,
    run,
    busy: () => current !== undefined,
    abort(reason) {
      current?.abort?.(reason);
    },
  };
}
