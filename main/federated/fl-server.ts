import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { addPrg, bytesToInt32, float32ToBytes, maskKey, x25519, x25519PrivateKey, x25519PublicKey, x25519PublicOf } from './fl1';
import { chooseK, neighbourSets, ringOrder, shareThreshold } from './fl2';
import { belowFieldPrime, bytesToField, fieldToBytes, interpolateAtZero, pointSets, type PointSet, type Share } from './shamir';

/**
 * The desktop's side of fl2 (docs/protocol.md, "Federated learning (fl2)"): the aggregation server.
 * It sets a round up ahead (announce, key advertisement, routing the cameras' encrypted share boxes)
 * and, on go, collects masked inputs and, once enough cameras help unmask, learns the SUM of the
 * survivors' quantised updates and nothing about any single one. Every camera message reaches it
 * only through `receive`, which the composition root calls with bodies the swarm verified (signed
 * envelope v2, kind "fl"); it never sees a camera's data, and its own messages go out through the
 * injected transport (MQTT).
 *
 * Honest-but-curious server model, SecAgg+ (Bell et al. 2020) over Bonawitz et al. 2017: each
 * camera masks with and shares its secrets among its K ring neighbours (main/federated/fl2.ts).
 * Every phase needs t = ⌈2n/3⌉ answers of the n selected cameras and every secret tk shares, else
 * the round fails closed and publishes only the reason.
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
  /** Masking-graph degree K (even, 2..254); default chooseK(n). */
  k?: number;
  /** How long a camera keeps a set-up round waiting for `go` (ms, 1,000..3,600,000); default 600,000. */
  setupTtl?: number;
}

export interface RoundReport {
  round: string;
  ok: boolean;
  reason: string | null;
  /** Phase where a failed round stopped ('setup' when a set-up round was discarded before go). */
  failedAt: FlPhase | 'setup' | null;
  /** Phase quorum t = ⌈2n/3⌉. */
  threshold: number;
  /** The masking graph: degree K, share threshold tk (0 until the roster). */
  graph: { k: number; tk: number };
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
  /** When the announce went out. */
  startedAt: number;
  /** When every deliver was published (the setup's end); null while setting up or when it failed. */
  setUpAt: number | null;
  /** When `go` went out; null before. */
  goAt: number | null;
  finishedAt: number;
  /** Announce → deliver published (runs ahead of the round). */
  setupMs: number | null;
  /** go → result: the round's critical path. */
  roundMs: number | null;
  /** Milliseconds each completed phase took (masked counts from go). */
  phaseMs: Partial<Record<FlPhase, number>>;
}

export interface FlProgress {
  round: string;
  phase: FlPhase | 'announce' | 'setup' | 'go' | 'done';
  report: RoundReport;
}

/** A round whose setup is complete (deliver published): it waits for go, or is discarded. */
export interface SetUpRound {
  readonly round: string;
  readonly spec: RoundSpec;
  readonly report: RoundReport;
  /** The server's deadline for go: the announce's time + setupTtl − goMargin(setupTtl). */
  readonly goBy: number;
  /** Starts the critical path: go → masked → unmask → result. */
  go(onProgress?: (p: FlProgress) => void): Promise<RoundReport>;
  /** Ends it unrun: publishes result ok:false with the reason (cameras drop the round). */
  discard(reason: string): RoundReport;
}

export type SetupOutcome = { ok: true; round: SetUpRound } | { ok: false; report: RoundReport };

export interface FlServer {
  /** A verified fl body from a camera (the swarm checked signature, key, epoch and replay). */
  receive(serial: string, body: unknown): void;
  /** Runs a round's setup (announce → advertise → roster → shares → deliver). One round at a time. */
  setup(spec: RoundSpec, onProgress?: (p: FlProgress) => void): Promise<SetupOutcome>;
  /** Setup then go at once: one round to its end (ok or failed closed). */
  run(spec: RoundSpec, onProgress?: (p: FlProgress) => void): Promise<RoundReport>;
  /** A round is being set up, held set up, or running. */
  busy(): boolean;
  /** The set-up round waiting for go, if any. */
  held(): SetUpRound | undefined;
  /** Ends the round in progress as failed (e.g. on shutdown); a held round is discarded. */
  abort(reason: string): void;
}

export const DEFAULT_SETUP_TTL = 600_000;
/** go must leave this long before a camera's setupTtl can have run out (it counts from its own receipt of the announce): 5 s, or a quarter of a short setupTtl. */
export const goMargin = (setupTtl: number): number => Math.min(5_000, Math.floor(setupTtl / 4));

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
/**
 * A share y: 32 bytes in canonical standard base64, checked by one regular expression (44 characters,
 * the last data character's two unused bits zero, one "=") and decoded only when used: an unmask
 * answer carries K + 1 of them and 100 answers arrive between the masked inputs and the result, where
 * the transform of b64() (decode, re-encode, compare) was most of the server's parsing time.
 */
const SHARE_Y = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const SERIAL_RE = /^[0-9A-F]{12}$/;
/**
 * A list of shares, each exactly {"of": serial, "y": share}, checked in one pass and not copied: as
 * z.array(z.object({...}).strict()) every answer's K + 1 share objects were rebuilt, garbage the
 * desktop collected between the unmask request and the result.
 */
const shareList = z.custom<{ of: string; y: string }[]>(
  (v) =>
    Array.isArray(v) &&
    v.length <= 1000 &&
    v.every((e: unknown) => {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
      const o = e as Record<string, unknown>;
      return Object.keys(o).length === 2 && typeof o.of === 'string' && SERIAL_RE.test(o.of) && typeof o.y === 'string' && SHARE_Y.test(o.y);
    }),
  { message: 'shares must be at most 1000 {"of": serial, "y": 32 bytes of standard base64}, no other field' },
);
export const flCameraBodySchema = z.discriminatedUnion('phase', [
  z.object({ round: ROUND, phase: z.literal('advertise'), cPk: b64(32), sPk: b64(32) }).strict(),
  z.object({ round: ROUND, phase: z.literal('decline'), reason: z.string().max(200) }).strict(),
  z.object({ round: ROUND, phase: z.literal('shares'), boxes: z.array(z.object({ to: SERIAL, box: BOX_B64 }).strict()).max(1000) }).strict(),
  z.object({ round: ROUND, phase: z.literal('masked'), y: b64(HEAD_PARAMS * 4) }).strict(),
  z.object({ round: ROUND, phase: z.literal('unmask'), selfShares: shareList, keyShares: shareList }).strict(),
]);
export type FlCameraBody = z.infer<typeof flCameraBodySchema>;

const topics = {
  announce: 'omnisight/desktop/fl/announce',
  roster: (r: string) => `omnisight/desktop/fl/${r}/roster`,
  deliver: (r: string, serial: string) => `omnisight/desktop/fl/${r}/deliver/${serial}`,
  go: (r: string) => `omnisight/desktop/fl/${r}/go`,
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
  /** After an accepted answer (their count given): whether the phase has what it needs before every camera answered. */
  enough?: (answered: number) => boolean;
  done: () => void;
}

interface Peer {
  serial: string;
  index: number;
  cPk: Buffer;
  sPk: Buffer;
}

/** Whether `members` form one connected group on the graph (else unmasking would reveal each group's sum). */
function connected(members: readonly string[], graph: ReadonlyMap<string, ReadonlySet<string>>): boolean {
  if (members.length === 0) return true;
  const alive = new Set(members);
  const seen = new Set([members[0]!]);
  const stack = [members[0]!];
  while (stack.length)
    for (const v of graph.get(stack.pop()!) ?? [])
      if (alive.has(v) && !seen.has(v)) {
        seen.add(v);
        stack.push(v);
      }
  return seen.size === alive.size;
}

export function createFlServer(deps: {
  transport: FlTransport;
  clock: FlClock;
  log?: { debug: (o: object, m: string) => void; warn: (o: object, m: string) => void };
  /** The roster's graph seed (32 bytes); crypto random by default. */
  randomBytes?: (n: number) => Buffer;
}): FlServer {
  const { transport, clock } = deps;
  const random = deps.randomBytes ?? randomBytes;
  let current: { round: string; collector?: Collector; refused: RoundReport['refused']; abort?: (why: string) => void; held?: SetUpRound } | undefined;

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
    if (c.got.size === c.expect.size || c.enough?.(c.got.size)) c.done();
  };

  const collect = (phase: FlPhase, expect: ReadonlySet<string>, deadline: number, check: Collector['check'], enough?: Collector['enough']): Promise<Map<string, FlCameraBody>> =>
    new Promise((resolve, reject) => {
      const got = new Map<string, FlCameraBody>();
      let cancel = (): void => undefined;
      const finish = (): void => {
        cancel();
        if (current?.collector === collector) current.collector = undefined;
        resolve(got);
      };
      const collector: Collector = { phase, expect, got, check, ...(enough ? { enough } : {}), done: finish };
      current!.collector = collector;
      current!.abort = (why) => {
        cancel();
        current!.collector = undefined;
        reject(new RoundFailed(phase, why));
      };
      if (expect.size === 0) return finish();
      cancel = clock.after(deadline, finish);
    });

  const setup = async (spec: RoundSpec, onProgress?: (p: FlProgress) => void): Promise<SetupOutcome> => {
    if (current) throw new Error(`round ${current.round} is still ${current.held ? 'set up, waiting for go' : 'running'}`);
    if (!ROUND.safeParse(spec.round).success) throw new Error('round id must be 1..64 of [A-Za-z0-9_-]');
    if (spec.model.params.length !== HEAD_PARAMS) throw new Error(`the head has ${HEAD_PARAMS} parameters`);
    const selected = [...new Set(spec.selected)].sort();
    const n = selected.length;
    const t = threshold(n);
    const k = spec.k ?? chooseK(n);
    if (!(Number.isInteger(k) && k >= 2 && k <= 254 && k % 2 === 0)) throw new Error('K must be even, 2..254');
    const setupTtl = spec.setupTtl ?? DEFAULT_SETUP_TTL;
    if (!(Number.isInteger(setupTtl) && setupTtl >= 1_000 && setupTtl <= 3_600_000)) throw new Error('setupTtl must be 1,000..3,600,000 ms');
    const scale = quantizerScale(spec.range, n);
    const refused: RoundReport['refused'] = [];
    current = { round: spec.round, refused };
    const report: RoundReport = {
      round: spec.round, ok: false, reason: null, failedAt: null, threshold: t, graph: { k, tk: 0 }, selected,
      advertised: [], declined: [], shared: [], masked: [], unmasked: [], dropped: [], refused,
      params: null, sum: null, scale, startedAt: clock.now(), setUpAt: null, goAt: null, finishedAt: 0, setupMs: null, roundMs: null, phaseMs: {},
    };
    let listener = onProgress;
    const progress = (phase: FlProgress['phase']): void => {
      try {
        listener?.({ round: spec.round, phase, report });
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
        : ' Check that the cameras run an app with federated learning (fl2) and are online, or give the phase more time.';
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
    const finish = (err: unknown): RoundReport => {
      if (!(err instanceof RoundFailed)) {
        current = undefined;
        throw err;
      }
      report.ok = false;
      report.reason = err.message;
      report.failedAt = err.phase;
      publish(topics.result(spec.round), { round: spec.round, ok: false, reason: err.message.slice(0, 500) });
      report.finishedAt = clock.now();
      current = undefined;
      progress('done');
      return report;
    };

    // ---- setup: announce, advertise, roster, shares, deliver ----
    let peers: Peer[];
    let bySerial: Map<string, Peer>;
    let graph: Map<string, Set<string>>;
    let tk: number;
    let u2: Peer[];
    // Each U2 camera's holder set (itself and its U2 ring neighbours: whoever holds a share of its b
    // and, but for itself, of its s), prepared during the setup (ahead of the round) so that either
    // secret is rebuilt from whichever tk holders answer first (shamir.ts pointSets), without a
    // modular inverse between the unmask answers and the result.
    let holderSets = new Map<string, PointSet>();
    try {
      publish(topics.announce, {
        v: 2,
        round: spec.round,
        model: { name: HEAD_NAME, version: spec.model.version, params: float32ToBytes(spec.model.params).toString('base64') },
        train: spec.train,
        quantizer: { range: spec.range, scale },
        selected,
        threshold: t,
        deadlines: spec.deadlines,
        minSamples: spec.minSamples,
        graph: { k },
        setupTtl,
      });
      progress('announce');
      if (n < 3) throw new RoundFailed('advertise', `A round needs at least 3 selected cameras; ${n} were selected.`);

      // 1–2. advertise
      const keysSeen = new Set<string>();
      const adv = await collect('advertise', new Set(selected), spec.deadlines.advertise, (_serial, b) => {
        if (b.phase !== 'advertise') return null;
        const keys = [b.cPk.toString('hex'), b.sPk.toString('hex')];
        // A repeated key would make two cameras' masks cancel against the server: refuse it.
        if (b.cPk.equals(b.sPk) || keys.some((x) => keysSeen.has(x))) return 'a public key repeats one already advertised';
        try {
          x25519PublicKey(b.sPk);
          x25519PublicKey(b.cPk);
        } catch {
          return 'not an X25519 public key';
        }
        keys.forEach((x) => keysSeen.add(x));
        return null;
      });
      endPhase('advertise');
      peers = [];
      for (const serial of selected) {
        const b = adv.get(serial);
        if (b?.phase === 'advertise') peers.push({ serial, index: peers.length + 1, cPk: b.cPk, sPk: b.sPk });
        else if (b?.phase === 'decline') report.declined.push({ serial, reason: b.reason });
      }
      report.advertised = peers.map((p) => p.serial);
      progress('advertise');
      quorum('advertise', peers.length);
      bySerial = new Map(peers.map((p) => [p.serial, p]));

      // 3–4. roster (with the graph seed, drawn only now that the keys are fixed), shares
      const seed = random(32);
      graph = neighbourSets(ringOrder(seed, report.advertised), k);
      tk = shareThreshold(k, peers.length);
      report.graph = { k, tk };
      publish(topics.roster(spec.round), {
        round: spec.round,
        threshold: t,
        shareThreshold: tk,
        graph: { k, seed: seed.toString('base64') },
        peers: peers.map((p) => ({ serial: p.serial, index: p.index, cPk: p.cPk.toString('base64'), sPk: p.sPk.toString('base64') })),
      });
      const sharesMsgs = await collect('shares', new Set(bySerial.keys()), spec.deadlines.shares, (serial, b) => {
        if (b.phase !== 'shares') return 'not a shares message';
        const near = graph.get(serial)!;
        const to = new Set(b.boxes.map((x) => x.to));
        if (to.size !== b.boxes.length || to.size !== near.size || [...to].some((x) => !near.has(x)))
          return 'shares must hold exactly one box for every neighbour on the ring, and no other';
        return null;
      });
      endPhase('shares');
      u2 = peers.filter((p) => sharesMsgs.has(p.serial));
      report.shared = u2.map((p) => p.serial);
      progress('shares');
      quorum('shares', u2.length);

      // 5. deliver: each U2 camera gets the boxes its U2 neighbours addressed to it.
      const inU2 = new Set(report.shared);
      const inbox = new Map<string, { from: string; box: string }[]>(report.shared.map((s) => [s, []]));
      for (const from of report.shared) {
        const m = sharesMsgs.get(from)!;
        if (m.phase !== 'shares') continue;
        for (const b of m.boxes) if (inU2.has(b.to)) inbox.get(b.to)!.push({ from, box: b.box.toString('base64') });
      }
      for (const [to, boxes] of inbox) publish(topics.deliver(spec.round, to), { round: spec.round, boxes });
      // The holder sets' weights (the cameras open their boxes meanwhile).
      const sets = pointSets(u2.map((p) => [p.index, ...[...graph.get(p.serial)!].filter((v) => inU2.has(v)).map((v) => bySerial.get(v)!.index)]));
      holderSets = new Map(u2.map((p, i) => [p.serial, sets[i]!]));
      report.setUpAt = clock.now();
      report.setupMs = report.setUpAt - report.startedAt;
    } catch (err) {
      return { ok: false, report: finish(err) };
    }

    // ---- held: waits for go ----
    let state: 'held' | 'going' | 'ended' = 'held';
    const goBy = report.startedAt + setupTtl - goMargin(setupTtl);
    const critical = async (): Promise<RoundReport> => {
      try {
        publish(topics.go(spec.round), { round: spec.round });
        report.goAt = phaseStart = clock.now();
        progress('go');
        const inU2 = new Set(report.shared);

        // 6–7. go, masked
        const maskedMsgs = await collect('masked', inU2, spec.deadlines.masked, (_s, b) => (b.phase === 'masked' ? null : 'not a masked message'));
        endPhase('masked');
        const u3 = u2.filter((p) => maskedMsgs.has(p.serial));
        report.masked = u3.map((p) => p.serial);
        const inU3 = new Set(report.masked);
        const dropped = u2.filter((p) => !inU3.has(p.serial));
        report.dropped = dropped.map((p) => p.serial);
        progress('masked');
        quorum('masked', u3.length);
        // Survivors split into groups on the ring would each have their own sum revealed by unmasking.
        if (!connected(report.masked, graph))
          throw new RoundFailed(
            'masked',
            'The round stopped at the masked step: the cameras that dropped out split the others into groups on the masking ring, so unmasking would reveal each group’s sum. Nothing partial was used; the next round draws a new ring.',
          );

        // 8–9. unmask
        const isDropped = new Set(report.dropped);
        publish(topics.unmask(spec.round), { round: spec.round, survivors: report.masked, dropped: report.dropped });
        // Incremental reconstruction: each secret is rebuilt as soon as tk of its shares are in (from
        // whichever holders answered first) and its masks are removed from the sum then, while the
        // other answers are still on their way. The phase ends as soon as at least t survivors have
        // answered and every secret is rebuilt: later answers would add nothing (any tk shares give
        // the same secret), so the round does not wait for them. The server still only ever asks
        // for, and accepts, b shares of survivors and s shares of dropped cameras, never both.
        const sum = new Int32Array(HEAD_PARAMS);
        // SHARE_Y admits exactly 44 base64 characters, 32 bytes: each share is decoded into this.
        const shareBytes = Buffer.alloc(32);
        const got = { self: new Map<string, Share[]>(), key: new Map<string, Share[]>() };
        let pendingSecrets = u3.length + dropped.length;
        let broken: RoundFailed | undefined;
        const rebuilt = (owner: Peer, pick: 'self' | 'key'): void => {
          const value = interpolateAtZero(holderSets.get(owner.serial)!, got[pick].get(owner.serial)!);
          if (pick === 'self') {
            addPrg(sum, fieldToBytes(value), -1);
            return;
          }
          const priv = x25519PrivateKey(fieldToBytes(value));
          // The rebuilt s must be the one whose public key the camera advertised; otherwise a share
          // was wrong and the sum would be garbage.
          if (!x25519PublicOf(priv).equals(owner.sPk))
            throw new RoundFailed('unmask', `The round stopped at the unmask step: the shares of camera ${owner.serial}’s key do not rebuild the key it advertised. Nothing partial was used.`);
          for (const v of graph.get(owner.serial)!) {
            if (!inU3.has(v)) continue;
            const vp = bySerial.get(v)!;
            // Survivor v added +PRG(k_vd) when x_d > x_v and −PRG(k_vd) otherwise; take exactly that out.
            addPrg(sum, maskKey(x25519(priv, x25519PublicKey(vp.sPk)), spec.round), owner.index > vp.index ? -1 : 1);
          }
        };
        const unmaskMsgs = await collect(
          'unmask',
          inU3,
          spec.deadlines.unmask,
          (serial, b) => {
            if (b.phase !== 'unmask') return 'not an unmask message';
            const near = graph.get(serial)!;
            const self = new Set(b.selfShares.map((s) => s.of));
            const key = new Set(b.keyShares.map((s) => s.of));
            if (self.size !== b.selfShares.length || key.size !== b.keyShares.length) return 'a camera appears twice';
            // Never both shares for one camera: that would unmask its individual input.
            for (const s of self) if (!inU3.has(s)) return `selfShares may only name survivors (${s} is not one)`;
            for (const s of key) if (!isDropped.has(s)) return `keyShares may only name dropped cameras (${s} did not drop)`;
            for (const s of [...self, ...key]) if (s !== serial && !near.has(s)) return `${s} is not a neighbour of ${serial} on the ring: it holds none of its shares`;
            // Every share is checked (decoded into one reused buffer: no allocation per share)...
            for (const list of [b.selfShares, b.keyShares])
              for (const e of list) {
                shareBytes.write(e.y, 'base64');
                if (!belowFieldPrime(shareBytes)) return 'a share is not below p';
              }
            // ...and, accepted, its shares count: decoded again, to a field element, only for a secret
            // still short of tk, and every secret that now has tk shares is rebuilt.
            const x = bySerial.get(serial)!.index;
            for (const [list, pick] of [[b.selfShares, 'self'], [b.keyShares, 'key']] as const)
              for (const { of, y } of list) {
                let have = got[pick].get(of);
                if (!have) got[pick].set(of, (have = []));
                if (have.length >= tk || broken) continue;
                shareBytes.write(y, 'base64');
                have.push({ x, y: bytesToField(shareBytes) });
                if (have.length < tk) continue;
                try {
                  rebuilt(bySerial.get(of)!, pick);
                  pendingSecrets--;
                } catch (err) {
                  if (!(err instanceof RoundFailed)) throw err;
                  broken = err;
                }
              }
            return null;
          },
          (answered) => broken !== undefined || (answered >= t && pendingSecrets === 0),
        );
        endPhase('unmask');
        report.unmasked = u3.filter((p) => unmaskMsgs.has(p.serial)).map((p) => p.serial);
        progress('unmask');
        if (broken) throw broken;
        quorum('unmask', report.unmasked.length);
        // A secret with fewer than tk shares by the deadline fails the round closed.
        for (const [list, pick] of [[u3, 'self'], [dropped, 'key']] as const)
          for (const owner of list) {
            const have = got[pick].get(owner.serial)?.length ?? 0;
            if (have < tk)
              throw new RoundFailed(
                'unmask',
                `The round stopped at the unmask step: ${have} of the ${tk} shares needed to remove camera ${owner.serial}’s mask arrived (too many of its ring neighbours dropped out). Nothing partial was used.`,
              );
          }

        const acc = new Uint32Array(sum.buffer);
        for (const p of u3) {
          const m = maskedMsgs.get(p.serial)!;
          if (m.phase !== 'masked') continue;
          const y = new Uint32Array(bytesToInt32(m.y).buffer);
          for (let i = 0; i < HEAD_PARAMS; i++) acc[i]! += y[i]!;
        }
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
        finish(err);
        report.roundMs = report.finishedAt - report.goAt!;
        return report;
      }
      report.finishedAt = clock.now();
      report.roundMs = report.finishedAt - report.goAt!;
      current = undefined;
      progress('done');
      return report;
    };
    const held: SetUpRound = {
      round: spec.round,
      spec,
      report,
      goBy,
      go(onGoProgress) {
        if (state !== 'held') return Promise.reject(new Error(`round ${spec.round} was ${state === 'going' ? 'already started' : 'discarded'}`));
        state = 'going';
        if (current) current.held = undefined;
        if (onGoProgress) listener = onGoProgress;
        if (clock.now() > goBy) {
          // Too late: a camera may already have forgotten the round.
          state = 'ended';
          return Promise.resolve(finishDiscard(`The set-up round expired (its setup time of ${Math.round(setupTtl / 1000)} s ran out before it was started). Nothing was used.`));
        }
        return critical();
      },
      discard(reason) {
        if (state !== 'held') return report;
        state = 'ended';
        return finishDiscard(reason);
      },
    };
    const finishDiscard = (reason: string): RoundReport => {
      report.ok = false;
      report.reason = reason;
      report.failedAt = 'setup';
      publish(topics.result(spec.round), { round: spec.round, ok: false, reason: reason.slice(0, 500) });
      report.finishedAt = clock.now();
      current = undefined;
      progress('done');
      return report;
    };
    current.held = held;
    current.abort = (why) => held.discard(why);
    progress('setup');
    return { ok: true, round: held };
  };

  return {
    receive,
    setup,
    async run(spec, onProgress) {
      const s = await setup(spec, onProgress);
      return s.ok ? s.round.go(onProgress) : s.report;
    },
    busy: () => current !== undefined,
    held: () => current?.held,
    abort(reason) {
      current?.abort?.(reason);
    },
  };
}
