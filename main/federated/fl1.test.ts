import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxAad, boxKey, bytesToInt32, openBox, prgWords, quantizeDelta, sealBox, x25519, x25519PrivateKey, x25519PublicKey, x25519PublicOf } from './fl1';
import { buildFl1Vectors } from './fl1-vectors';
import { neighbourSets, ringOrder, shareThreshold } from './fl2';
import { bytesToField, combine, fieldToBytes } from './shamir';
import { createHash } from 'node:crypto';

const file = path.join(import.meta.dirname, '..', '..', 'docs', 'fl1-vectors.json');
const h = (s: string): Buffer => Buffer.from(s, 'hex');

describe('fl1 primitives', () => {
  it('X25519 gives RFC 7748 §6.1’s shared secret', () => {
    const alice = x25519PrivateKey(h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = x25519PrivateKey(h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(x25519PublicOf(alice).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(x25519(alice, x25519PublicKey(x25519PublicOf(bob))).toString('hex')).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  it('the PRG is the ChaCha20 keystream of RFC 8439 (all-zero key and nonce, counter 0)', () => {
    const words = prgWords(Buffer.alloc(32), 16);
    expect(Buffer.from(words.buffer).toString('hex')).toBe(
      '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586',
    );
  });

  it('a box opens only with its key, round, sender and receiver', () => {
    const key = boxKey(Buffer.alloc(32, 7), 'r1');
    const box = sealBox(key, Buffer.alloc(12, 1), Buffer.from('share bytes'), boxAad('r1', 'A', 'B'));
    expect(openBox(key, box, boxAad('r1', 'A', 'B'))?.toString()).toBe('share bytes');
    expect(openBox(key, box, boxAad('r1', 'B', 'A'))).toBeNull();
    expect(openBox(key, box, boxAad('r2', 'A', 'B'))).toBeNull();
    const flipped = Buffer.from(box);
    flipped[14]! ^= 1;
    expect(openBox(key, flipped, boxAad('r1', 'A', 'B'))).toBeNull();
    expect(openBox(key, box.subarray(0, 20), boxAad('r1', 'A', 'B'))).toBeNull();
  });

  it('quantizes with clipping, rounding ties away from zero', () => {
    expect(Array.from(quantizeDelta([0.5, -0.5, 1.25, -9, 9, 0.26], 4, 2))).toEqual([1, -1, 3, -8, 8, 1]);
  });
});

describe('docs/fl1-vectors.json', () => {
  const v = JSON.parse(fs.readFileSync(file, 'utf8')) as ReturnType<typeof buildFl1Vectors> & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('is what scripts/fl1-vectors.ts builds (run `npm run fl1:vectors` after changing the protocol)', () => {
    expect(v).toEqual(JSON.parse(JSON.stringify(buildFl1Vectors())));
  });

  it('is self-consistent: the box opens, the shares rebuild the secrets, the masks cancel to 3q', () => {
    const opened = openBox(h(v.box.key), h(v.box.box), Buffer.from(v.box.aad));
    expect(opened?.toString('hex')).toBe(v.box.plaintext);
    for (const which of ['b', 's'] as const) {
      const sh = v.shamir[which];
      const shares = sh.shares.map((s: { x: number; y: string }) => ({ x: s.x, y: bytesToField(h(s.y)) }));
      expect(fieldToBytes(combine(shares.slice(0, 2))).toString('hex')).toBe(sh.secret);
      expect(fieldToBytes(combine(shares.slice(1, 3))).toString('hex')).toBe(sh.secret);
      expect(fieldToBytes(combine(shares.slice(0, 1))).toString('hex')).not.toBe(sh.secret);
    }
    // The plaintext carries camera 2's shares (index 2) of camera 1's b and s.
    expect(v.box.plaintext.slice(16, 80)).toBe(v.shamir.b.shares[1].y);
    expect(v.box.plaintext.slice(80)).toBe(v.shamir.s.shares[1].y);
    expect(v.masked.everyCameraSameQ.sumMinusSelfMasks).toEqual(v.masked.q.map((x: number) => (3 * x) | 0));
    expect(Array.from(bytesToInt32(Buffer.from(v.masked.yB64, 'base64')))).toEqual(v.masked.y);
    // y is not q: the masks are in it.
    expect(v.masked.y.filter((x: number, i: number) => x === v.masked.q[i]).length).toBe(0);
  });

  it('fl2: the ring is sorted by SHA-256(seed ‖ serial), neighbourhoods are symmetric and K wide, tk is a 2/3 majority of the holders', () => {
    const seed = h(v.fl2.seed);
    for (const c of [v.fl2.sparse, v.fl2.sparseK6, v.fl2.edge, v.fl2.full]) {
      c.serials.forEach((s: string, i: number) => expect(createHash('sha256').update(seed).update(s).digest('hex')).toBe(c.hashes[i]));
      const byHash = [...c.serials].sort((a: string, b: string) => (c.hashes[c.serials.indexOf(a)] < c.hashes[c.serials.indexOf(b)] ? -1 : 1));
      expect(c.ringOrder).toEqual(byHash);
      const m = Math.min(c.k, c.serials.length - 1);
      for (const s of c.serials) {
        expect(c.neighbours[s]).toHaveLength(m);
        for (const x of c.neighbours[s]) expect(c.neighbours[x]).toContain(s);
      }
      expect(2 * c.shareThreshold).toBeGreaterThan(m + 1);
      expect(c.shareThreshold).toBeLessThanOrEqual(m + 1);
    }
    // Not the identity permutation, and neighbours are ring neighbours, not serial neighbours.
    expect(v.fl2.sparse.ringOrder).not.toEqual(v.fl2.sparse.serials);
    expect(neighbourSets(ringOrder(seed, v.fl2.sparse.serials), 4).get(v.fl2.sparse.serials[0])!.size).toBe(4);
    expect(shareThreshold(28, 100)).toBe(20);
  });
});
