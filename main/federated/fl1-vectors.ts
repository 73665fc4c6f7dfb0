import { createHash } from 'node:crypto';
import {
  addPrg,
  boxAad,
  boxKey,
  clampSecret,
  encodeBoxPlaintext,
  int32ToBytes,
  maskInput,
  maskKey,
  prgWords,
  quantizeDelta,
  sealBox,
  seedFrom,
  x25519,
  x25519PrivateKey,
  x25519PublicKey,
  x25519PublicOf,
} from './fl1';
import { neighbourSets, ringOrder, shareThreshold } from './fl2';
import { bytesToField, FIELD_PRIME, fieldToBytes } from './shamir';

/**
 * Known-answer vectors of fl1 (docs/fl1-vectors.json), built from fixed bytes so every client can
 * check its primitives against them. `scripts/fl1-vectors.ts` writes the file; fl1.test.ts checks
 * the committed file still equals what this builds.
 */

const fixed = (label: string): Buffer => createHash('sha256').update(`omnisight.fl1.vectors/${label}`).digest();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Fixed bytes for a label, clamped (or, for b, masked) and re-hashed until below p, as a camera redraws. */
function draw(label: string, make: (raw: Buffer) => Buffer | null): Buffer {
  for (let i = 0; ; i++) {
    const k = make(fixed(i === 0 ? label : `${label}#${i}`));
    if (k) return k;
  }
}

const P = FIELD_PRIME;
const polyAt = (coeffs: readonly bigint[], x: number): bigint => {
  let y = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) y = (y * BigInt(x) + coeffs[i]!) % P;
  return y;
};

export function buildFl1Vectors(): Record<string, unknown> {
  const round = 'kat-round-1';
  const serials = ['ACCC8E000001', 'ACCC8E000002', 'ACCC8E000003'];
  const cams = serials.map((serial, i) => {
    const c = draw(`${serial}/c`, clampSecret);
    const s = draw(`${serial}/s`, clampSecret);
    const b = draw(`${serial}/b`, seedFrom);
    const cPriv = x25519PrivateKey(c);
    const sPriv = x25519PrivateKey(s);
    return { serial, index: i + 1, c, s, b, cPriv, sPriv, cPk: x25519PublicOf(cPriv), sPk: x25519PublicOf(sPriv) };
  });
  const [a, bCam] = cams as [(typeof cams)[0], (typeof cams)[0]];

  // X25519 and both HKDF keys between camera 1 and camera 2.
  const cShared = x25519(a.cPriv, x25519PublicKey(bCam.cPk));
  const sShared = x25519(a.sPriv, x25519PublicKey(bCam.sPk));
  const kBox = boxKey(cShared, round);
  const kMask = maskKey(sShared, round);

  // Shamir: camera 1's b and s, t = 2 of n = 3, with fixed coefficients.
  const t = 2;
  const bCoeffs = [bytesToField(a.b), bytesToField(fixed('shamir/b/1')) % P];
  const sCoeffs = [bytesToField(a.s), bytesToField(fixed('shamir/s/1')) % P];
  const shares = cams.map((p) => ({ x: p.index, b: fieldToBytes(polyAt(bCoeffs, p.index)), s: fieldToBytes(polyAt(sCoeffs, p.index)) }));

  // The box camera 1 → camera 2 carrying camera 2's shares.
  const nonce = fixed('box/nonce').subarray(0, 12);
  const plaintext = encodeBoxPlaintext({ fromIndex: a.index, toIndex: bCam.index, bShare: shares[1]!.b, sShare: shares[1]!.s });
  const aad = boxAad(round, a.serial, bCam.serial);
  const box = sealBox(kBox, nonce, plaintext, aad);

  // One camera's masked input: θ_global (version 0), a local θ, δ, q, and y with U2 = all three.
  const L = 14;
  const range = 4;
  const scale = Math.floor((2 ** 31 - 1) / (range * 100));
  const thetaGlobal = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2];
  const delta = [0.731, -0.052, 0.0103, -0.25, 0.125, 1.5, -4.75, 0.3333, -0.0004, 0.09, 2.2, -0.6, 0.01, -0.8765];
  const thetaLocal = thetaGlobal.map((g, i) => Math.fround(g + delta[i]!));
  const deltaUsed = thetaLocal.map((l, i) => l - thetaGlobal[i]!);
  const q = quantizeDelta(deltaUsed, range, scale);
  const pairKeys = (u: (typeof cams)[0]) =>
    cams.filter((v) => v !== u).map((v) => ({ index: v.index, key: maskKey(x25519(u.sPriv, x25519PublicKey(v.sPk)), round) }));
  const y1 = maskInput(q, a.b, a.index, pairKeys(a));

  // All three cameras' y with the same q, and the server's unmasking: Σy − Σ PRG(b) = 3q.
  const ys = cams.map((u) => maskInput(q, u.b, u.index, pairKeys(u)));
  const sum = new Int32Array(L);
  for (const y of ys) for (let i = 0; i < L; i++) sum[i] = (sum[i]! + y[i]!) | 0;
  for (const u of cams) addPrg(sum, u.b, -1);

  // fl2: ring order, neighbour sets and tk (docs/protocol.md, "Federated learning (fl2)").
  const graphSeed = fixed('fl2/graph-seed');
  const graphCase = (serialsOf: string[], k: number, note: string) => {
    const order = ringOrder(graphSeed, serialsOf);
    const sets = neighbourSets(order, k);
    return {
      note,
      k,
      serials: serialsOf,
      hashes: serialsOf.map((s) => hex(createHash('sha256').update(graphSeed).update(s, 'utf8').digest())),
      ringOrder: order,
      neighbours: Object.fromEntries(serialsOf.map((s) => [s, [...sets.get(s)!].sort()])),
      shareThreshold: shareThreshold(k, serialsOf.length),
    };
  };
  const ring = Array.from({ length: 12 }, (_, i) => `ACCC8E0000${(0x10 + i).toString(16).toUpperCase()}`);
  const fl2 = {
    note: 'ring order = serials sorted by SHA-256(seed ‖ UTF-8 serial) ascending (hashes[i] belongs to serials[i]); neighbours sorted by serial; tk = ⌈2(min(K, n′−1)+1)/3⌉',
    seed: hex(graphSeed),
    seedB64: graphSeed.toString('base64'),
    sparse: graphCase(ring, 4, "n′ = 12 > K + 1: K/2 = 2 peers each side on the ring"),
    sparseK6: graphCase(ring, 6, "n′ = 12 > K + 1: K/2 = 3 peers each side"),
    edge: graphCase(ring.slice(0, 6), 4, "n′ = 6 = K + 2: still the ring (every camera misses exactly one peer)"),
    full: graphCase(ring.slice(0, 5), 4, "n′ = 5 ≤ K + 1: every other peer"),
    shareThresholds: [
      [2, 3], [4, 5], [4, 12], [6, 12], [14, 100], [16, 100], [28, 100], [28, 20], [254, 1000],
    ].map(([k, n]) => ({ k: k!, n: n!, tk: shareThreshold(k!, n!) })),
  };

  return {
    protocol: 'fl1',
    fl2,
    note: 'Built by scripts/fl1-vectors.ts from fixed bytes (SHA-256 of "omnisight.fl1.vectors/<label>"); binary values are lower-case hex unless the field name ends in B64. Integers in words/q/y arrays are the LE words read as unsigned (prg) or signed (q, y).',
    round,
    fieldPrime: P.toString(),
    cameras: cams.map((p) => ({
      serial: p.serial,
      index: p.index,
      cSecret: hex(p.c),
      cPk: hex(p.cPk),
      cPkB64: p.cPk.toString('base64'),
      sSecret: hex(p.s),
      sPk: hex(p.sPk),
      sPkB64: p.sPk.toString('base64'),
      b: hex(p.b),
    })),
    x25519: {
      note: 'camera 1 secret with camera 2 public key; the same from camera 2 secret with camera 1 public key',
      cShared: hex(cShared),
      cSharedReverse: hex(x25519(bCam.cPriv, x25519PublicKey(a.cPk))),
      sShared: hex(sShared),
    },
    hkdf: {
      note: 'HKDF-SHA256(ikm = shared secret, salt = UTF-8 round, info, 32 bytes)',
      boxInfo: 'omnisight.fl1.box',
      boxKey: hex(kBox),
      maskInfo: 'omnisight.fl1.mask',
      maskKey: hex(kMask),
    },
    box: {
      from: a.serial,
      to: bCam.serial,
      key: hex(kBox),
      nonce: hex(nonce),
      aad: aad.toString('utf8'),
      plaintext: hex(plaintext),
      box: hex(box),
      boxB64: box.toString('base64'),
    },
    prg: {
      note: 'ChaCha20-IETF keystream, zero nonce, counter 0, as LE uint32 words',
      maskKey: { key: hex(kMask), words: Array.from(prgWords(kMask, L)) },
      selfMask: { key: hex(a.b), words: Array.from(prgWords(a.b, L)) },
      fortyWords: { key: hex(kMask), words: Array.from(prgWords(kMask, 40)) },
    },
    shamir: {
      note: 'f(x) = c0 + c1·x mod p; c0 is the secret; shares are f(index), 32 bytes LE',
      threshold: t,
      b: { secret: hex(a.b), coefficients: bCoeffs.map((c) => hex(fieldToBytes(c))), shares: shares.map((s) => ({ x: s.x, y: hex(s.b) })) },
      s: { secret: hex(a.s), coefficients: sCoeffs.map((c) => hex(fieldToBytes(c))), shares: shares.map((s) => ({ x: s.x, y: hex(s.s) })) },
    },
    masked: {
      note: 'camera 1, U2 = all three cameras; y = q + PRG(b_1) + PRG(k_12) + PRG(k_13) mod 2^32',
      quantizer: { range, scale },
      thetaGlobal,
      thetaLocalF32: thetaLocal,
      q: Array.from(q),
      y: Array.from(y1),
      yB64: int32ToBytes(y1).toString('base64'),
      everyCameraSameQ: {
        ys: ys.map((y) => int32ToBytes(y).toString('base64')),
        sumMinusSelfMasks: Array.from(sum),
        note: 'pairwise masks cancel; removing the three self masks leaves 3q',
      },
    },
  };
}
