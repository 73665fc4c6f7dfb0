import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { polyAt, randomFieldElement, bigToLe, boxAad, boxKey, leToBig, maskKey, maskUpdate, open, P, prg, quantize, seal, shamirCombine, shamirSplit, sharePlaintext, parseSharePlaintext, x25519, x25519FromSecret, x25519Generate } from './crypto';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('fl1 primitives against the RFC vectors', () => {
  it('X25519 (RFC 7748 §6.1): public keys and the shared secret', () => {
    const a = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(x25519FromSecret(a).publicKey.toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(x25519FromSecret(b).publicKey.toString('hex')).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(x25519(a, x25519FromSecret(b).publicKey).toString('hex')).toBe(k);
    expect(x25519(b, x25519FromSecret(a).publicKey).toString('hex')).toBe(k);
  });

  it('X25519 by JWK import (the fast path) equals the DER (PKCS#8/SPKI) import it replaced, on random keys', () => {
    // The former implementation, kept here as the reference.
    const derPriv = (k: Buffer) => createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b656e04220420'), k]), format: 'der', type: 'pkcs8' });
    const derPub = (k: Buffer): Buffer => Buffer.from(createPublicKey(derPriv(k)).export({ format: 'der', type: 'spki' }).subarray(-32));
    const derDh = (k: Buffer, pub: Buffer): Buffer => diffieHellman({ privateKey: derPriv(k), publicKey: createPublicKey({ key: Buffer.concat([hex('302a300506032b656e032100'), pub]), format: 'der', type: 'spki' }) });
    for (let i = 0; i < 40; i++) {
      // Unclamped secrets too: both paths clamp inside X25519.
      const a = i % 2 ? x25519Generate(randomBytes) : x25519FromSecret(randomBytes(32));
      const b = randomBytes(32);
      expect(a.publicKey.equals(derPub(a.secret))).toBe(true);
      const bPub = derPub(b);
      const ref = derDh(a.secret, bPub);
      expect(x25519(a.secret, bPub).equals(ref)).toBe(true);
      expect(x25519(a.key, bPub).equals(ref)).toBe(true);
      expect(boxKey(a.key, bPub, 'r1').equals(boxKey(a.secret, bPub, 'r1'))).toBe(true);
    }
  });

  it('Shamir evaluation by pseudo-Mersenne folding equals Horner with % p each step (the former code), on random polynomials', () => {
    const horner = (coeffs: bigint[], x: number): bigint => {
      let acc = 0n;
      for (let i = coeffs.length - 1; i >= 0; i--) acc = (((acc * BigInt(x) + coeffs[i]!) % P) + P) % P;
      return acc;
    };
    const extremes = [0n, 1n, P - 1n, P - 2n, (1n << 254n) + 5n];
    for (let trial = 0; trial < 60; trial++) {
      const t = 1 + (trial % 90);
      const coeffs = Array.from({ length: t }, (_, i) => (trial % 3 === 0 ? extremes[(i + trial) % extremes.length]! : randomFieldElement(randomBytes)));
      for (const x of [1, 2, 67, 100, 101, 1000, 65_535, 2 ** 32 - 1, 1 + randomBytes(2).readUInt16LE(0)]) {
        const v = polyAt(coeffs, x);
        expect(v).toBe(horner(coeffs, x));
        expect(v >= 0n && v < P).toBe(true);
      }
    }
  });

  it('leToBig / bigToLe by hex equal the byte loops they replaced, on random values', () => {
    const oldLe = (b: Uint8Array): bigint => {
      let v = 0n;
      for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      return v;
    };
    const oldBig = (v: bigint, n: number): Buffer => {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return out;
    };
    for (let len = 0; len <= 40; len++) {
      const b = randomBytes(len);
      expect(leToBig(b)).toBe(oldLe(b));
      expect(leToBig(Buffer.alloc(len, 0xff))).toBe(oldLe(Buffer.alloc(len, 0xff)));
    }
    for (const n of [4, 32]) {
      const top = 1n << BigInt(8 * n);
      for (const v of [0n, 1n, top - 1n, ...Array.from({ length: 40 }, () => leToBig(randomBytes(n)))]) expect(bigToLe(v, n).equals(oldBig(v, n))).toBe(true);
      expect(() => bigToLe(top, n)).toThrow(RangeError);
      expect(() => bigToLe(-1n, n)).toThrow(RangeError);
    }
  });

  it('PRG = ChaCha20 keystream with counter 0 and a zero nonce (RFC 8439 A.1 test vector #1)', () => {
    const words = prg(Buffer.alloc(32), 16);
    const bytes = Buffer.alloc(64);
    words.forEach((w, i) => bytes.writeUInt32LE(w, i * 4));
    expect(bytes.toString('hex')).toBe('76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586');
  });

  it('ChaCha20-Poly1305 IETF (RFC 8439 §2.8.2): ciphertext and tag, and a tampered box does not open', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const box = seal(key, nonce, pt, aad);
    expect(box.subarray(12, 28).toString('hex')).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(box.subarray(box.length - 16).toString('hex')).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(open(key, box, aad)?.equals(pt)).toBe(true);
    const bad = Buffer.from(box);
    bad[20]! ^= 1;
    expect(open(key, bad, aad)).toBeUndefined();
    expect(open(key, box, Buffer.from('other aad'))).toBeUndefined();
  });
});

describe('fl1 camera-side constructions', () => {
  it('clamped secrets below p, and both ends of a pair derive the same box and mask keys', () => {
    const u = x25519Generate(randomBytes);
    const v = x25519Generate(randomBytes);
    for (const k of [u.secret, v.secret]) {
      expect(k[0]! & 7).toBe(0);
      expect(k[31]! & 0xc0).toBe(0x40);
      expect(leToBig(k) < P).toBe(true);
    }
    expect(boxKey(u.secret, v.publicKey, 'r1').equals(boxKey(v.secret, u.publicKey, 'r1'))).toBe(true);
    expect(maskKey(u.secret, v.publicKey, 'r1').equals(maskKey(v.secret, u.publicKey, 'r1'))).toBe(true);
    expect(maskKey(u.secret, v.publicKey, 'r1').equals(boxKey(u.secret, v.publicKey, 'r1'))).toBe(false);
    expect(maskKey(u.secret, v.publicKey, 'r1').equals(maskKey(u.secret, v.publicKey, 'r2'))).toBe(false);
  });

  it('a share box opens only for its pair and AAD, and carries indexes and both shares', () => {
    const u = x25519Generate(randomBytes);
    const v = x25519Generate(randomBytes);
    const plain = sharePlaintext(3, 7, P - 1n, 12345n);
    const box = seal(boxKey(u.secret, v.publicKey, 'r'), randomBytes(12), plain, boxAad('r', 'ACCC8E000001', 'ACCC8E000002'));
    expect(box.length).toBe(12 + 72 + 16);
    const got = open(boxKey(v.secret, u.publicKey, 'r'), box, boxAad('r', 'ACCC8E000001', 'ACCC8E000002'));
    expect(parseSharePlaintext(got!)).toEqual({ from: 3, to: 7, bShare: P - 1n, sShare: 12345n });
    expect(open(boxKey(v.secret, u.publicKey, 'r'), box, boxAad('r', 'ACCC8E000002', 'ACCC8E000001'))).toBeUndefined();
  });

  it('Shamir over GF(2^255 − 19): any t shares give the secret back, t − 1 do not', () => {
    const secret = leToBig(x25519Generate(randomBytes).secret);
    const shares = shamirSplit(secret, 4, [1, 2, 3, 4, 5, 6, 7], randomBytes);
    const pick = (xs: number[]) => xs.map((x) => ({ x, y: shares.get(x)! }));
    expect(shamirCombine(pick([1, 2, 3, 4]))).toBe(secret);
    expect(shamirCombine(pick([7, 2, 5, 3]))).toBe(secret);
    expect(shamirCombine(pick([1, 2, 3]))).not.toBe(secret);
    for (const y of shares.values()) expect(y < P && y >= 0n).toBe(true);
    expect(leToBig(bigToLe(secret))).toBe(secret);
  });

  it('masks cancel in the sum: Σ y − Σ PRG(b) = Σ q (mod 2^32), and one y alone looks nothing like its q', () => {
    const n = 5;
    const cams = Array.from({ length: n }, (_, i) => ({ index: i + 1, s: x25519Generate(randomBytes), b: randomBytes(32) }));
    cams.forEach((c) => (c.b[31]! &= 0x7f));
    const qs = cams.map((_, i) => quantize(Array.from({ length: 14 }, (_, j) => (i - 2) * 0.01 + j * 0.001), 1, 1 << 16));
    const ys = cams.map((c, i) => maskUpdate(qs[i]!, c.b, c.index, cams.filter((o) => o !== c).map((o) => ({ index: o.index, key: maskKey(c.s.secret, o.s.publicKey, 'r') }))));
    for (let j = 0; j < 14; j++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum = (sum + ys[i]![j]! - prg(cams[i]!.b)[j]!) >>> 0;
      const want = qs.reduce((acc, q) => acc + q[j]!, 0);
      expect(sum | 0).toBe(want);
    }
    expect(Math.abs(ys[0]![0]! | 0)).toBeGreaterThan(1 << 20);
  });

  it('quantize clamps to ±range and rounds half away from zero', () => {
    expect([...quantize([0.5, -0.5, 2, -2, 1.5 / 4, -1.5 / 4], 1, 4)]).toEqual([2, -2, 4, -4, 2, -2]);
  });
});
