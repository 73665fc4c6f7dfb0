// The camera side's fl1 primitives (FL-SPEC "Cryptography"), written for the simulated camera on
// its own: it must not share code with main/federated (the server), so that two independent
// implementations of docs/protocol.md meet on the wire. Node's crypto has every primitive
// (X25519, HKDF-SHA256, ChaCha20-Poly1305, ChaCha20); only Shamir over GF(2^255 − 19) is written
// here, with bigint, because no kept library does Shamir over this prime field.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';

/** p = 2^255 − 19: the Shamir field (the same prime as Curve25519's). */
export const P = (1n << 255n) - 19n;
/** Parameter vector length of the confirmation head: 13 weights and a bias. */
export const L = 14;

// Keys are imported as JWK, not DER: OpenSSL 3's DER decoder costs ~1 ms per private key (it tries
// every decoder), the raw JWK import ~0.05 ms — and a camera does 2(n − 1) X25519 per round.
const b64u = (b: Buffer): string => b.toString('base64url');
/** JWK import wants an `x`; OpenSSL derives the public key from `d` and ignores it (tests check). */
const NO_X = b64u(Buffer.alloc(32));

export type RandomBytes = (n: number) => Buffer;

/** 32 bytes little-endian → integer. */
// Through one hex string rather than a byte-at-a-time bigint loop (32 bigint allocations a value,
// and a camera converts a few hundred per round).
export function leToBig(b: Uint8Array): bigint {
  return b.length ? BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`) : 0n;
}

/** integer in [0, 2^256) → 32 bytes little-endian. */
export function bigToLe(v: bigint, n = 32): Buffer {
  if (v < 0n || v >= 1n << BigInt(8 * n)) throw new RangeError('value does not fit');
  return Buffer.from(v.toString(16).padStart(2 * n, '0'), 'hex').reverse();
}

const mod = (a: bigint): bigint => ((a % P) + P) % P;

export interface X25519Pair {
  /** The clamped 32-byte secret scalar (what is Shamir-shared for s). */
  secret: Buffer;
  publicKey: Buffer;
  key: KeyObject;
}

export function x25519FromSecret(secret: Buffer): X25519Pair {
  if (secret.length !== 32) throw new RangeError('an X25519 secret is 32 bytes');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(secret), x: NO_X }, format: 'jwk' });
  const { x } = createPublicKey(key).export({ format: 'jwk' });
  return { secret, publicKey: Buffer.from(x!, 'base64url'), key };
}

/** A fresh key pair whose secret is clamped and below p, as FL-SPEC asks (so it can be Shamir-shared). */
export function x25519Generate(random: RandomBytes): X25519Pair {
  for (;;) {
    const k = Buffer.from(random(32));
    k[0]! &= 248;
    k[31]! &= 127;
    k[31]! |= 64;
    if (leToBig(k) < P) return x25519FromSecret(k);
  }
}

/** X25519(secret, peerPublic); pass the pair's KeyObject to skip re-importing the secret per peer. */
export function x25519(secret: Buffer | KeyObject, peerPublic: Buffer): Buffer {
  if (peerPublic.length !== 32) throw new RangeError('an X25519 public key is 32 bytes');
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(peerPublic) }, format: 'jwk' });
  return diffieHellman({ privateKey: Buffer.isBuffer(secret) ? x25519FromSecret(secret).key : secret, publicKey: pub });
}

export const hkdf = (ikm: Buffer, round: string, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, Buffer.from(round, 'utf8'), Buffer.from(info, 'utf8'), 32));

/** k_box(u,v): both sides derive the same key from their own c secret and the other's cPk. */
export const boxKey = (cSecret: Buffer | KeyObject, peerCPk: Buffer, round: string): Buffer => hkdf(x25519(cSecret, peerCPk), round, 'omnisight.fl1.box');
/** k_uv: the pairwise mask key. */
export const maskKey = (sSecret: Buffer | KeyObject, peerSPk: Buffer, round: string): Buffer => hkdf(x25519(sSecret, peerSPk), round, 'omnisight.fl1.mask');

export const boxAad = (round: string, from: string, to: string): Buffer => Buffer.from(`${round}\n${from}\n${to}`, 'utf8');

/** nonce(12) ‖ ChaCha20-Poly1305-IETF ciphertext ‖ tag(16). */
export function seal(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (nonce.length !== 12) throw new RangeError('the nonce is 12 bytes');
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]);
}

/** undefined when the box is malformed or does not authenticate. */
export function open(key: Buffer, box: Buffer, aad: Buffer): Buffer | undefined {
  if (box.length < 28) return undefined;
  const nonce = box.subarray(0, 12);
  const ct = box.subarray(12, box.length - 16);
  const tag = box.subarray(box.length - 16);
  try {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: ct.length });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return undefined;
  }
}

/** The share plaintext: u32 from-index ‖ u32 to-index ‖ share of b ‖ share of s (72 bytes). */
export function sharePlaintext(fromIndex: number, toIndex: number, bShare: bigint, sShare: bigint): Buffer {
  const out = Buffer.alloc(72);
  out.writeUInt32LE(fromIndex, 0);
  out.writeUInt32LE(toIndex, 4);
  bigToLe(bShare).copy(out, 8);
  bigToLe(sShare).copy(out, 40);
  return out;
}

export function parseSharePlaintext(b: Buffer): { from: number; to: number; bShare: bigint; sShare: bigint } | undefined {
  if (b.length !== 72) return undefined;
  const bShare = leToBig(b.subarray(8, 40));
  const sShare = leToBig(b.subarray(40, 72));
  if (bShare >= P || sShare >= P) return undefined;
  return { from: b.readUInt32LE(0), to: b.readUInt32LE(4), bShare, sShare };
}

/** PRG(key): the first `words` little-endian uint32 of the ChaCha20-IETF keystream, nonce 0, counter 0. */
export function prg(key: Buffer, words = L): Uint32Array {
  // Node's 16-byte chacha20 IV is the 32-bit block counter followed by the 96-bit nonce: all zero.
  const c = createCipheriv('chacha20', key, Buffer.alloc(16));
  const ks = c.update(Buffer.alloc(words * 4));
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) out[i] = ks.readUInt32LE(i * 4);
  return out;
}

/** A uniform element of [0, p) by rejection (32 bytes, top bit cleared, redraw if ≥ p). */
export function randomFieldElement(random: RandomBytes): bigint {
  for (;;) {
    const b = Buffer.from(random(32));
    b[31]! &= 0x7f;
    const v = leToBig(b);
    if (v < P) return v;
  }
}

/** Shamir: f(x) = secret + a_1 x + … + a_{t−1} x^{t−1} over GF(p); returns f(x) for every x asked. */
export function shamirSplit(secret: bigint, t: number, xs: readonly number[], random: RandomBytes): Map<number, bigint> {
  if (!(t >= 1)) throw new RangeError('threshold must be at least 1');
  if (secret < 0n || secret >= P) throw new RangeError('the secret must be in [0, p)');
  const coeffs = [secret];
  for (let i = 1; i < t; i++) coeffs.push(randomFieldElement(random));
  const out = new Map<number, bigint>();
  for (const x of xs) {
    if (!(Number.isInteger(x) && x >= 1 && x < 2 ** 32)) throw new RangeError('evaluation points are positive 32-bit integers');
    out.set(x, polyAt(coeffs, x));
  }
  return out;
}

const LOW255 = (1n << 255n) - 1n;
/**
 * f(x) mod p by Horner's rule, reduced each step by the shape of p instead of `%` (a long division
 * of a 290-bit number, twice, was most of a camera's Shamir time): 2^255 ≡ 19 (mod p), so
 * v ≡ (v mod 2^255) + 19·⌊v / 2^255⌋. With acc < 2^256, x < 2^32 and coefficients < p, acc·x + c <
 * 2^289 and the fold brings it back below 2^255 + 19·2^34 < 2^256: one final subtraction or two.
 */
export function polyAt(coeffs: readonly bigint[], x: number): bigint {
  const bx = BigInt(x);
  let acc = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) {
    acc = acc * bx + coeffs[i]!;
    acc = (acc & LOW255) + 19n * (acc >> 255n);
  }
  while (acc >= P) acc -= P;
  return acc;
}

const inv = (a: bigint): bigint => {
  // Fermat: a^(p−2) mod p.
  let r = 1n;
  let b = mod(a);
  let e = P - 2n;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
};

/** Lagrange interpolation at 0 from (x, f(x)) pairs (the server's step; here for tests and checks). */
export function shamirCombine(shares: readonly { x: number; y: bigint }[]): bigint {
  let acc = 0n;
  for (const a of shares) {
    let num = 1n;
    let den = 1n;
    for (const b of shares) {
      if (b.x === a.x) continue;
      num = mod(num * BigInt(-b.x));
      den = mod(den * BigInt(a.x - b.x));
    }
    acc = mod(acc + a.y * num * inv(den));
  }
  return acc;
}

/** Quantizes δ: q_i = round(clamp(δ_i, −r, r) · s) as int32 (round half away from zero, as C's lround). */
export function quantize(delta: readonly number[], range: number, scale: number): Int32Array {
  const q = new Int32Array(delta.length);
  for (let i = 0; i < delta.length; i++) {
    const v = Math.min(range, Math.max(-range, delta[i]!)) * scale;
    q[i] = Math.sign(v) * Math.round(Math.abs(v));
  }
  return q;
}

/**
 * y_u = q + PRG(b_u) + Σ_{x_v > x_u} PRG(k_uv) − Σ_{x_v < x_u} PRG(k_uv)  (mod 2^32).
 * `pairs` are the peers of U2 other than u with their pairwise mask keys.
 */
export function maskUpdate(q: Int32Array, selfSeed: Buffer, myIndex: number, pairs: readonly { index: number; key: Buffer }[]): Uint32Array {
  const y = new Uint32Array(q.length);
  const self = prg(selfSeed, q.length);
  for (let i = 0; i < q.length; i++) y[i] = (q[i]! + self[i]!) >>> 0;
  for (const p of pairs) {
    if (p.index === myIndex) throw new Error('a camera has no pairwise mask with itself');
    const m = prg(p.key, q.length);
    const sign = p.index > myIndex ? 1 : -1;
    for (let i = 0; i < q.length; i++) y[i] = (y[i]! + sign * m[i]!) >>> 0;
  }
  return y;
}

/**
 * The mask part of y_u, known once the boxes are delivered: PRG(b_u) + Σ_{x_v > x_u} PRG(k_uv) −
 * Σ_{x_v < x_u} PRG(k_uv) (mod 2^32). A camera computes it during the setup, so that after `go` it
 * only trains and adds q.
 */
export function maskVector(selfSeed: Buffer, myIndex: number, pairs: readonly { index: number; key: Buffer }[], length = L): Uint32Array {
  return maskUpdate(new Int32Array(length), selfSeed, myIndex, pairs);
}

/** y = q + m (mod 2^32). */
export function addMask(q: Int32Array, mask: Uint32Array): Uint32Array {
  if (q.length !== mask.length) throw new RangeError('update and mask differ in length');
  const y = new Uint32Array(q.length);
  for (let i = 0; i < q.length; i++) y[i] = (q[i]! + mask[i]!) >>> 0;
  return y;
}

export const u32ToB64 = (v: Uint32Array): string => {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeUInt32LE(v[i]!, i * 4);
  return b.toString('base64');
};

export const f32ToB64 = (v: readonly number[]): string => {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b.toString('base64');
};

/** 14 float32 LE → numbers; undefined unless exactly 56 bytes of finite values. */
export function f32FromBytes(b: Buffer): number[] | undefined {
  if (b.length !== L * 4) return undefined;
  const out: number[] = [];
  for (let i = 0; i < L; i++) {
    const v = b.readFloatLE(i * 4);
    if (!Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}
