// The simulated camera's fl2 client (docs/protocol.md, "Federated learning (fl2)"): it answers the
// desktop's announce, roster, deliver, go and unmask with signed bodies, trains on its own labelled
// detections, and sends only the masked, quantized update. Keys, share boxes and the mask itself are
// made during the setup, ahead of the round; after `go` it only trains and adds its update. It never sends features, labels or counts of its data. Clock, timers,
// randomness and the signed send are parameters; the camera agent wires them.
import { createHash } from 'node:crypto';
import {
  addMask,
  boxAad,
  boxKey,
  f32FromBytes,
  leToBig,
  maskKey,
  maskVector,
  open,
  parseSharePlaintext,
  quantize,
  randomFieldElement,
  seal,
  shamirSplit,
  sharePlaintext,
  u32ToB64,
  x25519Generate,
  bigToLe,
  type RandomBytes,
  type X25519Pair,
} from './crypto';
import { HEAD_NAME, train, type Head, type Sample } from './head';
import { announceSchema, deliverSchema, goSchema, parseJson, resultSchema, rosterSchema, unmaskSchema, type Announce, type Roster } from './messages';
import { neighboursOf, ring, shareThresholdFor } from './ring';

export const FL_PHASES = ['advertise', 'shares', 'masked', 'unmask'] as const;
export type FlPhase = (typeof FL_PHASES)[number];

export const flTopics = (serial: string): string[] => [
  'omnisight/desktop/fl/announce',
  'omnisight/desktop/fl/+/roster',
  `omnisight/desktop/fl/+/deliver/${serial}`,
  'omnisight/desktop/fl/+/go',
  'omnisight/desktop/fl/+/unmask',
  'omnisight/desktop/fl/+/result',
];

export interface FlClientEvent {
  round: string;
  what: 'declined' | 'advertised' | 'shares' | 'setup' | 'masked' | 'unmasked' | 'aborted' | 'silent' | 'result' | 'expired';
  detail?: string;
}

export interface FlClient {
  /** One message from the broker (any topic; those not fl2's are ignored). */
  handle(topic: string, payload: Buffer | string): void;
  /** Fault: from this phase on the camera does not answer (a real dropout), or null to answer again. */
  silenceFrom(phase: FlPhase | null): void;
  /** The round in progress, if any. */
  current(): string | undefined;
  close(): void;
}

interface RoundState {
  a: Announce;
  theta: number[];
  c: X25519Pair;
  s: X25519Pair;
  b: bigint;
  roster?: Roster;
  myIndex?: number;
  /** N(u): this camera's ring neighbours. */
  near?: Set<string>;
  tk?: number;
  /** Shares received, by sender: D(u) = its keys; with their wire encodings (made at delivery, so the unmask answer only picks them). */
  shares?: Map<string, { bShare: bigint; sShare: bigint; b64: { b: string; s: string } }>;
  /** k_box with each neighbour, derived once at the roster and reused to open its box at delivery. */
  boxKeys?: Map<string, Buffer>;
  ownBShare?: bigint;
  /** ownBShare as sent at unmasking (32 bytes little-endian, base64). */
  ownBShareB64?: string;
  /** The roster's serials (made at the roster; the unmask request is checked against them). */
  peerSet?: Set<string>;
  /**
   * The unmask answer when nobody dropped out (every neighbour whose shares this camera holds is a
   * survivor): then it is known at delivery, so it is made then, as JSON text, and on the critical
   * path only the request is checked.
   */
  noDropoutAnswer?: string;
  /** PRG(b) ± the pairwise masks with D(u): made at delivery, added to q after go. */
  mask?: Uint32Array;
  setUp: boolean;
  masked: boolean;
  unmasked: boolean;
  timer: NodeJS.Timeout;
}

export function createFlClient(deps: {
  serial: string;
  /** Signs the body as envelope v2 kind "fl" and publishes it on axis/<serial>/omnisight/fl; false when it could not leave. */
  send: (body: string) => boolean;
  /** The labelled training samples (never the held-out ones). */
  trainingData: () => Sample[];
  random: RandomBytes;
  now: () => number;
  /** A round's successful result, offered for adoption. */
  onResult: (head: Head) => void;
  onEvent?: (e: FlClientEvent) => void;
  setTimer?: (fn: () => void, ms: number) => NodeJS.Timeout;
  clearTimer?: (t: NodeJS.Timeout) => void;
}): FlClient {
  const { serial } = deps;
  const setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
  const clearTimer = deps.clearTimer ?? clearTimeout;
  let st: RoundState | undefined;
  let silentFrom: FlPhase | null = null;
  /** Rounds this camera advertised in, newest last: their results may be adopted. */
  const joined: string[] = [];
  const ev = (round: string, what: FlClientEvent['what'], detail?: string): void => deps.onEvent?.({ round, what, detail });

  const enc = (v: bigint): string => bigToLe(v).toString('base64');
  const silent = (phase: FlPhase): boolean => silentFrom !== null && FL_PHASES.indexOf(phase) >= FL_PHASES.indexOf(silentFrom);

  const end = (why: FlClientEvent['what'], detail?: string): void => {
    if (!st) return;
    clearTimer(st.timer);
    ev(st.a.round, why, detail);
    st = undefined;
  };

  const reply = (phase: FlPhase, body: Record<string, unknown>): boolean => {
    if (!st) return false;
    if (silent(phase)) {
      ev(st.a.round, 'silent', phase);
      return false;
    }
    return deps.send(JSON.stringify({ round: st.a.round, phase, ...body }));
  };

  /** The body text as it is, for an answer made ahead (the same check of silence as reply). */
  const replyText = (phase: FlPhase, text: string): boolean => {
    if (!st) return false;
    if (silent(phase)) {
      ev(st.a.round, 'silent', phase);
      return false;
    }
    return deps.send(text);
  };

  const onAnnounce = (raw: unknown): void => {
    const p = announceSchema.safeParse(raw);
    if (!p.success) return;
    const a = p.data;
    if (!a.selected.includes(serial)) return;
    if (st?.a.round === a.round) return; // a repeated announce
    if (st) end('aborted', `round ${a.round} announced`);
    const decline = (reason: string): void => {
      if (silent('advertise')) return;
      deps.send(JSON.stringify({ round: a.round, phase: 'decline', reason: reason.slice(0, 200) }));
      ev(a.round, 'declined', reason);
    };
    if (a.model.name !== HEAD_NAME) return decline(`this camera trains ${HEAD_NAME}, not ${a.model.name.slice(0, 64)}`);
    if (a.threshold > a.selected.length) return decline('threshold above the number of selected cameras');
    const theta = f32FromBytes(Buffer.from(a.model.params, 'base64'));
    if (!theta) return decline('model params are not 14 finite float32 values');
    const have = deps.trainingData().length;
    if (have < a.minSamples) return decline(`only ${have} labelled samples, the round needs ${a.minSamples}`);
    const c = x25519Generate(deps.random);
    const s = x25519Generate(deps.random);
    const b = randomFieldElement(deps.random);
    // A set-up round is kept until go, a new announce, its result, or setupTtl after this announce.
    const timer = setTimer(() => end('expired'), a.setupTtl);
    st = { a, theta, c, s, b, setUp: false, masked: false, unmasked: false, timer };
    joined.push(a.round);
    if (joined.length > 4) joined.shift();
    if (reply('advertise', { cPk: c.publicKey.toString('base64'), sPk: s.publicKey.toString('base64') })) ev(a.round, 'advertised');
  };

  const onRoster = (raw: unknown): void => {
    const p = rosterSchema.safeParse(raw);
    if (!p.success || !st || st.roster || p.data.round !== st.a.round) return;
    const r = p.data;
    const me = r.peers.find((x) => x.serial === serial);
    // The roster must carry my keys as I sent them, unique serials and indexes, only selected cameras.
    if (!me) return end('aborted', 'not in the roster');
    if (me.cPk !== st.c.publicKey.toString('base64') || me.sPk !== st.s.publicKey.toString('base64')) return end('aborted', 'the roster carries other keys for this camera');
    if (new Set(r.peers.map((x) => x.serial)).size !== r.peers.length || new Set(r.peers.map((x) => x.index)).size !== r.peers.length) return end('aborted', 'duplicate serial or index in the roster');
    if (r.peers.some((x) => !st!.a.selected.includes(x.serial))) return end('aborted', 'the roster names a camera that was not selected');
    if (r.threshold !== st.a.threshold || r.peers.length < r.threshold) return end('aborted', 'fewer peers than the threshold');
    if (new Set(r.peers.map((x) => x.cPk)).size !== r.peers.length || new Set(r.peers.map((x) => x.sPk)).size !== r.peers.length) return end('aborted', 'two peers share a key');
    // docs/protocol.md: peers sorted by serial, index = 1..n' in that order.
    if (r.peers.some((x, i) => x.index !== i + 1 || (i > 0 && r.peers[i - 1]!.serial >= x.serial))) return end('aborted', 'roster indexes are not 1..n in serial order');
    // The ring: this camera derives its own neighbours from the public seed.
    const k = st.a.graph.k;
    if (r.graph.k !== k) return end('aborted', 'the roster names another K than the announce');
    const near = neighboursOf(ring(Buffer.from(r.graph.seed, 'base64'), r.peers.map((x) => x.serial)), serial, k);
    const tk = shareThresholdFor(k, r.peers.length);
    if (r.shareThreshold !== tk) return end('aborted', `the roster's share threshold ${r.shareThreshold} is not ${tk}`);
    if (!(2 * tk > near.size + 1 && tk <= near.size + 1)) return end('aborted', 'the share threshold does not fit the neighbourhood');
    st.roster = r;
    st.peerSet = new Set(r.peers.map((x) => x.serial));
    st.myIndex = me.index;
    st.near = near;
    st.tk = tk;
    const others = r.peers.filter((x) => near.has(x.serial));
    const xs = others.map((x) => x.index);
    // b is also shared at this camera's own index: at unmasking it sends its own b share too.
    const bShares = shamirSplit(st.b, tk, [...xs, me.index], deps.random);
    st.ownBShare = bShares.get(me.index)!;
    const sShares = shamirSplit(leToBig(st.s.secret), tk, xs, deps.random);
    const boxKeys = new Map<string, Buffer>();
    st.boxKeys = boxKeys;
    const boxes = others.map((peer) => {
      const key = boxKey(st!.c.key, Buffer.from(peer.cPk, 'base64'), r.round);
      boxKeys.set(peer.serial, key);
      const box = seal(key, deps.random(12), sharePlaintext(me.index, peer.index, bShares.get(peer.index)!, sShares.get(peer.index)!), boxAad(r.round, serial, peer.serial));
      return { to: peer.serial, box: box.toString('base64') };
    });
    if (reply('shares', { boxes })) ev(r.round, 'shares');
  };

  const onDeliver = (raw: unknown): void => {
    const p = deliverSchema.safeParse(raw);
    if (!p.success || !st?.roster || st.shares || p.data.round !== st.a.round) return;
    const { roster, myIndex, near } = st;
    const shares = new Map<string, { bShare: bigint; sShare: bigint; b64: { b: string; s: string } }>();
    for (const { from, box } of p.data.boxes) {
      const peer = roster.peers.find((x) => x.serial === from);
      if (!peer || !near!.has(from) || shares.has(from)) return end('aborted', `deliver names ${from}, not a ring neighbour of this camera`);
      const key = st.boxKeys?.get(from) ?? boxKey(st.c.key, Buffer.from(peer.cPk, 'base64'), roster.round);
      const plain = open(key, Buffer.from(box, 'base64'), boxAad(roster.round, from, serial));
      const sh = plain && parseSharePlaintext(plain);
      if (!sh || sh.from !== peer.index || sh.to !== myIndex) return end('aborted', `the share box from ${from} does not open`);
      shares.set(from, { bShare: sh.bShare, sShare: sh.sShare, b64: { b: enc(sh.bShare), s: enc(sh.sShare) } });
    }
    if (shares.size + 1 < st.tk!) return end('aborted', `only ${shares.size} neighbours sent shares; ${st.tk! - 1} are needed`);
    st.shares = shares;
    st.ownBShareB64 = enc(st.ownBShare!);
    st.noDropoutAnswer = JSON.stringify({ round: roster.round, phase: 'unmask', ...unmaskAnswer({ of: serial, y: st.ownBShareB64 }, shares, () => true, () => false) });
    // Set up: the whole mask is known now (D(u) = the senders), so after go only q is added.
    const pairs = roster.peers.filter((x) => shares.has(x.serial)).map((x) => ({ index: x.index, key: maskKey(st!.s.key, Buffer.from(x.sPk, 'base64'), roster.round) }));
    st.mask = maskVector(bigToLe(st.b), myIndex!, pairs);
    st.setUp = true;
    ev(roster.round, 'setup', `${shares.size} neighbours`);
  };

  const onGo = (raw: unknown, started: number): void => {
    const p = goSchema.safeParse(raw);
    if (!p.success || !st?.setUp || st.masked || p.data.round !== st.a.round) return;
    // Past go the round is short-lived: forget it once its last deadlines have passed.
    clearTimer(st.timer);
    const d = st.a.deadlines;
    st.timer = setTimer(() => end('expired'), d.masked + d.unmask + 10_000);
    // Local training from the announced θ on this camera's own labelled data.
    const { train: t, quantizer, round } = st.a;
    const seed = createHash('sha256').update(`${round}\n${serial}`).digest().readUInt32LE(0);
    const local = train(st.theta, deps.trainingData(), { epochs: t.epochs, lr: t.lr, batchSize: t.batchSize, seed });
    const q = quantize(
      local.map((v, i) => v - st!.theta[i]!),
      quantizer.range,
      quantizer.scale,
    );
    const y = addMask(q, st.mask!);
    // An answer after the phase's deadline would be refused: say nothing rather than something late.
    if (deps.now() - started > st.a.deadlines.masked) return end('aborted', 'training overran the masked-input deadline');
    st.masked = true;
    if (reply('masked', { y: u32ToB64(y) })) ev(round, 'masked');
  };

  const onUnmask = (raw: unknown): void => {
    const p = unmaskSchema.safeParse(raw);
    if (!p.success || !st?.shares || !st.masked || st.unmasked || p.data.round !== st.a.round) return;
    const { survivors, dropped } = p.data;
    const held = st.shares;
    const peers = st.peerSet!;
    const sv = new Set(survivors);
    const dr = new Set(dropped);
    // Answer only when in survivors, |survivors| ≥ t, the two sets disjoint, no repeats, only roster
    // peers, and every peer this camera holds shares of accounted for.
    if (!sv.has(serial) || sv.size < st.a.threshold || sv.size !== survivors.length || dr.size !== dropped.length) return end('aborted', 'unmask request refused');
    if (survivors.some((x) => dr.has(x) || !peers.has(x)) || dropped.some((x) => !peers.has(x))) return end('aborted', 'unmask request asks for a camera both ways or outside the round');
    if ([...held.keys()].some((x) => !sv.has(x) && !dr.has(x))) return end('aborted', 'unmask request leaves a neighbour of this camera unaccounted for');
    st.unmasked = true;
    // Nobody dropped: every held neighbour is a survivor (checked above), the answer made at delivery.
    const sent = dr.size === 0 ? replyText('unmask', st.noDropoutAnswer!) : reply('unmask', unmaskAnswer({ of: serial, y: st.ownBShareB64! }, held, (x) => sv.has(x), (x) => dr.has(x)));
    if (sent) ev(st.a.round, 'unmasked');
  };

  const onResult = (raw: unknown): void => {
    const p = resultSchema.safeParse(raw);
    // The result of a round this camera joined, also one it dropped out of (its update is not in it, the model is).
    if (!p.success || !joined.includes(p.data.round)) return;
    const r = p.data;
    joined.splice(joined.indexOf(r.round), 1);
    if (r.ok) {
      const params = f32FromBytes(Buffer.from(r.model.params, 'base64'));
      if (params && r.model.name === HEAD_NAME) deps.onResult({ name: HEAD_NAME, version: r.model.version, params, dropBelow: 0.05, source: 'round', round: r.round });
    }
    const detail = r.ok ? `version ${r.model.version} from ${r.survivors} cameras` : r.reason.slice(0, 200);
    if (st?.a.round === r.round) end('result', detail);
    else ev(r.round, 'result', detail);
  };

  // A phase's answer is due within its deadline from the moment its trigger arrives.
  return {
    handle(topic, payload) {
      const parts = topic.split('/');
      if (parts[0] !== 'omnisight' || parts[1] !== 'desktop' || parts[2] !== 'fl') return;
      const raw = parseJson(payload);
      if (raw === undefined) return;
      const round = parts[3];
      if (parts.length === 4 && round === 'announce') return onAnnounce(raw);
      if (parts.length === 5 && parts[4] === 'result') return onResult(raw);
      if (!st || round !== st.a.round) return;
      const started = deps.now();
      if (parts.length === 5 && parts[4] === 'roster') return onRoster(raw);
      if (parts.length === 6 && parts[4] === 'deliver' && parts[5] === serial) return onDeliver(raw);
      if (parts.length === 5 && parts[4] === 'go') return onGo(raw, started);
      if (parts.length === 5 && parts[4] === 'unmask') return onUnmask(raw);
    },
    silenceFrom(phase) {
      silentFrom = phase;
    },
    current: () => st?.a.round,
    close() {
      if (st) clearTimer(st.timer);
      st = undefined;
    },
  };
}

/**
 * The unmask answer's shares: the b share of every survivor this camera holds shares of, its own b
 * share (`own`) first, and the s share of every dropped neighbour; for a held neighbour that is
 * neither, nothing (the caller refuses such a request before).
 */
export function unmaskAnswer(
  own: { of: string; y: string },
  held: ReadonlyMap<string, { b64: { b: string; s: string } }>,
  survived: (serial: string) => boolean,
  dropped: (serial: string) => boolean,
): { selfShares: { of: string; y: string }[]; keyShares: { of: string; y: string }[] } {
  const selfShares = [own];
  const keyShares: { of: string; y: string }[] = [];
  for (const [x, h] of held) {
    if (survived(x)) selfShares.push({ of: x, y: h.b64.b });
    else if (dropped(x)) keyShares.push({ of: x, y: h.b64.s });
  }
  return { selfShares, keyShares };
}
