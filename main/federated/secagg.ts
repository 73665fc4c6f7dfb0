import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import type { Rng } from './random';
import { bytesToField, combine, FIELD_PRIME, fieldToBytes, lagrangeAtZero, randomField, split, type Share } from './shamir';

/**
 * Secure aggregation after Bonawitz et al. 2017 ("Practical Secure Aggregation for
 * Privacy-Preserving Machine Learning"), honest-but-curious server variant: the coordinator learns
 * the sum of the survivors' inputs in Z_2^32 and nothing else about any one input.
 *
 *   1. advertise  client → server: two X25519 public keys (c: encrypts shares, s: pairwise masks)
 *   2. share      client → server: Shamir shares of its s secret key and self-mask seed b, one
 *                 AES-256-GCM box per peer (key from X25519(c_u, c_v)); the server only routes them
 *   3. masked     client → server: y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)
 *   4. unmask     client → server: for each peer, the share of b (peer sent y) or of s (peer dropped),
 *                 never both; the server rebuilds what it needs and removes every mask.
 *
 * Every phase needs `threshold` (= ⌈2n/3⌉) messages or the round fails closed. The consistency
 * check round and signatures of the malicious-server variant are not implemented: the coordinator is
 * the app itself and is trusted to follow the protocol, but not to see individual updates.
 */

export type Phase = 'advertise' | 'share' | 'masked' | 'unmask';

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
  threshold: number;
  vectorLength: number;
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

/** The round cannot go on safely: fewer than the threshold took part in a phase. */
export class QuorumError extends Error {
  constructor(
    readonly phase: Phase,
    readonly got: number,
    readonly needed: number,
  ) {
    super(
      `Secure aggregation stopped at the ${phase} step: ${got} of the cameras answered and at least ${needed} are needed. ` +
        'No partial result was used. Improve the cameras’ links or select more cameras per round, then start again.',
    );
    this.name = 'QuorumError';
  }
}

export const quorum = (n: number): number => Math.ceil((2 * n) / 3);

// DER wrappers for raw 32-byte X25519 keys (RFC 8410).
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const privateKeyOf = (raw: Buffer): KeyObject => createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
const publicKeyOf = (raw: Buffer): KeyObject => createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
const rawPublic = (priv: KeyObject): Buffer => createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);

interface KeyPair {
  raw: Buffer;
  priv: KeyObject;
  pub: Buffer;
}

/** An X25519 key from the injected random source, clamped as X25519 would and kept below the Shamir prime. */
function generateKeyPair(rng: Rng): KeyPair {
  for (;;) {
    const raw = rng.bytes(32);
    raw[0]! &= 248;
    raw[31]! &= 127;
    raw[31]! |= 64;
    if (bytesToField(raw) >= FIELD_PRIME) continue;
    const priv = privateKeyOf(raw);
    return { raw, priv, pub: rawPublic(priv) };
  }
}

const kdf = (ikm: Buffer, round: string, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, Buffer.from(round), info, 32));

const IV0 = Buffer.alloc(16);
let zeroes = Buffer.alloc(0);

/** acc += sign · AES-256-CTR keystream(key), word by word in Z_2^32. One cipher call per vector. */
export function addMask(acc: Int32Array, key: Buffer, sign: 1 | -1): void {
  const bytes = acc.length * 4;
  if (zeroes.length < bytes) zeroes = Buffer.alloc(bytes);
  let ks: Uint8Array = createCipheriv('aes-256-ctr', key, IV0).update(zeroes.subarray(0, bytes));
  if (ks.byteOffset % 4 !== 0) ks = new Uint8Array(ks);
  const m = new Int32Array(ks.buffer, ks.byteOffset, acc.length);
  const n = acc.length;
  if (sign > 0) for (let i = 0; i < n; i++) acc[i] = (acc[i]! + m[i]!) | 0;
  else for (let i = 0; i < n; i++) acc[i] = (acc[i]! - m[i]!) | 0;
}

const pairKey = (priv: KeyObject, peerPub: KeyObject, round: string): Buffer =>
  kdf(diffieHellman({ privateKey: priv, publicKey: peerPub }), round, 'omnisight.secagg.mask');
const selfKey = (b: bigint, round: string): Buffer => kdf(fieldToBytes(b), round, 'omnisight.secagg.self');

const boxAad = (round: string, from: number, to: number): Buffer => Buffer.from(`${round}|${from}|${to}`);

/** One camera's side of the protocol. In this build it runs in-process; only messages cross. */
export class SecAggClient {
  private c?: KeyPair;
  private s?: KeyPair;
  private b = 0n;
  private round = '';
  /** Per peer: its s public key and the AES key for share boxes, each derived once per round. */
  private roster = new Map<number, { sPk: KeyObject; boxKey: Buffer }>();
  private threshold = 0;
  private vectorLength = 0;
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
    this.roster = new Map(
      msg.peers
        .filter((p) => p.id !== this.id)
        .map((p) => [
          p.id,
          {
            sPk: publicKeyOf(p.sPk),
            boxKey: kdf(diffieHellman({ privateKey: this.c!.priv, publicKey: publicKeyOf(p.cPk) }), this.round, 'omnisight.secagg.share'),
          },
        ]),
    );
    this.b = randomField(this.rng);
    this.held = new Map();
    const n = Math.max(...msg.peers.map((p) => p.id));
    // Points are client ids, so one sharing serves whichever subset survives.
    const keyShares = split(bytesToField(this.s!.raw), n, this.threshold, this.rng);
    const selfShares = split(this.b, n, this.threshold, this.rng);
    const at = (shares: Share[], x: number): Buffer => fieldToBytes(shares[x - 1]!.y);
    const boxes: { to: number; box: Buffer }[] = [];
    for (const peer of msg.peers) {
      if (peer.id === this.id) {
        this.held.set(this.id, { key: at(keyShares, this.id), self: at(selfShares, this.id) });
        continue;
      }
      const nonce = this.rng.bytes(12);
      const gcm = createCipheriv('aes-256-gcm', this.roster.get(peer.id)!.boxKey, nonce);
      gcm.setAAD(boxAad(this.round, this.id, peer.id));
      const body = Buffer.concat([gcm.update(Buffer.concat([at(keyShares, peer.id), at(selfShares, peer.id)])), gcm.final()]);
      boxes.push({ to: peer.id, box: Buffer.concat([nonce, body, gcm.getAuthTag()]) });
    }
    return { kind: 'shares', round: this.round, from: this.id, boxes };
  }

  /** Opens the boxes addressed to this client, then masks the quantised input x. */
  mask(delivery: DeliveryMsg, x: Int32Array): MaskedInputMsg {
    if (delivery.round !== this.round || delivery.to !== this.id) throw new Error('delivery for another client or round');
    if (x.length !== this.vectorLength) throw new Error(`input has ${x.length} values; the round expects ${this.vectorLength}`);
    if (delivery.boxes.length + 1 < this.threshold) throw new QuorumError('share', delivery.boxes.length + 1, this.threshold);
    this.maskPeers = [];
    for (const { from, box } of delivery.boxes) {
      const peer = this.roster.get(from);
      if (!peer) throw new Error(`box from ${from}, who is not on the roster`);
      const gcm = createDecipheriv('aes-256-gcm', peer.boxKey, box.subarray(0, 12));
      gcm.setAAD(boxAad(this.round, from, this.id));
      gcm.setAuthTag(box.subarray(box.length - 16));
      const plain = Buffer.concat([gcm.update(box.subarray(12, box.length - 16)), gcm.final()]);
      this.held.set(from, { key: plain.subarray(0, 32), self: plain.subarray(32, 64) });
      this.maskPeers.push(from);
    }
    const y = x.slice();
    addMask(y, selfKey(this.b, this.round), 1);
    for (const v of this.maskPeers) addMask(y, pairKey(this.s!.priv, this.roster.get(v)!.sPk, this.round), v > this.id ? 1 : -1);
    return { kind: 'masked', round: this.round, from: this.id, y };
  }

  unmask(msg: SurvivorsMsg): UnmaskMsg {
    if (msg.round !== this.round) throw new Error('survivor list for another round');
    if (msg.masked.length < this.threshold) throw new QuorumError('masked', msg.masked.length, this.threshold);
    const survived = new Set(msg.masked);
    if (!survived.has(this.id)) throw new Error('this client is not among the survivors');
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

  constructor(
    private readonly opts: { round: string; threshold: number; vectorLength: number; tap?: (m: ClientMessage) => void },
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
    this.peers = new Map(ok.map((m) => [m.from, { sPk: publicKeyOf(m.sPk) }]));
    return {
      kind: 'roster',
      round: this.opts.round,
      threshold: this.opts.threshold,
      vectorLength: this.opts.vectorLength,
      peers: ok.map((m) => ({ id: m.from, cPk: m.cPk, sPk: m.sPk })),
    };
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
    return { kind: 'survivors', round: this.opts.round, masked: [...this.masked.keys()] };
  }

  /** Removes every mask and returns Σ x_u over the survivors, in Z_2^32. */
  receiveUnmask(msgs: UnmaskMsg[]): { sum: Int32Array; included: number[]; dropped: number[] } {
    const ok = this.take('unmask', msgs, 'unmask', new Set(this.masked.keys())).slice(0, this.opts.threshold);
    const weights = lagrangeAtZero(ok.map((m) => m.from));
    const rebuild = (owner: number, pick: (m: UnmaskMsg) => { of: number; y: Buffer }[]): bigint => {
      const shares: Share[] = ok.map((m) => {
        const s = pick(m).find((e) => e.of === owner);
        if (!s) throw new Error(`client ${m.from} gave no share for ${owner}`);
        return { x: m.from, y: bytesToField(s.y) };
      });
      return combine(shares, weights);
    };
    const sum = new Int32Array(this.opts.vectorLength);
    for (const y of this.masked.values()) for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + y[i]!) | 0;
    const included = [...this.masked.keys()];
    for (const u of included) addMask(sum, selfKey(rebuild(u, (m) => m.selfShares), this.opts.round), -1);
    const dropped = this.sharers.filter((u) => !this.masked.has(u));
    for (const u of dropped) {
      const priv = privateKeyOf(fieldToBytes(rebuild(u, (m) => m.keyShares)));
      // Survivor v added +PRG(s_uv) if u > v and −PRG otherwise; take exactly that back out.
      for (const v of included) addMask(sum, pairKey(priv, this.peers.get(v)!.sPk, this.opts.round), u > v ? -1 : 1);
    }
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
  tap?: (m: ClientMessage) => void;
}): { sum: Int32Array; included: number[]; dropped: number[] } {
  const threshold = opts.threshold ?? quorum(opts.participants.length);
  const server = new SecAggServer({ round: opts.round, threshold, vectorLength: opts.vectorLength, tap: opts.tap });
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
