// A minimal fl2 camera client for the server's tests: it follows docs/protocol.md with the fl1
// primitives, trains nothing (the test hands it θ_local), and can go silent after any phase to
// make a real dropout. The simulator's and the C app's clients are the independent ones; this one
// lets the server's tests run before (and besides) them. Test code only.
import { randomBytes } from 'node:crypto';
import {
  boxAad,
  boxKey,
  bytesToFloat32,
  clampSecret,
  decodeBoxPlaintext,
  encodeBoxPlaintext,
  int32ToBytes,
  maskInput,
  maskKey,
  openBox,
  quantizeDelta,
  sealBox,
  seedFrom,
  x25519,
  x25519PrivateKey,
  x25519PublicKey,
  x25519PublicOf,
} from './fl1';
import { headV0, type RoundSpec } from './fl-server';
import { neighbourSets, ringOrder, shareThreshold } from './fl2';
import { bytesToField, fieldToBytes, splitAt } from './shamir';
import type { Rng } from './random';

/** Goes silent after this phase: 'shares' = after sending its boxes (also ignores deliver), 'setup' = set up but ignores go. */
export type SilentAfter = 'announce' | 'advertise' | 'shares' | 'setup' | 'masked';

export interface TestClientOptions {
  serial: string;
  /** Sends a camera message body (JSON text); the caller signs/wraps it as its transport needs. */
  send(body: string): void;
  /** θ_local for the announced θ (the test's "training"). */
  train(global: Float32Array): Float32Array;
  silentAfter?: SilentAfter;
  decline?: string;
  rng?: Rng;
}

export interface TestClient {
  /** A server message on `topic` (plain JSON text). */
  onMessage(topic: string, payload: string): void;
  /** The quantised update it masked in the last round (what the server must never see). */
  lastQ(): Int32Array | undefined;
  lastY(): Int32Array | undefined;
}

export function createTestClient(o: TestClientOptions): TestClient {
  const bytes = (n: number): Buffer => (o.rng ? o.rng.bytes(n) : randomBytes(n));
  const draw = (make: (b: Buffer) => Buffer | null): Buffer => {
    for (;;) {
      const k = make(bytes(32));
      if (k) return k;
    }
  };
  let st:
    | {
        round: string;
        theta: Float32Array;
        range: number;
        scale: number;
        t: number;
        tk: number;
        k: number;
        pairs: { index: number; key: Buffer }[];
        c: Buffer;
        s: Buffer;
        b: Buffer;
        index: number;
        peers: Map<string, { index: number; cPk: Buffer; sPk: Buffer }>;
        held: Map<string, { b: Buffer; s: Buffer }>;
        phase: 'advertised' | 'shared' | 'setup' | 'masked' | 'done';
      }
    | undefined;
  let q: Int32Array | undefined;
  let y: Int32Array | undefined;
  const send = (body: object): void => o.send(JSON.stringify(body));
  const silent = (after: SilentAfter): boolean => o.silentAfter === after;

  const onAnnounce = (m: Record<string, any>): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!m.selected.includes(o.serial)) return;
    if (silent('announce')) return;
    if (o.decline) return send({ round: m.round, phase: 'decline', reason: o.decline });
    const c = draw(clampSecret);
    const s = draw(clampSecret);
    st = {
      round: m.round,
      theta: bytesToFloat32(Buffer.from(m.model.params, 'base64')),
      range: m.quantizer.range,
      scale: m.quantizer.scale,
      t: m.threshold,
      tk: 0,
      k: m.graph.k,
      pairs: [],
      c,
      s,
      b: draw(seedFrom),
      index: 0,
      peers: new Map(),
      held: new Map(),
      phase: 'advertised',
    };
    send({ round: m.round, phase: 'advertise', cPk: x25519PublicOf(x25519PrivateKey(c)).toString('base64'), sPk: x25519PublicOf(x25519PrivateKey(s)).toString('base64') });
  };

  const onRoster = (m: Record<string, any>): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!st || st.phase !== 'advertised' || m.round !== st.round || silent('advertise')) return;
    const me = m.peers.find((p: { serial: string }) => p.serial === o.serial);
    if (!me || m.threshold !== st.t || m.peers.length < st.t || m.graph.k !== st.k) return;
    const near = neighbourSets(ringOrder(Buffer.from(m.graph.seed, 'base64'), m.peers.map((p: { serial: string }) => p.serial)), st.k).get(o.serial)!;
    st.tk = shareThreshold(st.k, m.peers.length);
    if (m.shareThreshold !== st.tk) return;
    st.index = me.index;
    for (const p of m.peers) if (p.serial === o.serial || near.has(p.serial)) st.peers.set(p.serial, { index: p.index, cPk: Buffer.from(p.cPk, 'base64'), sPk: Buffer.from(p.sPk, 'base64') });
    const xs = [...st.peers.values()].map((p) => p.index);
    const bShares = splitAt(bytesToField(st.b), xs, st.tk, { bytes } as unknown as Rng);
    const sShares = splitAt(bytesToField(st.s), xs, st.tk, { bytes } as unknown as Rng);
    // Its own shares stay with it: it reveals its own b share at unmasking, like every survivor's.
    st.held.set(o.serial, { b: fieldToBytes(bShares.find((x) => x.x === st!.index)!.y), s: fieldToBytes(sShares.find((x) => x.x === st!.index)!.y) });
    const cPriv = x25519PrivateKey(st.c);
    const boxes = [];
    for (const [serial, p] of st.peers) {
      if (serial === o.serial) continue;
      const plain = encodeBoxPlaintext({
        fromIndex: st.index,
        toIndex: p.index,
        bShare: fieldToBytes(bShares.find((x) => x.x === p.index)!.y),
        sShare: fieldToBytes(sShares.find((x) => x.x === p.index)!.y),
      });
      const key = boxKey(x25519(cPriv, x25519PublicKey(p.cPk)), st.round);
      boxes.push({ to: serial, box: sealBox(key, bytes(12), plain, boxAad(st.round, o.serial, serial)).toString('base64') });
    }
    st.phase = 'shared';
    send({ round: st.round, phase: 'shares', boxes });
  };

  const onDeliver = (m: Record<string, any>): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!st || st.phase !== 'shared' || m.round !== st.round || silent('shares')) return;
    const cPriv = x25519PrivateKey(st.c);
    const sPriv = x25519PrivateKey(st.s);
    const pairs: { index: number; key: Buffer }[] = [];
    for (const { from, box } of m.boxes) {
      const p = st.peers.get(from);
      if (!p) return;
      const opened = openBox(boxKey(x25519(cPriv, x25519PublicKey(p.cPk)), st.round), Buffer.from(box, 'base64'), boxAad(st.round, from, o.serial));
      const plain = opened && decodeBoxPlaintext(opened);
      if (!plain || plain.fromIndex !== p.index || plain.toIndex !== st.index) return;
      st.held.set(from, { b: plain.bShare, s: plain.sShare });
      pairs.push({ index: p.index, key: maskKey(x25519(sPriv, x25519PublicKey(p.sPk)), st.round) });
    }
    if (m.boxes.length + 1 < st.tk) return;
    st.pairs = pairs;
    st.phase = 'setup';
  };

  const onGo = (m: Record<string, any>): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!st || st.phase !== 'setup' || m.round !== st.round || silent('setup')) return;
    const local = o.train(st.theta);
    const delta = Array.from(local, (v, i) => v - st!.theta[i]!);
    q = quantizeDelta(delta, st.range, st.scale);
    y = maskInput(q, st.b, st.index, st.pairs);
    st.phase = 'masked';
    send({ round: st.round, phase: 'masked', y: int32ToBytes(y).toString('base64') });
  };

  const onUnmask = (m: Record<string, any>): void => { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!st || st.phase !== 'masked' || m.round !== st.round || silent('masked')) return;
    const survivors = new Set<string>(m.survivors);
    const dropped = new Set<string>(m.dropped);
    if (!survivors.has(o.serial) || survivors.size < st.t || [...dropped].some((d) => survivors.has(d))) return;
    const selfShares = [];
    const keyShares = [];
    for (const [of, h] of st.held) {
      if (survivors.has(of)) selfShares.push({ of, y: h.b.toString('base64') });
      else if (dropped.has(of)) keyShares.push({ of, y: h.s.toString('base64') });
    }
    st.phase = 'done';
    send({ round: st.round, phase: 'unmask', selfShares, keyShares });
  };

  return {
    onMessage(topic, payload) {
      let m: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      try {
        m = JSON.parse(payload);
      } catch {
        return;
      }
      if (topic === 'omnisight/desktop/fl/announce') onAnnounce(m);
      else if (topic.endsWith('/roster')) onRoster(m);
      else if (topic.endsWith(`/deliver/${o.serial}`)) onDeliver(m);
      else if (topic.endsWith('/go')) onGo(m);
      else if (topic.endsWith('/unmask')) onUnmask(m);
    },
    lastQ: () => q,
    lastY: () => y,
  };
}

/** The round the server's tests and its bench run: the version-0 head, one local epoch, `deadlineMs` for every phase. */
export function testRoundSpec(round: string, selected: string[], deadlineMs: number): RoundSpec {
  return {
    round,
    model: { version: 0, params: headV0() },
    selected,
    train: { epochs: 1, lr: 0.1, batchSize: 32 },
    range: 4,
    deadlines: { advertise: deadlineMs, shares: deadlineMs, masked: deadlineMs, unmask: deadlineMs },
    minSamples: 20,
  };
}
