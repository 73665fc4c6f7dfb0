import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';
import { bytesToField, FIELD_PRIME } from './shamir';

/**
 * The cryptographic primitives of the fl1 protocol (docs/protocol.md, "Federated learning (fl1)"),
 * the ones the cameras implement with libsodium: X25519, HKDF-SHA256, ChaCha20-Poly1305-IETF boxes
 * and the ChaCha20-IETF keystream as the mask PRG. Node's crypto has every one of them, so nothing
 * here is hand-written cryptography; this file only fixes the encodings both sides agree on.
 */

export const FL1_BOX_INFO = 'omnisight.fl1.box';
export const FL1_MASK_INFO = 'omnisight.fl1.mask';
/** Box plaintext: u32 from-index ‖ u32 to-index ‖ share of b (32) ‖ share of s (32). */
export const BOX_PLAINTEXT_BYTES = 72;
export const BOX_BYTES = 12 + BOX_PLAINTEXT_BYTES + 16;

// Raw 32-byte X25519 keys to KeyObjects. Public keys go through JWK, which OpenSSL imports about
// eight times faster than DER; a private JWK needs the public half, so private keys use the
// PKCS#8 DER wrapper of RFC 8410.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
export const x25519PrivateKey = (raw: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_X25519, Buffer.from(raw)]), format: 'der', type: 'pkcs8' });
export const x25519PublicKey = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
export const x25519PublicOf = (priv: KeyObject): Buffer => Buffer.from(createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');

/** X25519(priv, pub): the raw 32-byte shared secret. */
export const x25519 = (priv: KeyObject, pub: KeyObject): Buffer => diffieHellman({ privateKey: priv, publicKey: pub });

/**
 * Clamps 32 random bytes into an fl1 secret key (k[0] &= 248, k[31] &= 127, k[31] |= 64); null when
 * the clamped value, read little-endian, is not below p = 2^255 − 19 (the caller redraws: the key
 * is also a Shamir secret in GF(p)).
 */
export function clampSecret(random: Uint8Array): Buffer | null {
  const k = Buffer.from(random);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return bytesToField(k) < FIELD_PRIME ? k : null;
}

/** A self-mask seed b from 32 random bytes (b[31] &= 0x7f); null when b ≥ p (redraw). */
export function seedFrom(random: Uint8Array): Buffer | null {
  const b = Buffer.from(random);
  b[31]! &= 0x7f;
  return bytesToField(b) < FIELD_PRIME ? b : null;
}

const hkdf = (ikm: Uint8Array, round: string, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, Buffer.from(round, 'utf8'), info, 32));
/** k_box(u,v) = HKDF-SHA256(X25519(c_u, cPk_v), salt = round, info = "omnisight.fl1.box"). */
export const boxKey = (shared: Uint8Array, round: string): Buffer => hkdf(shared, round, FL1_BOX_INFO);
/** k_uv = HKDF-SHA256(X25519(s_u, sPk_v), salt = round, info = "omnisight.fl1.mask"). */
export const maskKey = (shared: Uint8Array, round: string): Buffer => hkdf(shared, round, FL1_MASK_INFO);

export const boxAad = (round: string, from: string, to: string): Buffer => Buffer.from(`${round}\n${from}\n${to}`, 'utf8');

/** nonce(12) ‖ ChaCha20-Poly1305-IETF ciphertext ‖ tag(16), as libsodium's _ietf_encrypt with the nonce in front. */
export function sealBox(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  if (nonce.length !== 12) throw new Error('box nonce must be 12 bytes');
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from(nonce), body, c.getAuthTag()]);
}

/** Opens a box; null when it is too short or its tag does not verify (wrong key, sender, round or bytes). */
export function openBox(key: Uint8Array, box: Uint8Array, aad: Uint8Array): Buffer | null {
  if (box.length < 12 + 16) return null;
  const b = Buffer.from(box.buffer, box.byteOffset, box.byteLength);
  try {
    const d = createDecipheriv('chacha20-poly1305', key, b.subarray(0, 12), { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: b.length - 28 });
    d.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
  } catch {
    return null;
  }
}

export interface BoxPlaintext {
  fromIndex: number;
  toIndex: number;
  /** 32-byte LE share of the sender's self-mask seed b, evaluated at toIndex. */
  bShare: Buffer;
  /** 32-byte LE share of the sender's mask secret key s, evaluated at toIndex. */
  sShare: Buffer;
}

export function encodeBoxPlaintext(p: BoxPlaintext): Buffer {
  const out = Buffer.alloc(BOX_PLAINTEXT_BYTES);
  out.writeUInt32LE(p.fromIndex, 0);
  out.writeUInt32LE(p.toIndex, 4);
  Buffer.from(p.bShare).copy(out, 8);
  Buffer.from(p.sShare).copy(out, 40);
  return out;
}

export function decodeBoxPlaintext(b: Buffer): BoxPlaintext | null {
  if (b.length !== BOX_PLAINTEXT_BYTES) return null;
  return { fromIndex: b.readUInt32LE(0), toIndex: b.readUInt32LE(4), bShare: Buffer.from(b.subarray(8, 40)), sShare: Buffer.from(b.subarray(40, 72)) };
}

// The keystream comes in 64 KiB pieces added straight into the vector while still in cache; the
// zero input is one shared buffer (Node's cipher API cannot write into a caller's buffer). Node's
// 'chacha20' takes a 16-byte IV = 32-bit LE block counter ‖ 96-bit nonce (RFC 8439 layout): all
// zeros is counter 0 with the zero nonce, exactly libsodium's crypto_stream_chacha20_ietf.
const IV0 = Buffer.alloc(16);
const CHUNK_WORDS = 1 << 14;
const ZEROES = Buffer.alloc(CHUNK_WORDS * 4);

/** acc += sign · PRG(key) word by word in Z_2^32, PRG = ChaCha20-IETF keystream read as LE uint32. */
export function addPrg(acc: Int32Array | Uint32Array, key: Uint8Array, sign: 1 | -1): void {
  if (key.length !== 32) throw new Error('PRG key must be 32 bytes');
  const out = new Uint32Array(acc.buffer, acc.byteOffset, acc.length);
  const cipher = createCipheriv('chacha20', key, IV0);
  for (let from = 0; from < out.length; from += CHUNK_WORDS) {
    const len = Math.min(CHUNK_WORDS, out.length - from);
    const ks = cipher.update(len === CHUNK_WORDS ? ZEROES : ZEROES.subarray(0, len * 4));
    const m = ks.byteOffset % 4 === 0 ? new Uint32Array(ks.buffer, ks.byteOffset, len) : new Uint32Array(Uint8Array.from(ks).buffer);
    if (sign > 0) for (let i = 0; i < len; i++) out[from + i]! += m[i]!;
    else for (let i = 0; i < len; i++) out[from + i]! -= m[i]!;
  }
}

/** The first L words of PRG(key). */
export function prgWords(key: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  addPrg(out, key, 1);
  return out;
}

/** Int32 vector ↔ LE bytes (the wire form of y and of θ's quantised update). */
export const int32ToBytes = (v: Int32Array): Buffer => {
  const out = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) out.writeInt32LE(v[i]!, i * 4);
  return out;
};
export const bytesToInt32 = (b: Buffer): Int32Array => {
  if (b.length % 4 !== 0) throw new Error('int32 vector must be a multiple of 4 bytes');
  const out = new Int32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt32LE(i * 4);
  return out;
};
export const float32ToBytes = (v: ArrayLike<number>): Buffer => {
  const out = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) out.writeFloatLE(v[i]!, i * 4);
  return out;
};
export const bytesToFloat32 = (b: Buffer): Float32Array => {
  if (b.length % 4 !== 0) throw new Error('float32 vector must be a multiple of 4 bytes');
  const out = new Float32Array(b.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
};

/** q_i = round(clamp(δ_i, −r, r) · s) as int32, to nearest with ties away from zero (C's lround). */
export function quantizeDelta(delta: ArrayLike<number>, range: number, scale: number): Int32Array {
  const out = new Int32Array(delta.length);
  for (let i = 0; i < delta.length; i++) {
    const v = delta[i]!;
    const x = (v > range ? range : v < -range ? -range : v) * scale;
    out[i] = x < 0 ? -Math.round(-x) : Math.round(x);
  }
  return out;
}

/**
 * y_u = q + PRG(b_u) + Σ_{x_v > x_u} PRG(k_uv) − Σ_{x_v < x_u} PRG(k_uv) (mod 2^32), over the peers
 * whose shares the camera received (U2).
 */
export function maskInput(q: Int32Array, selfSeed: Uint8Array, selfIndex: number, pairs: readonly { index: number; key: Uint8Array }[]): Int32Array {
  const y = q.slice();
  addPrg(y, selfSeed, 1);
  for (const p of pairs) if (p.index !== selfIndex) addPrg(y, p.key, p.index > selfIndex ? 1 : -1);
  return y;
}
