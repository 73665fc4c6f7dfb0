// The simulated camera's fl1 client (FL-SPEC "Rounds"): it answers the desktop's announce, roster,
// deliver and unmask with signed bodies, trains on its own labelled detections, and sends only the
// masked, quantized update. It never sends features, labels or counts of its data. Clock, timers,
// randomness and the signed send are parameters; the camera agent wires them.
import { createHash } from 'node:crypto';
import {
  boxAad,
  boxKey,
  f32FromBytes,
  leToBig,
  maskKey,
  maskUpdate,
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
import { announceSchema, deliverSchema, parseJson, resultSchema, rosterSchema, unmaskSchema, type Announce, type Roster } from './messages';

export const FL_PHASES = ['advertise', 'shares', 'masked', 'unmask'] as const;
export type FlPhase = (typeof FL_PHASES)[number];

export const flTopics = (serial: string): string[] => [
  'omnisight/desktop/fl/announce',
  'omnisight/desktop/fl/+/roster',
  `omnisight/desktop/fl/+/deliver/${serial}`,
  'omnisight/desktop/fl/+/unmask',
  'omnisight/desktop/fl/+/result',
];

export interface FlClientEvent {
  round: string;
  what: 'declined' | 'advertised' | 'shares' | 'masked' | 'unmasked' | 'aborted' | 'silent' | 'result' | 'expired';
  detail?: string;
}

export interface FlClient {
  /** One message from the broker (any topic; those not fl1's are ignored). */
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
  shares?: Map<string, { bShare: bigint; sShare: bigint }>;
  /** k_box with each peer, derived once at the roster and reused to open its box at delivery. */
  boxKeys?: Map<string, Buffer>;
  ownBShare?: bigint;
  u2?: Set<string>;
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
    const d = a.deadlines;
    // Forget the round when it cannot be alive any more (every phase's deadline plus slack).
    const timer = setTimer(() => end('expired'), d.advertise + d.shares + d.masked + d.unmask + 10_000);
    st = { a, theta, c, s, b, masked: false, unmasked: false, timer };
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
    st.roster = r;
    st.myIndex = me.index;
    const others = r.peers.filter((x) => x.serial !== serial);
    const xs = others.map((x) => x.index);
    // b is also shared at this camera's own index: at unmasking it sends its own b share too.
    const bShares = shamirSplit(st.b, r.threshold, [...xs, me.index], deps.random);
    st.ownBShare = bShares.get(me.index)!;
    const sShares = shamirSplit(leToBig(st.s.secret), r.threshold, xs, deps.random);
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

  const onDeliver = (raw: unknown, started: number): void => {
    const p = deliverSchema.safeParse(raw);
    if (!p.success || !st?.roster || st.u2 || p.data.round !== st.a.round) return;
    const { roster, myIndex } = st;
    const shares = new Map<string, { bShare: bigint; sShare: bigint }>();
    for (const { from, box } of p.data.boxes) {
      const peer = roster.peers.find((x) => x.serial === from);
      if (!peer || from === serial || shares.has(from)) return end('aborted', `deliver names ${from}, not another peer of the roster`);
      const key = st.boxKeys?.get(from) ?? boxKey(st.c.key, Buffer.from(peer.cPk, 'base64'), roster.round);
      const plain = open(key, Buffer.from(box, 'base64'), boxAad(roster.round, from, serial));
      const sh = plain && parseSharePlaintext(plain);
      if (!sh || sh.from !== peer.index || sh.to !== myIndex) return end('aborted', `the share box from ${from} does not open`);
      shares.set(from, { bShare: sh.bShare, sShare: sh.sShare });
    }
    const u2 = new Set([serial, ...shares.keys()]);
    if (u2.size < roster.threshold) return end('aborted', `only ${u2.size} cameras sent shares; the threshold is ${roster.threshold}`);
    st.shares = shares;
    st.u2 = u2;
    // Local training from the announced θ on this camera's own labelled data.
    const { train: t, quantizer, round } = st.a;
    const seed = createHash('sha256').update(`${round}\n${serial}`).digest().readUInt32LE(0);
    const local = train(st.theta, deps.trainingData(), { epochs: t.epochs, lr: t.lr, batchSize: t.batchSize, seed });
    const q = quantize(
      local.map((v, i) => v - st!.theta[i]!),
      quantizer.range,
      quantizer.scale,
    );
    const pairs = roster.peers.filter((x) => x.serial !== serial && u2.has(x.serial)).map((x) => ({ index: x.index, key: maskKey(st!.s.key, Buffer.from(x.sPk, 'base64'), round) }));
    const y = maskUpdate(q, bigToLe(st.b), myIndex!, pairs);
    // An answer after the phase's deadline would be refused: say nothing rather than something late.
    if (deps.now() - started > st.a.deadlines.masked) return end('aborted', 'training overran the masked-input deadline');
    st.masked = true;
    if (reply('masked', { y: u32ToB64(y) })) ev(round, 'masked');
  };

  const onUnmask = (raw: unknown): void => {
    const p = unmaskSchema.safeParse(raw);
    if (!p.success || !st?.u2 || !st.masked || st.unmasked || p.data.round !== st.a.round) return;
    const { survivors, dropped } = p.data;
    const u2 = st.u2;
    const sv = new Set(survivors);
    const dr = new Set(dropped);
    // FL-SPEC step 8: answer only when in survivors, |survivors| ≥ t and the two sets are disjoint.
    // Also refuse names outside U2 or repeated names: the server asks for nothing it may not have.
    if (!sv.has(serial) || sv.size < st.a.threshold || sv.size !== survivors.length || dr.size !== dropped.length) return end('aborted', 'unmask request refused');
    if (survivors.some((x) => dr.has(x)) || [...sv, ...dr].some((x) => !u2.has(x))) return end('aborted', 'unmask request asks for a camera both ways or outside the round');
    if ([...u2].some((x) => !sv.has(x) && !dr.has(x))) return end('aborted', 'unmask request leaves a camera of the round unaccounted for');
    const enc = (v: bigint): string => bigToLe(v).toString('base64');
    // For every survivor, this camera included, the share of its b (docs/protocol.md step 8).
    const selfShares = survivors.map((x) => ({ of: x, y: enc(x === serial ? st!.ownBShare! : st!.shares!.get(x)!.bShare) }));
    const keyShares = dropped.map((x) => ({ of: x, y: enc(st!.shares!.get(x)!.sShare) }));
    st.unmasked = true;
    if (reply('unmask', { selfShares, keyShares })) ev(st.a.round, 'unmasked');
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
      if (parts.length === 6 && parts[4] === 'deliver' && parts[5] === serial) return onDeliver(raw, started);
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
