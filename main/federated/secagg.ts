import { createHash, type KeyObject } from 'node:crypto';
import { addPrg, boxAad, boxKey, clampSecret, decodeBoxPlaintext, encodeBoxPlaintext, maskKey, openBox, sealBox, x25519, x25519PrivateKey, x25519PublicKey, x25519PublicOf } from './fl1';
import { createRng, type Rng } from './random';
import { bytesToField, combine, fieldToBytes, lagrangeAtZero, randomField, splitAt, type Share } from './shamir';

/**
 * Secure aggregation, honest-but-curious server: the coordinator learns the sum of the survivors'
 * inputs in Z_2^32 and nothing else about any one input. Two masking graphs:
 *
 * - `full`: Bonawitz et al. 2017 ("Practical Secure Aggregation for Privacy-Preserving Machine
 *   Learning"). Every client masks with every other and shares its secrets with all of them,
 *   threshold ⌈2n/3⌉. Cost per client O(n) masks of the whole vector: O(n²) in the round.
 * - `secagg+`: Bell et al. 2020 ("Secure Single-Server Aggregation with (Poly)Logarithmic
 *   Overhead"). Clients sit on a k-regular circulant (Harary) graph whose node order is a
 *   permutation drawn from public randomness (a hash of the round and every advertised key, so
 *   neither the server nor a client picks its neighbours); each client masks with and shares its
 *   secrets among its k ≈ 4·log2 n neighbours only, threshold t = ⌈k/3⌉ per neighbourhood.
 *   O(n log n) masks in the round. The price: a camera's secrets are protected against the server
 *   plus fewer than t of its k neighbours (instead of fewer than ⌈2n/3⌉ of all cameras), and a
 *   round fails closed when dropouts leave a neighbourhood with fewer than t shares or split the
 *   survivors into groups (then partial sums would show); see `secaggPlusParameters`.
 *
 *   1. advertise  client → server: two X25519 public keys (c: encrypts shares, s: pairwise masks)
 *   2. share      client → server: Shamir shares of its s secret key and self-mask seed b, one
 *                 AES-256-GCM box per neighbour (key from X25519(c_u, c_v)); the server only routes them
 *   3. masked     client → server: y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv), v ∈ N(u)
 *   4. unmask     client → server: for each neighbour, the share of b (it sent y) or of s (it
 *                 dropped), never both; the server rebuilds what it needs and removes every mask.
 *
 * Every phase needs ⌈2n/3⌉ messages or the round fails closed. The consistency check round and
 * signatures of the malicious-server variant are not implemented: the coordinator is the app itself
 * and is trusted to follow the protocol, but not to see individual updates.
 */

export type Phase = 'advertise' | 'share' | 'masked' | 'unmask';
export type MaskGraph = 'full' | 'secagg+';

export interface AdvertiseMsg {
  kind: 'advertise';
  round: string;
  from: number;
  cPk: Buffer;
  sPk: Buffer;
}
export interface SharesMsg {
  kind: 'shares';
  round: string;
  from: number;
  boxes: { to: number; box: Buffer }[];
}
export interface MaskedInputMsg {
  kind: 'masked';
  round: string;
  from: number;
  y: Int32Array;
}
export interface UnmaskMsg {
  kind: 'unmask';
  round: string;
  from: number;
  /** Shares of b_u for peers whose masked input arrived. */
  selfShares: { of: number; y: Buffer }[];
  /** Shares of s_u's secret key for peers that dropped after sharing keys. */
  keyShares: { of: number; y: Buffer }[];
}
export type ClientMessage = AdvertiseMsg | SharesMsg | MaskedInputMsg | UnmaskMsg;

export interface RosterMsg {
  kind: 'roster';
  round: string;
  /** Phase quorum: messages needed at every step (⌈2n/3⌉ of the selected cameras). */
  threshold: number;
  vectorLength: number;
  graph: MaskGraph;
  peers: { id: number; cPk: Buffer; sPk: Buffer }[];
}
export interface DeliveryMsg {
  kind: 'delivery';
  round: string;
  to: number;
  boxes: { from: number; box: Buffer }[];
}
export interface SurvivorsMsg {
  kind: 'survivors';
  round: string;
  /** Clients whose masked input the server holds. */
  masked: number[];
}

/** The round cannot go on safely; nothing partial is released. */
export class SecAggAbort extends Error {
  constructor(
    readonly phase: Phase,
    message: string,
  ) {
    super(message);
    this.name = 'SecAggAbort';
  }
}

/** Fewer than the threshold took part in a phase. */
export class QuorumError extends SecAggAbort {
  constructor(
    phase: Phase,
    readonly got: number,
    readonly needed: number,
  ) {
    super(
      phase,
      `Secure aggregation stopped at the ${phase} step: ${got} of the cameras answered and at least ${needed} are needed. ` +
        'No partial result was used. Improve the cameras’ links or select more cameras per round, then start again.',
    );
    this.name = 'QuorumError';
  }
}

export const quorum = (n: number): number => Math.ceil((2 * n) / 3);

/**
 * SecAgg+ degree and per-neighbourhood threshold for n clients: k = 4⌈log2 n⌉ + 2 (even), t = ⌈k/3⌉.
 * Chosen so that a third of the clients dropping at random leaves every neighbourhood at least t
 * shares and the survivors connected: for n = 100 (k = 30, t = 10) no failure in 20,000 simulated
 * rounds with 33 random dropouts. null when k would reach n − 1: the full graph is then no dearer.
 */
export function secaggPlusParameters(n: number): { k: number; t: number } | null {
  const k = 4 * Math.ceil(Math.log2(Math.max(2, n))) + 2;
  return k >= n - 1 ? null : { k, t: Math.ceil(k / 3) };
}

/**
 * The masking graph a round of n cameras really uses, and why: SecAgg+ falls back to the full graph
 * when its degree would not be below n − 1 (up to 23 cameras, where k = 22), where it would save nothing.
 * The thresholds are the ones the protocol applies: every phase needs ⌈2n/3⌉ messages; a camera's
 * secrets need t of their holders (⌈2n/3⌉ on the full graph, ⌈k/3⌉ on SecAgg+).
 */
export function effectiveMaskGraph(
  graph: MaskGraph,
  n: number,
): { kind: MaskGraph; k: number; t: number; quorum: number; fallback: string | null } {
  const params = graph === 'secagg+' ? secaggPlusParameters(n) : null;
  if (params) return { kind: 'secagg+', k: params.k, t: params.t, quorum: quorum(n), fallback: null };
  const k = 4 * Math.ceil(Math.log2(Math.max(2, n))) + 2;
  return {
    kind: 'full',
    k: Math.max(0, n - 1),
    t: quorum(n),
    quorum: quorum(n),
    fallback:
      graph === 'secagg+'
        ? `with ${n} cameras per round SecAgg+ would give each camera 4·⌈log2 ${n}⌉ + 2 = ${k} neighbours, not fewer than the ${Math.max(0, n - 1)} other cameras, so it would save nothing`
        : null,
  };
}

/** Who masks with whom and shares with whom; every client and the server derive the same one from the roster. */
export interface MaskingGraph {
  neighbours(id: number): readonly number[];
  /** Shamir threshold of each client's secrets among its holders (its neighbours and itself). */
  t: number;
  k: number;
  kind: MaskGraph;
}

export function maskingGraph(roster: Pick<RosterMsg, 'round' | 'graph' | 'threshold' | 'peers'>): MaskingGraph {
  const ids = roster.peers.map((p) => p.id).sort((a, b) => a - b);
  const params = roster.graph === 'secagg+' ? secaggPlusParameters(ids.length) : null;
  if (!params) {
    const all = new Map(ids.map((id) => [id, ids.filter((x) => x !== id)]));
    return { neighbours: (id) => all.get(id) ?? [], t: roster.threshold, k: ids.length - 1, kind: 'full' };
  }
  // Public randomness: a hash of the round and every advertised key. Fixed once the keys are out.
  const h = createHash('sha256').update('omnisight.secagg+.graph').update(roster.round);
  for (const id of ids) {
    const p = roster.peers.find((q) => q.id === id)!;
    h.update(`|${id}|`).update(p.cPk).update(p.sPk);
  }
  const order = ids.slice();
  const rng = createRng(h.digest());
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const n = order.length;
  const half = params.k / 2;
  const adj = new Map<number, number[]>();
  order.forEach((id, pos) => {
    const out: number[] = [];
    for (let s = 1; s <= half; s++) out.push(order[(pos + s) % n]!, order[(pos - s + n) % n]!);
    adj.set(id, out.sort((a, b) => a - b));
  });
  return { neighbours: (id) => adj.get(id) ?? [], t: params.t, k: params.k, kind: 'secagg+' };
}

/** Whether the survivors form one connected group on the graph (else the server could read partial sums). */
export function survivorsConnected(graph: MaskingGraph, survivors: readonly number[]): boolean {
  if (survivors.length === 0) return true;
  const alive = new Set(survivors);
  const seen = new Set([survivors[0]!]);
  const stack = [survivors[0]!];
  while (stack.length) {
    for (const v of graph.neighbours(stack.pop()!))
      if (alive.has(v) && !seen.has(v)) {
        seen.add(v);
        stack.push(v);
      }
  }
  return seen.size === alive.size;
}

const splitSurvivors = (): SecAggAbort =>
  new SecAggAbort(
    'unmask',
    'Secure aggregation stopped at the unmask step: the cameras that dropped out split the others into groups, so unmasking would reveal the sum of a small group. ' +
      'No partial result was used. Start again (a new round draws a new graph), or use the full masking graph.',
  );

interface KeyPair {
  raw: Buffer;
  priv: KeyObject;
  pub: Buffer;
}

/** An fl1 secret key from the injected random source: clamped, and redrawn unless below the Shamir prime. */
function generateKeyPair(rng: Rng): KeyPair {
  for (;;) {
    const raw = clampSecret(rng.bytes(32));
    if (!raw) continue;
    const priv = x25519PrivateKey(raw);
    return { raw, priv, pub: x25519PublicOf(priv) };
  }
}

/** acc += sign · PRG(key), the fl1 mask expansion (ChaCha20-IETF keystream as LE uint32 words). */
export const addMask = (acc: Int32Array, key: Buffer, sign: 1 | -1): void => addPrg(acc, key, sign);

const pairKey = (priv: KeyObject, peerPub: KeyObject, round: string): Buffer => maskKey(x25519(priv, peerPub), round);
/** fl1: the self mask is PRG keyed directly by the 32-byte LE encoding of b. */
const selfKey = (b: bigint): Buffer => fieldToBytes(b);

/** One camera's side of the protocol. In this build it runs in-process; only messages cross. */
export class SecAggClient {
  private c?: KeyPair;
  private s?: KeyPair;
  private b = 0n;
  private round = '';
  /** Per neighbour: its s public key and the AES key for share boxes, each derived once per round. */
  private roster = new Map<number, { sPk: KeyObject; boxKey: Buffer }>();
  private threshold = 0;
  private vectorLength = 0;
  private graph?: MaskingGraph;
  /** Shares this client holds, by owner: [share of s_owner, share of b_owner]. */
  private held = new Map<number, { key: Buffer; self: Buffer }>();
  private maskPeers: number[] = [];

  constructor(
    readonly id: number,
    private readonly rng: Rng,
  ) {}

  advertise(round: string): AdvertiseMsg {
    this.round = round;
    this.c = generateKeyPair(this.rng);
    this.s = generateKeyPair(this.rng);
    return { kind: 'advertise', round, from: this.id, cPk: this.c.pub, sPk: this.s.pub };
  }

  share(msg: RosterMsg): SharesMsg {
    if (msg.round !== this.round) throw new Error('roster for another round');
    if (msg.peers.length < msg.threshold || !msg.peers.some((p) => p.id === this.id)) throw new QuorumError('advertise', msg.peers.length, msg.threshold);
    this.threshold = msg.threshold;
    this.vectorLength = msg.vectorLength;
    // The client derives its neighbours itself from the public roster: the server cannot hand it a
    // graph of its choosing.
    this.graph = maskingGraph(msg);
    const near = new Set(this.graph.neighbours(this.id));
    this.roster = new Map(
      msg.peers
        .filter((p) => near.has(p.id))
        .map((p) => [
          p.id,
          {
            sPk: x25519PublicKey(p.sPk),
            boxKey: boxKey(x25519(this.c!.priv, x25519PublicKey(p.cPk)), this.round),
          },
        ]),
    );
    this.b = randomField(this.rng);
    this.held = new Map();
    // Points are client ids, so one sharing serves whichever subset of holders survives.
    const holders = [this.id, ...near];
    const keyShares = splitAt(bytesToField(this.s!.raw), holders, this.graph.t, this.rng);
    const selfShares = splitAt(this.b, holders, this.graph.t, this.rng);
    const at = (shares: Share[], x: number): Buffer => fieldToBytes(shares.find((s) => s.x === x)!.y);
    this.held.set(this.id, { key: at(keyShares, this.id), self: at(selfShares, this.id) });
    const boxes: { to: number; box: Buffer }[] = [];
    for (const [peer, { boxKey: key }] of this.roster) {
      const plain = encodeBoxPlaintext({ fromIndex: this.id, toIndex: peer, bShare: at(selfShares, peer), sShare: at(keyShares, peer) });
      boxes.push({ to: peer, box: sealBox(key, this.rng.bytes(12), plain, boxAad(this.round, String(this.id), String(peer))) });
    }
    return { kind: 'shares', round: this.round, from: this.id, boxes };
  }

  /** Opens the boxes addressed to this client, then masks the quantised input x. */
  mask(delivery: DeliveryMsg, x: Int32Array): MaskedInputMsg {
    if (delivery.round !== this.round || delivery.to !== this.id) throw new Error('delivery for another client or round');
    if (x.length !== this.vectorLength) throw new Error(`input has ${x.length} values; the round expects ${this.vectorLength}`);
    if (this.graph!.kind === 'full' && delivery.boxes.length + 1 < this.threshold) throw new QuorumError('share', delivery.boxes.length + 1, this.threshold);
    this.maskPeers = [];
    for (const { from, box } of delivery.boxes) {
      const peer = this.roster.get(from);
      if (!peer) throw new Error(`box from ${from}, who is not a neighbour on the roster`);
      const opened = openBox(peer.boxKey, box, boxAad(this.round, String(from), String(this.id)));
      const plain = opened && decodeBoxPlaintext(opened);
      if (!plain || plain.fromIndex !== from || plain.toIndex !== this.id) throw new Error(`box from ${from} does not open for this client`);
      this.held.set(from, { key: plain.sShare, self: plain.bShare });
      this.maskPeers.push(from);
    }
    const y = x.slice();
    addMask(y, selfKey(this.b), 1);
    for (const v of this.maskPeers) addMask(y, pairKey(this.s!.priv, this.roster.get(v)!.sPk, this.round), v > this.id ? 1 : -1);
    return { kind: 'masked', round: this.round, from: this.id, y };
  }

  unmask(msg: SurvivorsMsg): UnmaskMsg {
    if (msg.round !== this.round) throw new Error('survivor list for another round');
    if (msg.masked.length < this.threshold) throw new QuorumError('masked', msg.masked.length, this.threshold);
    const survived = new Set(msg.masked);
    if (!survived.has(this.id)) throw new Error('this client is not among the survivors');
    // Refuse to help unmask a split survivor set: each group's sum would come out on its own.
    if (!survivorsConnected(this.graph!, msg.masked)) throw splitSurvivors();
    const selfShares: UnmaskMsg['selfShares'] = [];
    const keyShares: UnmaskMsg['keyShares'] = [];
    for (const [owner, held] of this.held) {
      // A peer is either alive (reveal b) or dropped (reveal s), never both: that is what keeps y_u private.
      if (survived.has(owner)) selfShares.push({ of: owner, y: held.self });
      else keyShares.push({ of: owner, y: held.key });
    }
    return { kind: 'unmask', round: this.round, from: this.id, selfShares, keyShares };
  }
}

/** The coordinator's side. It sees only the messages passed to it, and `tap` sees each one first. */
export class SecAggServer {
  private peers = new Map<number, { sPk: KeyObject }>();
  private sharers: number[] = [];
  private masked = new Map<number, Int32Array>();
  private graph?: MaskingGraph;

  constructor(
    private readonly opts: { round: string; threshold: number; vectorLength: number; graph?: MaskGraph; tap?: (m: ClientMessage) => void },
  ) {}

  private take<M extends ClientMessage>(phase: Phase, msgs: M[], kind: M['kind'], allowed?: Set<number>): M[] {
    const seen = new Set<number>();
    const ok: M[] = [];
    for (const m of msgs) {
      this.opts.tap?.(m);
      if (m.kind !== kind || m.round !== this.opts.round || seen.has(m.from)) continue;
      if (allowed && !allowed.has(m.from)) continue;
      seen.add(m.from);
      ok.push(m);
    }
    if (ok.length < this.opts.threshold) throw new QuorumError(phase, ok.length, this.opts.threshold);
    return ok;
  }

  receiveAdvertise(msgs: AdvertiseMsg[]): RosterMsg {
    const ok = this.take('advertise', msgs, 'advertise');
    this.peers = new Map(ok.map((m) => [m.from, { sPk: x25519PublicKey(m.sPk) }]));
    const roster: RosterMsg = {
      kind: 'roster',
      round: this.opts.round,
      threshold: this.opts.threshold,
      vectorLength: this.opts.vectorLength,
      graph: this.opts.graph ?? 'full',
      peers: ok.map((m) => ({ id: m.from, cPk: m.cPk, sPk: m.sPk })),
    };
    this.graph = maskingGraph(roster);
    return roster;
  }

  receiveShares(msgs: SharesMsg[]): DeliveryMsg[] {
    const ok = this.take('share', msgs, 'shares', new Set(this.peers.keys()));
    this.sharers = ok.map((m) => m.from);
    const inbox = new Map<number, { from: number; box: Buffer }[]>(this.sharers.map((id) => [id, []]));
    for (const m of ok) for (const b of m.boxes) inbox.get(b.to)?.push({ from: m.from, box: b.box });
    return this.sharers.map((to) => ({ kind: 'delivery', round: this.opts.round, to, boxes: inbox.get(to)! }));
  }

  receiveMasked(msgs: MaskedInputMsg[]): SurvivorsMsg {
    const ok = this.take('masked', msgs, 'masked', new Set(this.sharers));
    for (const m of ok) if (m.y.length !== this.opts.vectorLength) throw new Error(`client ${m.from} sent ${m.y.length} values`);
    this.masked = new Map(ok.map((m) => [m.from, m.y]));
    const masked = [...this.masked.keys()];
    // The clients check this too and refuse; stopping here gives the reason without asking them.
    if (!survivorsConnected(this.graph!, masked)) throw splitSurvivors();
    return { kind: 'survivors', round: this.opts.round, masked };
  }

  /** Removes every mask and returns Σ x_u over the survivors, in Z_2^32. */
  receiveUnmask(msgs: UnmaskMsg[]): { sum: Int32Array; included: number[]; dropped: number[] } {
    const ok = this.take('unmask', msgs, 'unmask', new Set(this.masked.keys()));
    const graph = this.graph!;
    const weightCache = new Map<string, bigint[]>();
    const rebuild = (owner: number, pick: (m: UnmaskMsg) => { of: number; y: Buffer }[]): bigint => {
      const shares: Share[] = [];
      for (const m of ok) {
        const s = pick(m).find((e) => e.of === owner);
        if (s) shares.push({ x: m.from, y: bytesToField(s.y) });
        if (shares.length === graph.t) break;
      }
      if (shares.length < graph.t)
        throw new SecAggAbort(
          'unmask',
          `Secure aggregation stopped at the unmask step: only ${shares.length} of the ${graph.t} shares needed to remove one camera’s mask arrived, ` +
            'because too many of its neighbours dropped out. No partial result was used. Improve the cameras’ links or select more cameras per round, then start again.',
        );
      const key = shares.map((s) => s.x).join(',');
      let weights = weightCache.get(key);
      if (!weights) weightCache.set(key, (weights = lagrangeAtZero(shares.map((s) => s.x))));
      return combine(shares, weights);
    };
    const included = [...this.masked.keys()];
    const dropped = this.sharers.filter((u) => !this.masked.has(u));
    // Rebuild every secret first, so a missing share aborts before any unmasking work.
    const selfSeeds = included.map((u) => rebuild(u, (m) => m.selfShares));
    const droppedKeys = dropped.map((u) => x25519PrivateKey(fieldToBytes(rebuild(u, (m) => m.keyShares))));
    const sum = new Int32Array(this.opts.vectorLength);
    const acc = new Uint32Array(sum.buffer);
    for (const y of this.masked.values()) {
      const w = new Uint32Array(y.buffer, y.byteOffset, y.length);
      for (let i = 0; i < acc.length; i++) acc[i]! += w[i]!;
    }
    for (const b of selfSeeds) addMask(sum, selfKey(b), -1);
    const alive = new Set(included);
    dropped.forEach((u, k) => {
      // Survivor v added +PRG(s_uv) if u > v and −PRG otherwise; take exactly that back out.
      for (const v of graph.neighbours(u)) if (alive.has(v)) addMask(sum, pairKey(droppedKeys[k]!, this.peers.get(v)!.sPk, this.opts.round), u > v ? -1 : 1);
    });
    return { sum, included, dropped };
  }
}

export interface SecureParticipant {
  client: SecAggClient;
  input: Int32Array;
  /** Simulated dropout: the client goes silent after sending this phase's message. */
  dropAfter?: Phase;
}

/**
 * Runs one secure aggregation as explicit message exchanges. `tap` receives every message the
 * server receives, which is how the tests check that no individual update is exposed.
 */
export function runSecureAggregation(opts: {
  round: string;
  vectorLength: number;
  participants: SecureParticipant[];
  threshold?: number;
  graph?: MaskGraph;
  tap?: (m: ClientMessage) => void;
}): { sum: Int32Array; included: number[]; dropped: number[] } {
  const threshold = opts.threshold ?? quorum(opts.participants.length);
  const server = new SecAggServer({ round: opts.round, threshold, vectorLength: opts.vectorLength, graph: opts.graph, tap: opts.tap });
  const order: Phase[] = ['advertise', 'share', 'masked', 'unmask'];
  const alive = (p: SecureParticipant, phase: Phase): boolean => !p.dropAfter || order.indexOf(phase) <= order.indexOf(p.dropAfter);
  const byId = new Map(opts.participants.map((p) => [p.client.id, p]));

  const roster = server.receiveAdvertise(opts.participants.map((p) => p.client.advertise(opts.round)));
  const sharing = opts.participants.filter((p) => alive(p, 'share') && roster.peers.some((r) => r.id === p.client.id));
  const deliveries = server.receiveShares(sharing.map((p) => p.client.share(roster)));
  const masking = deliveries.map((d) => ({ d, p: byId.get(d.to)! })).filter(({ p }) => alive(p, 'masked'));
  const survivors = server.receiveMasked(masking.map(({ d, p }) => p.client.mask(d, p.input)));
  const unmasking = survivors.masked.map((id) => byId.get(id)!).filter((p) => alive(p, 'unmask'));
  return server.receiveUnmask(unmasking.map((p) => p.client.unmask(survivors)));
}
