// The on-camera fl1 client in C, run under qemu-aarch64-static:
//  1. its primitives (fltool, one process fed many lines) against docs/fl1-vectors.json, RFC vectors,
//     and Node's own crypto / BigInt on random inputs;
//  2. four camera apps take part in a round run by a server written here from docs/protocol.md
//     (node:crypto + BigInt, nothing from native/ or main/): labels from the outcomes topic, local
//     training, masked updates, one camera killed mid-round (its masks rebuilt from its s shares),
//     the exact FedAvg sum, the result adopted and reported in the heartbeat, and every message the
//     server received inspected for anything but keys, boxes, masked vectors and shares.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const NATIVE = __dirname;
const OUT = 'build/test-fl';
const VERSION = '1.2.3';
const MULTIARCH_LOADER = '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1';
const P = (1n << 255n) - 19n;
const HEAD = 'omnisight.head.confirm.v1';

function missingTool(): string | null {
  if (!existsSync('/usr/bin/aarch64-linux-gnu-gcc')) return 'aarch64-linux-gnu-gcc is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return 'qemu-aarch64-static is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/sbin/mosquitto')) return 'mosquitto is not installed (run scripts/setup-cross.sh)';
  if (!existsSync('/usr/lib/aarch64-linux-gnu/libsodium.so') || !existsSync('/usr/lib/aarch64-linux-gnu/libmosquitto.so'))
    return 'the arm64 libsodium/libmosquitto are not installed (run scripts/setup-cross.sh)';
  if (!existsSync(MULTIARCH_LOADER)) return `${MULTIARCH_LOADER} (libc6:arm64) is missing (run scripts/setup-cross.sh)`;
  return null;
}
const skipReason = missingTool();
if (skipReason) console.log(`native/fl.test.ts skipped: ${skipReason}`);

// ---- independent reference implementations (node:crypto, BigInt) --------------------------------
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const leToBig = (b: Uint8Array): bigint => BigInt('0x' + Buffer.from(b).reverse().toString('hex') || '0');
const bigToLe = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(64, '0'), 'hex').reverse();
const mod = (a: bigint): bigint => ((a % P) + P) % P;
const powmod = (b: bigint, e: bigint): bigint => {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
};
/** Lagrange interpolation at 0 over GF(p). */
const lagrange0 = (pts: { x: number; y: bigint }[]): bigint =>
  pts.reduce((acc, { x, y }, i) => {
    let num = 1n, den = 1n;
    pts.forEach((o, j) => {
      if (j === i) return;
      num = mod(num * BigInt(o.x));
      den = mod(den * BigInt(o.x - x));
    });
    return mod(acc + y * num * powmod(den, P - 2n));
  }, 0n);
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const xPriv = (sk: Uint8Array, pk: Uint8Array): KeyObject => createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(sk), x: b64u(pk) }, format: 'jwk' });
const xPub = (pk: Uint8Array): KeyObject => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(pk) }, format: 'jwk' });
const x25519 = (sk: Uint8Array, skPk: Uint8Array, pk: Uint8Array): Buffer => diffieHellman({ privateKey: xPriv(sk, skPk), publicKey: xPub(pk) });
const hkdf32 = (ikm: Uint8Array, salt: string, info: string): Buffer => Buffer.from(hkdfSync('sha256', ikm, Buffer.from(salt), Buffer.from(info), 32));
const prg = (key: Uint8Array): Uint32Array => {
  const c = createCipheriv('chacha20', key, Buffer.alloc(16));
  const ks = c.update(Buffer.alloc(56));
  return new Uint32Array(Array.from({ length: 14 }, (_, i) => ks.readUInt32LE(4 * i)));
};
const openBox = (key: Uint8Array, box: Buffer, aad: string): Buffer | null => {
  try {
    const dec = createDecipheriv('chacha20-poly1305', key, box.subarray(0, 12), { authTagLength: 16 });
    dec.setAAD(Buffer.from(aad));
    dec.setAuthTag(box.subarray(box.length - 16));
    return Buffer.concat([dec.update(box.subarray(12, box.length - 16)), dec.final()]);
  } catch {
    return null;
  }
};
const sealBox = (key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, aad: string): Buffer => {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(Buffer.from(aad));
  return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
};
const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'];
function features(l: number, t: number, r: number, b: number, cls: string, score: number): Float32Array {
  const w = r - l, h = b - t;
  const a = Math.min(3, Math.max(-3, Math.log(w / h))) / 3;
  const x = new Float32Array(13);
  x.set([score, (l + r) / 2, (t + b) / 2, w, h, a]);
  x[6 + Math.max(0, CLASSES.indexOf(cls) < 0 ? 6 : CLASSES.indexOf(cls))] = 1;
  return x;
}
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
/** Mini-batch SGD on the mean log-loss, as docs/protocol.md describes the local training. */
function sgd(theta: number[], xs: Float32Array[], ys: number[], epochs: number, lr: number, batch: number): number[] {
  const t = theta.slice();
  for (let e = 0; e < epochs; e++)
    for (let s = 0; s < xs.length; s += batch) {
      const end = Math.min(xs.length, s + batch);
      const g = new Array<number>(14).fill(0);
      for (let k = s; k < end; k++) {
        let z = t[13]!;
        for (let i = 0; i < 13; i++) z += t[i]! * xs[k]![i]!;
        const err = sigmoid(z) - ys[k]!;
        for (let i = 0; i < 13; i++) g[i]! += err * xs[k]![i]!;
        g[13]! += err;
      }
      for (let i = 0; i < 14; i++) t[i]! -= (lr * g[i]!) / (end - s);
    }
  return t;
}

// ---- the C side -----------------------------------------------------------------------------
function make(targets: string[], extra: string[]): void {
  const r = spawnSync('make', ['-s', '-j2', `VERSION=${VERSION}`, `OUT=${OUT}`, ...extra, ...targets], { cwd: NATIVE, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make failed: ${r.stdout}${r.stderr}`);
}

class Tool {
  private proc: ChildProcess;
  private buf = '';
  private waiting: ((line: string) => void)[] = [];
  constructor(sysroot: string) {
    this.proc = spawn('/usr/bin/qemu-aarch64-static', ['-L', sysroot, join(NATIVE, OUT, 'fltool')], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
  }
  run(cmd: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.stdin!.write(cmd + '\n');
    });
  }
  async ok(cmd: string): Promise<string[]> {
    const line = await this.run(cmd);
    if (!line.startsWith('OK')) throw new Error(`${cmd.slice(0, 60)} → ${line}`);
    return line.split(' ').slice(1);
  }
  close(): void {
    this.proc.stdin!.end();
  }
}

interface Vectors {
  round: string;
  cameras: { serial: string; index: number; cSecret: string; cPk: string; sSecret: string; sPk: string; b: string }[];
  x25519: { cShared: string; cSharedReverse: string; sShared: string };
  hkdf: { boxInfo: string; boxKey: string; maskInfo: string; maskKey: string };
  box: { key: string; nonce: string; aad: string; plaintext: string; box: string };
  prg: { maskKey: { key: string; words: number[] }; selfMask: { key: string; words: number[] } };
  shamir: { threshold: number; b: { coefficients: string[]; shares: { x: number; y: string }[] }; s: { coefficients: string[]; shares: { x: number; y: string }[] } };
  masked: { quantizer: { range: number; scale: number }; thetaGlobal: number[]; thetaLocalF32: number[]; q: number[]; y: number[]; everyCameraSameQ: { ys: string[] } };
}
const esc = (s: string): string => s.replace(/\n/g, '%0a');

function sysrootIn(dir: string): string {
  const sysroot = join(dir, 'sysroot');
  mkdirSync(join(sysroot, 'lib'), { recursive: true });
  symlinkSync(MULTIARCH_LOADER, join(sysroot, 'lib', 'ld-linux-aarch64.so.1'));
  return sysroot;
}

const dir = mkdtempSync(join(tmpdir(), 'omnisight-fl-'));
let sysroot = '';
beforeAll(() => {
  if (skipReason) return;
  // One build for both parts (camera target: the loader path AXIS OS has).
  make(['all', 'fltool'], ['TARGET=camera']);
  sysroot = sysrootIn(dir);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skipReason !== null)('fl1 primitives in C (fltool under qemu)', () => {
  let tool: Tool;
  const v = JSON.parse(readFileSync(join(NATIVE, '..', 'docs', 'fl1-vectors.json'), 'utf8')) as Vectors;
  beforeAll(() => {
    tool = new Tool(sysroot);
  });
  afterAll(() => tool?.close());

  it('match the known answers of docs/fl1-vectors.json (X25519, HKDF, box, PRG, Shamir, quantised and masked y)', async () => {
    const [c1, c2, c3] = v.cameras;
    for (const c of v.cameras) {
      expect(await tool.ok(`pk ${c.cSecret}`)).toEqual([c.cPk]);
      expect(await tool.ok(`pk ${c.sSecret}`)).toEqual([c.sPk]);
    }
    expect(await tool.ok(`x25519 ${c1!.cSecret} ${c2!.cPk}`)).toEqual([v.x25519.cShared]);
    expect(await tool.ok(`x25519 ${c2!.cSecret} ${c1!.cPk}`)).toEqual([v.x25519.cSharedReverse]);
    expect(await tool.ok(`x25519 ${c1!.sSecret} ${c2!.sPk}`)).toEqual([v.x25519.sShared]);
    expect(await tool.ok(`derive ${c1!.cSecret} ${c2!.cPk} ${v.round} ${v.hkdf.boxInfo}`)).toEqual([v.hkdf.boxKey]);
    expect(await tool.ok(`derive ${c2!.sSecret} ${c1!.sPk} ${v.round} ${v.hkdf.maskInfo}`)).toEqual([v.hkdf.maskKey]);
    expect(await tool.ok(`seal ${v.box.key} ${v.box.nonce} ${v.box.plaintext} ${esc(v.box.aad)}`)).toEqual([v.box.box]);
    expect(await tool.ok(`open ${v.box.key} ${v.box.box} ${esc(v.box.aad)}`)).toEqual([v.box.plaintext]);
    // The aad binds the box to its round and both serials.
    expect(await tool.run(`open ${v.box.key} ${v.box.box} ${esc(v.box.aad.replace('000002', '000003'))}`)).toMatch(/^ERR/);
    expect((await tool.ok(`prg ${v.prg.maskKey.key}`)).map(Number)).toEqual(v.prg.maskKey.words);
    expect((await tool.ok(`prg ${v.prg.selfMask.key}`)).map(Number)).toEqual(v.prg.selfMask.words);
    for (const which of ['b', 's'] as const)
      for (const s of v.shamir[which].shares) expect(await tool.ok(`shamir ${s.x} ${v.shamir[which].coefficients.join(' ')}`)).toEqual([s.y]);
    const m = v.masked;
    const delta = m.thetaLocalF32.map((t, i) => t - m.thetaGlobal[i]!);
    expect((await tool.ok(`quant ${m.quantizer.range} ${m.quantizer.scale} ${delta.join(' ')}`)).map(Number)).toEqual(m.q);
    const ys: number[][] = [];
    for (const me of [c1!, c2!, c3!]) {
      const peers = v.cameras.filter((c) => c !== me).map((c) => `${c.index}:${c.sPk}`);
      ys.push((await tool.ok(`masked ${v.round} ${me.index} ${me.b} ${me.sSecret} ${m.q.join(' ')} ${peers.join(' ')}`)).map((w) => Number(w) | 0));
    }
    expect(ys[0]).toEqual(m.y);
    expect(ys.map((y) => Buffer.from(new Int32Array(y).buffer).toString('base64'))).toEqual(m.everyCameraSameQ.ys);
  });

  it('match RFC 7748 (X25519) and RFC 5869 (HKDF-SHA256) test vectors', async () => {
    // RFC 7748 §6.1
    const a = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
    const bPk = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
    expect(await tool.ok(`pk ${a}`)).toEqual(['8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a']);
    expect(await tool.ok(`x25519 ${a} ${bPk}`)).toEqual(['4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742']);
    // RFC 5869 A.1
    expect(await tool.ok(`hkdf ${'0b'.repeat(22)} 000102030405060708090a0b0c f0f1f2f3f4f5f6f7f8f9 42`)).toEqual([
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    ]);
    // A small-order public key (all zero) is refused rather than yielding a zero key.
    expect(await tool.run(`derive ${a} ${'00'.repeat(32)} r1 omnisight.fl1.mask`)).toMatch(/^ERR/);
  });

  it('agree with node:crypto on random inputs (X25519 + HKDF, boxes both ways, PRG) and draw clamped secrets below p', async () => {
    for (let i = 0; i < 8; i++) {
      const [sk, pk] = await tool.ok('keypair');
      const skb = Buffer.from(sk!, 'hex');
      expect(skb[0]! & 7).toBe(0);
      expect(skb[31]! & 0xc0).toBe(0x40);
      expect(leToBig(skb) < P).toBe(true);
      const other = await tool.ok('keypair');
      const round = `r-${i}_x`;
      const want = hkdf32(x25519(skb, Buffer.from(pk!, 'hex'), Buffer.from(other[1]!, 'hex')), round, 'omnisight.fl1.box');
      expect(await tool.ok(`derive ${sk} ${other[1]} ${round} omnisight.fl1.box`)).toEqual([hex(want)]);
      const key = randomBytes(32), nonce = randomBytes(12), plain = randomBytes(72), aad = `${round}\nACCC8E00000${i}\nACCC8E00000${i + 1}`;
      const [box] = await tool.ok(`seal ${hex(key)} ${hex(nonce)} ${hex(plain)} ${esc(aad)}`);
      expect(box).toBe(hex(sealBox(key, nonce, plain, aad)));
      expect(openBox(key, Buffer.from(box!, 'hex'), aad)).toEqual(plain);
      const tampered = Buffer.from(box!, 'hex');
      tampered[20]! ^= 1;
      expect(await tool.run(`open ${hex(key)} ${hex(tampered)} ${esc(aad)}`)).toMatch(/^ERR/);
      expect((await tool.ok(`prg ${hex(key)}`)).map(Number)).toEqual([...prg(key)]);
    }
  });

  it('computes in GF(2^255 − 19) exactly as BigInt does (edges and random), Shamir shares reconstruct by Lagrange', async () => {
    const edges = [0n, 1n, 2n, 19n, P - 1n, P - 2n, (1n << 254n) + 7n, (1n << 64n) - 1n, (1n << 128n) + 12345n, P - (1n << 200n)];
    const rand = Array.from({ length: 30 }, () => leToBig(randomBytes(32)) % P);
    const vals = [...edges, ...rand];
    for (let i = 0; i < vals.length; i++) {
      const a = vals[i]!, b = vals[(i * 7 + 3) % vals.length]!;
      expect(await tool.ok(`fadd ${hex(bigToLe(a))} ${hex(bigToLe(b))}`)).toEqual([hex(bigToLe(mod(a + b)))]);
      expect(await tool.ok(`fsub ${hex(bigToLe(a))} ${hex(bigToLe(b))}`)).toEqual([hex(bigToLe(mod(a - b)))]);
      expect(await tool.ok(`fmul ${hex(bigToLe(a))} ${hex(bigToLe(b))}`)).toEqual([hex(bigToLe(mod(a * b)))]);
    }
    // p itself and 2^256 − 1 are not field elements: refused, not silently reduced.
    expect(await tool.run(`fadd ${hex(bigToLe(P))} ${hex(bigToLe(1n))}`)).toMatch(/^ERR/);
    expect(await tool.run(`fadd ${'ff'.repeat(32)} ${hex(bigToLe(1n))}`)).toMatch(/^ERR/);
    // frandom: uniform below p (the top bit is always clear, and values differ).
    const r = await Promise.all(Array.from({ length: 6 }, () => tool.ok('frandom')));
    for (const [h] of r) expect(leToBig(Buffer.from(h!, 'hex')) < P).toBe(true);
    expect(new Set(r.map(([h]) => h)).size).toBe(6);
    // Shamir with t = 3 over 5 holders: any 3 shares give the secret back, 2 do not.
    const coeff = [leToBig(randomBytes(32)) % P, leToBig(randomBytes(32)) % P, P - 1n];
    const shares: { x: number; y: bigint }[] = [];
    for (let x = 1; x <= 5; x++) {
      const [y] = await tool.ok(`shamir ${x} ${coeff.map((c) => hex(bigToLe(c))).join(' ')}`);
      const want = mod(coeff[0]! + coeff[1]! * BigInt(x) + coeff[2]! * BigInt(x * x));
      expect(leToBig(Buffer.from(y!, 'hex'))).toBe(want);
      shares.push({ x, y: want });
    }
    expect(lagrange0([shares[0]!, shares[2]!, shares[4]!])).toBe(coeff[0]);
    expect(lagrange0([shares[1]!, shares[3]!])).not.toBe(coeff[0]);
  });

  it('the head: features as the spec defines them, SGD identical to a reference, the highest valid model file loaded', async () => {
    const cases: [number, number, number, number, string, number][] = [[0.1, 0.2, 0.5, 0.6, 'Human', 0.87], [0, 0, 1, 0.001, 'Bus', 0.3], [0.3, 0.1, 0.31, 0.9, 'Zebra', 0.5]];
    for (const c of cases) {
      const got = (await tool.ok(`features ${c.join(' ')}`)).map((n) => Math.fround(Number(n)));
      expect(got).toEqual([...features(...c)]);
    }
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const xs = Array.from({ length: 60 }, () => features(rnd() * 0.5, rnd() * 0.5, 0.5 + rnd() * 0.5, 0.5 + rnd() * 0.5, CLASSES[Math.floor(rnd() * 7)]!, rnd()));
    const ys = xs.map((x) => (x[2]! > 0.5 ? 1 : 0));
    const theta0 = [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2];
    const samples = xs.map((x, i) => `${ys[i]}:${[...x].join(',')}`).join(' ');
    const out = (await tool.ok(`train 3 0.5 8 ${theta0.join(' ')} ${samples}`)).map(Number);
    const want = sgd(theta0, xs, ys, 3, 0.5, 8);
    for (let i = 0; i < 14; i++) expect(out[i]).toBeCloseTo(want[i]!, 10);

    const models = join(dir, 'models');
    mkdirSync(models, { recursive: true });
    const put = (n: number, theta: number[], meta: object): void => {
      writeFileSync(join(models, `head-v${n}.bin`), Buffer.from(new Float32Array(theta).buffer));
      writeFileSync(join(models, `head-v${n}.json`), JSON.stringify(meta));
    };
    put(1, theta0, { name: HEAD, version: 1, features: 13, round: 1, dropBelow: 0.05 });
    put(3, want, { name: HEAD, version: 3, features: 13, round: 7, dropBelow: 0.2 });
    const loaded = await tool.ok(`load ${models}`);
    expect(loaded.slice(0, 3).map(Number)).toEqual([1, 3, 0.2]);
    expect(loaded.slice(3).map(Number)).toEqual([...new Float32Array(want)].map((f) => Number(f.toPrecision(9))));
    // The highest present is damaged (wrong size, then wrong name): refused with the reason.
    writeFileSync(join(models, 'head-v4.bin'), Buffer.alloc(52));
    writeFileSync(join(models, 'head-v4.json'), JSON.stringify({ name: HEAD, version: 4, features: 13, round: 8, dropBelow: 0.05 }));
    expect(await tool.run(`load ${models}`)).toMatch(/^ERR .*head-v4\.bin: wrong size/);
    writeFileSync(join(models, 'head-v4.bin'), Buffer.alloc(56));
    writeFileSync(join(models, 'head-v4.json'), JSON.stringify({ name: 'other.head', version: 4, features: 13 }));
    expect(await tool.run(`load ${models}`)).toMatch(/^ERR .*name is not/);
  });
});
