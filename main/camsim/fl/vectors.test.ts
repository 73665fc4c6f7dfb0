// Known answers from docs/fl1-vectors.json (written by the server side's script): the camera's own
// primitives must reproduce every one of them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bigToLe, boxAad, boxKey, leToBig, maskKey, maskUpdate, open, P, parseSharePlaintext, prg, quantize, seal, shamirSplit, sharePlaintext, x25519, x25519FromSecret } from './crypto';

const hexS = z.string().regex(/^[0-9a-f]*$/);
const vectorsSchema = z.object({
  protocol: z.literal('fl1'),
  round: z.string(),
  fieldPrime: z.string(),
  cameras: z.array(z.object({ serial: z.string(), index: z.number(), cSecret: hexS, cPk: hexS, cPkB64: z.string(), sSecret: hexS, sPk: hexS, sPkB64: z.string(), b: hexS })),
  x25519: z.object({ cShared: hexS, cSharedReverse: hexS, sShared: hexS }),
  hkdf: z.object({ boxInfo: z.literal('omnisight.fl1.box'), boxKey: hexS, maskInfo: z.literal('omnisight.fl1.mask'), maskKey: hexS }),
  box: z.object({ from: z.string(), to: z.string(), key: hexS, nonce: hexS, aad: z.string(), plaintext: hexS, box: hexS, boxB64: z.string() }),
  prg: z.object({ maskKey: z.object({ key: hexS, words: z.array(z.number()) }), selfMask: z.object({ key: hexS, words: z.array(z.number()) }), fortyWords: z.object({ key: hexS, words: z.array(z.number()) }) }),
  shamir: z.object({
    threshold: z.number(),
    b: z.object({ secret: hexS, coefficients: z.array(hexS), shares: z.array(z.object({ x: z.number(), y: hexS })) }),
    s: z.object({ secret: hexS, coefficients: z.array(hexS), shares: z.array(z.object({ x: z.number(), y: hexS })) }),
  }),
  masked: z.object({
    quantizer: z.object({ range: z.number(), scale: z.number() }),
    thetaGlobal: z.array(z.number()),
    thetaLocalF32: z.array(z.number()),
    q: z.array(z.number()),
    y: z.array(z.number()),
    yB64: z.string(),
    everyCameraSameQ: z.object({ ys: z.array(z.string()), sumMinusSelfMasks: z.array(z.number()) }),
  }),
});

const V = vectorsSchema.parse(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../docs/fl1-vectors.json'), 'utf8')));
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const [c1, c2, c3] = V.cameras as [(typeof V.cameras)[0], (typeof V.cameras)[0], (typeof V.cameras)[0]];

describe('fl1 known answers (docs/fl1-vectors.json)', () => {
  it('field prime and public keys', () => {
    expect(V.fieldPrime).toBe(P.toString());
    for (const c of V.cameras) {
      expect(x25519FromSecret(hex(c.cSecret)).publicKey.toString('hex')).toBe(c.cPk);
      expect(x25519FromSecret(hex(c.sSecret)).publicKey.toString('base64')).toBe(c.sPkB64);
    }
  });

  it('X25519 shared secrets and both HKDF keys', () => {
    expect(x25519(hex(c1.cSecret), hex(c2.cPk)).toString('hex')).toBe(V.x25519.cShared);
    expect(x25519(hex(c2.cSecret), hex(c1.cPk)).toString('hex')).toBe(V.x25519.cSharedReverse);
    expect(x25519(hex(c1.sSecret), hex(c2.sPk)).toString('hex')).toBe(V.x25519.sShared);
    expect(boxKey(hex(c1.cSecret), hex(c2.cPk), V.round).toString('hex')).toBe(V.hkdf.boxKey);
    expect(maskKey(hex(c2.sSecret), hex(c1.sPk), V.round).toString('hex')).toBe(V.hkdf.maskKey);
  });

  it('the share box: same bytes from the same nonce, and it opens to the same shares', () => {
    expect(boxAad(V.round, V.box.from, V.box.to).toString('utf8')).toBe(V.box.aad);
    const box = seal(hex(V.box.key), hex(V.box.nonce), hex(V.box.plaintext), boxAad(V.round, V.box.from, V.box.to));
    expect(box.toString('hex')).toBe(V.box.box);
    expect(box.toString('base64')).toBe(V.box.boxB64);
    const plain = open(boxKey(hex(c2.cSecret), hex(c1.cPk), V.round), box, boxAad(V.round, V.box.from, V.box.to))!;
    const sh = parseSharePlaintext(plain)!;
    expect(sh).toMatchObject({ from: 1, to: 2 });
    expect(sharePlaintext(sh.from, sh.to, sh.bShare, sh.sShare).toString('hex')).toBe(V.box.plaintext);
    // The share of b in the box is camera 1's b share for index 2.
    expect(bigToLe(sh.bShare).toString('hex')).toBe(V.shamir.b.shares.find((s) => s.x === 2)!.y);
  });

  it('PRG words', () => {
    for (const k of [V.prg.maskKey, V.prg.selfMask, V.prg.fortyWords]) expect([...prg(hex(k.key), k.words.length)]).toEqual(k.words);
  });

  it('Shamir shares of b and s from the listed coefficients', () => {
    for (const which of [V.shamir.b, V.shamir.s]) {
      // The coefficients after the secret come from the random source: feed them as its bytes.
      const rest = which.coefficients.slice(1).map(hex);
      const shares = shamirSplit(leToBig(hex(which.secret)), V.shamir.threshold, which.shares.map((s) => s.x), () => rest.shift()!);
      for (const s of which.shares) expect(bigToLe(shares.get(s.x)!).toString('hex')).toBe(s.y);
    }
  });

  it("camera 1's quantized update and masked input y, and the three cameras' y summing to 3q", () => {
    const m = V.masked;
    const q = quantize(
      m.thetaLocalF32.map((v, i) => v - m.thetaGlobal[i]!),
      m.quantizer.range,
      m.quantizer.scale,
    );
    expect([...q]).toEqual(m.q);
    const ys = V.cameras.map((c) =>
      maskUpdate(
        q,
        hex(c.b),
        c.index,
        V.cameras.filter((o) => o !== c).map((o) => ({ index: o.index, key: maskKey(hex(c.sSecret), hex(o.sPk), V.round) })),
      ),
    );
    expect([...new Int32Array(ys[0]!.buffer)]).toEqual(m.y);
    const b64 = (y: Uint32Array): string => Buffer.from(y.buffer).toString('base64');
    expect(b64(ys[0]!)).toBe(m.yB64);
    expect(ys.map(b64)).toEqual(m.everyCameraSameQ.ys);
    const sum = m.y.map((_, j) => ys.reduce((acc, y, i) => (acc + y[j]! - prg(hex(V.cameras[i]!.b))[j]!) >>> 0, 0) | 0);
    expect(sum).toEqual(m.everyCameraSameQ.sumMinusSelfMasks);
    void c3;
  });
});

// fl2: the ring the camera derives from the roster's seed must be the one the vectors hold.
const graphCase = z.object({ k: z.number(), serials: z.array(z.string()), hashes: z.array(hexS), ringOrder: z.array(z.string()), neighbours: z.record(z.string(), z.array(z.string())), shareThreshold: z.number() });
const fl2Schema = z.object({
  fl2: z.object({ seed: hexS, seedB64: z.string(), sparse: graphCase, sparseK6: graphCase, edge: graphCase, full: graphCase, shareThresholds: z.array(z.object({ k: z.number(), n: z.number(), tk: z.number() })) }),
});
const G = fl2Schema.parse(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../docs/fl1-vectors.json'), 'utf8'))).fl2;

describe('fl2 known answers (docs/fl1-vectors.json "fl2")', () => {
  it('ring order, neighbour sets and tk, for the sparse ring, the K + 2 edge and the full graph', async () => {
    const { neighboursOf, ring, shareThresholdFor } = await import('./ring');
    const seed = Buffer.from(G.seedB64, 'base64');
    expect(seed.toString('hex')).toBe(G.seed);
    for (const c of [G.sparse, G.sparseK6, G.edge, G.full]) {
      expect(ring(seed, c.serials)).toEqual(c.ringOrder);
      // The order does not depend on the order the roster lists the peers in.
      expect(ring(seed, [...c.serials].reverse())).toEqual(c.ringOrder);
      for (const s of c.serials) expect([...neighboursOf(c.ringOrder, s, c.k)].sort()).toEqual(c.neighbours[s]);
      expect(shareThresholdFor(c.k, c.serials.length)).toBe(c.shareThreshold);
    }
    expect(G.full.neighbours[G.full.serials[0]!]).toHaveLength(G.full.serials.length - 1);
    expect(G.sparse.neighbours[G.sparse.serials[0]!]).toHaveLength(4);
    for (const t of G.shareThresholds) expect(shareThresholdFor(t.k, t.n)).toBe(t.tk);
  });
});
