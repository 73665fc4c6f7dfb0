// The camera's refusals: what a server (or someone in its place) cannot get out of it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFlClient, unmaskAnswer, type FlClient } from './client';
import { boxAad, boxKey, f32ToB64, seal, sharePlaintext, x25519Generate } from './crypto';
import { builtinHead, type Sample } from './head';

const ME = 'ACCC8E000002';
const PEERS = ['ACCC8E000001', ME, 'ACCC8E000003'];
const sample = (i: number): Sample => ({ x: [0.5 + (i % 5) / 10, 0.5, 0.5, 0.1, 0.2, -0.3, 1, 0, 0, 0, 0, 0, 0], y: (i % 3 ? 1 : 0) as 0 | 1 });

function setup(samples = 50): { client: FlClient; sent: Record<string, unknown>[]; adopted: number[] } {
  const sent: Record<string, unknown>[] = [];
  const adopted: number[] = [];
  const client = createFlClient({
    serial: ME,
    send: (body) => (sent.push(JSON.parse(body)), true),
    trainingData: () => Array.from({ length: samples }, (_, i) => sample(i)),
    random: randomBytes,
    now: Date.now,
    onResult: (h) => adopted.push(h.version),
  });
  return { client, sent, adopted };
}

const announce = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    v: 2,
    round: 'r1',
    model: { name: 'omnisight.head.confirm.v1', version: 0, params: f32ToB64(builtinHead().params) },
    train: { epochs: 1, lr: 0.1, batchSize: 8 },
    quantizer: { range: 4, scale: 178956970 },
    selected: PEERS,
    threshold: 2,
    deadlines: { advertise: 1000, shares: 1000, masked: 1000, unmask: 1000 },
    minSamples: 20,
    graph: { k: 2 },
    setupTtl: 60_000,
    ...over,
  });

const SEED = Buffer.alloc(32, 3).toString('base64');
const others = PEERS.filter((s) => s !== ME).map((serial) => ({ serial, c: x25519Generate(randomBytes), s: x25519Generate(randomBytes) }));
const roster = (mine: { cPk: string; sPk: string }, over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    round: 'r1',
    threshold: 2,
    shareThreshold: 2,
    graph: { k: 2, seed: SEED },
    peers: PEERS.map((serial, i) => {
      const o = others.find((x) => x.serial === serial);
      return { serial, index: i + 1, ...(o ? { cPk: o.c.publicKey.toString('base64'), sPk: o.s.publicKey.toString('base64') } : { cPk: mine.cPk, sPk: mine.sPk }) };
    }),
    ...over,
  });

  /** A camera set up with honest boxes from both peers (b shares 11, s shares 22) that has sent its masked input. */
const run = (): ReturnType<typeof setup> => {
    const c = setup();
    c.client.handle('omnisight/desktop/fl/announce', announce());
    const adv = c.sent[0] as { cPk: string; sPk: string };
    c.client.handle('omnisight/desktop/fl/r1/roster', roster(adv));
    const boxes = others.map((o) => ({
      from: o.serial,
      box: seal(boxKey(o.c.secret, Buffer.from(adv.cPk, 'base64'), 'r1'), randomBytes(12), sharePlaintext(PEERS.indexOf(o.serial) + 1, 2, 11n, 22n), boxAad('r1', o.serial, ME)).toString('base64'),
    }));
    c.client.handle(`omnisight/desktop/fl/r1/deliver/${ME}`, JSON.stringify({ round: 'r1', boxes }));
    // Set up: nothing is sent until go.
    expect(c.sent).toHaveLength(2);
    c.client.handle('omnisight/desktop/fl/r1/go', JSON.stringify({ round: 'r1', extra: 1 }));
    expect(c.sent).toHaveLength(2);
    c.client.handle('omnisight/desktop/fl/r1/go', JSON.stringify({ round: 'r1' }));
    expect(c.sent[2]).toMatchObject({ phase: 'masked' });
    return c;
  };

describe('fl2 client refusals', () => {
  it('answers an announce with its keys only when selected, declines without enough samples, ignores malformed announces', () => {
    const a = setup();
    a.client.handle('omnisight/desktop/fl/announce', announce({ selected: ['ACCC8E000001', 'ACCC8E000003'] }));
    a.client.handle('omnisight/desktop/fl/announce', announce({ extra: 1 }));
    a.client.handle('omnisight/desktop/fl/announce', '{not json');
    expect(a.sent).toEqual([]);
    a.client.handle('omnisight/desktop/fl/announce', announce());
    expect(a.sent).toHaveLength(1);
    expect(Object.keys(a.sent[0]!).sort()).toEqual(['cPk', 'phase', 'round', 'sPk']);
    const b = setup(5);
    b.client.handle('omnisight/desktop/fl/announce', announce());
    expect(b.sent).toEqual([{ round: 'r1', phase: 'decline', reason: 'only 5 labelled samples, the round needs 20' }]);
  });

  it('sends no shares to a roster that carries other keys for it, or indexes out of serial order', () => {
    const a = setup();
    a.client.handle('omnisight/desktop/fl/announce', announce());
    const adv = a.sent[0] as { cPk: string; sPk: string };
    const forged = x25519Generate(randomBytes).publicKey.toString('base64');
    a.client.handle('omnisight/desktop/fl/r1/roster', roster({ cPk: forged, sPk: adv.sPk }));
    expect(a.sent).toHaveLength(1);
    const b = setup();
    b.client.handle('omnisight/desktop/fl/announce', announce());
    const adv2 = b.sent[0] as { cPk: string; sPk: string };
    const r = JSON.parse(roster(adv2)) as { peers: { index: number }[] };
    r.peers[0]!.index = 3;
    r.peers[2]!.index = 1;
    b.client.handle('omnisight/desktop/fl/r1/roster', JSON.stringify(r));
    expect(b.sent).toHaveLength(1);
    // The honest roster gets one box per other peer.
    const c = setup();
    c.client.handle('omnisight/desktop/fl/announce', announce());
    c.client.handle('omnisight/desktop/fl/r1/roster', roster(c.sent[0] as { cPk: string; sPk: string }));
    expect(c.sent[1]).toMatchObject({ phase: 'shares' });
    expect((c.sent[1] as { boxes: { to: string }[] }).boxes.map((x) => x.to)).toEqual(['ACCC8E000001', 'ACCC8E000003']);
  });

  it('stays silent when a deliver box does not open, and never gives both shares of one camera', () => {
    const a = setup();
    a.client.handle('omnisight/desktop/fl/announce', announce());
    a.client.handle('omnisight/desktop/fl/r1/roster', roster(a.sent[0] as { cPk: string; sPk: string }));
    // A box that is not from the peer it claims (random bytes): the camera masks nothing.
    a.client.handle(`omnisight/desktop/fl/r1/deliver/${ME}`, JSON.stringify({ round: 'r1', boxes: [{ from: 'ACCC8E000001', box: randomBytes(100).toString('base64') }] }));
    expect(a.sent).toHaveLength(2);
    expect(a.client.current()).toBeUndefined();

    // Honest boxes: it masks; an unmask naming a camera both as survivor and dropped gets nothing.
    const b = run();
    b.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors: [ME, 'ACCC8E000001'], dropped: ['ACCC8E000001', 'ACCC8E000003'] }));
    expect(b.sent).toHaveLength(3);
    const c = run();
    c.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors: [ME, 'ACCC8E000001'], dropped: ['ACCC8E000003'] }));
    const u = c.sent[3] as { selfShares: { of: string; y: string }[]; keyShares: { of: string; y: string }[] };
    expect(u.selfShares.map((x) => x.of)).toEqual([ME, 'ACCC8E000001']);
    expect(u.keyShares).toEqual([{ of: 'ACCC8E000003', y: Buffer.concat([Buffer.from([22]), Buffer.alloc(31)]).toString('base64') }]);
    expect(u.selfShares[1]!.y).toBe(Buffer.concat([Buffer.from([11]), Buffer.alloc(31)]).toString('base64'));
  });

  it('goes silent from the phase a fault names: a dropout that still adopts the result of its round', () => {
    const a = setup();
    a.client.silenceFrom('shares');
    a.client.handle('omnisight/desktop/fl/announce', announce());
    a.client.handle('omnisight/desktop/fl/r1/roster', roster(a.sent[0] as { cPk: string; sPk: string }));
    expect(a.sent.map((m) => m.phase)).toEqual(['advertise']);
    a.client.handle('omnisight/desktop/fl/r1/result', JSON.stringify({ round: 'r1', ok: true, model: { name: 'omnisight.head.confirm.v1', version: 1, params: f32ToB64(builtinHead().params) }, survivors: 2 }));
    expect(a.adopted).toEqual([1]);
    // A result for a round it never joined is not adopted.
    a.client.handle('omnisight/desktop/fl/r9/result', JSON.stringify({ round: 'r9', ok: true, model: { name: 'omnisight.head.confirm.v1', version: 7, params: f32ToB64(builtinHead().params) }, survivors: 2 }));
    expect(a.adopted).toEqual([1]);
  });

  it('answers an unmask request without dropouts with its own and every held b share, and still checks the request', () => {
    const b11 = Buffer.concat([Buffer.from([11]), Buffer.alloc(31)]).toString('base64');
    const c = run();
    c.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors: PEERS, dropped: [] }));
    const u = c.sent[3] as { round: string; phase: string; selfShares: { of: string; y: string }[]; keyShares: unknown[] };
    expect(Object.keys(u)).toEqual(['round', 'phase', 'selfShares', 'keyShares']);
    expect(u).toMatchObject({ round: 'r1', phase: 'unmask', keyShares: [] });
    expect(u.selfShares.map((x) => x.of)).toEqual([ME, 'ACCC8E000001', 'ACCC8E000003']);
    expect(u.selfShares.slice(1).map((x) => x.y)).toEqual([b11, b11]);
    // The same request once more: answered once only.
    c.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors: PEERS, dropped: [] }));
    expect(c.sent).toHaveLength(4);
    // Without dropouts it is still refused when it leaves a held neighbour out, repeats a survivor,
    // names a camera outside the round or carries something that is not a serial.
    for (const survivors of [[ME, 'ACCC8E000001'], [ME, 'ACCC8E000001', 'ACCC8E000003', ME], [...PEERS, 'ACCC8E000009'], [ME, 'ACCC8E000001', 'accc8e000003'], [ME, 'ACCC8E000001', 3]]) {
      const d = run();
      d.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors, dropped: [] }));
      expect(d.sent).toHaveLength(3);
    }
  });

  it('unmaskAnswer: its own b share first, b shares of survivors and s shares of dropped neighbours, in the order held', () => {
    const held = new Map([
      ['A', { b64: { b: 'bA', s: 'sA' } }],
      ['B', { b64: { b: 'bB', s: 'sB' } }],
      ['C', { b64: { b: 'bC', s: 'sC' } }],
    ]);
    expect(unmaskAnswer({ of: 'ME', y: 'own' }, held, (x) => x !== 'B', (x) => x === 'B')).toEqual({
      selfShares: [
        { of: 'ME', y: 'own' },
        { of: 'A', y: 'bA' },
        { of: 'C', y: 'bC' },
      ],
      keyShares: [{ of: 'B', y: 'sB' }],
    });
    expect(unmaskAnswer({ of: 'ME', y: 'own' }, new Map(), () => true, () => false)).toEqual({ selfShares: [{ of: 'ME', y: 'own' }], keyShares: [] });
  });

  it('on a ring (K = 2 of 5) it shares with its two neighbours only, refuses a wrong tk or a box from a non-neighbour', async () => {
    const { neighboursOf, ring } = await import('./ring');
    const five = ['ACCC8E000001', ME, 'ACCC8E000003', 'ACCC8E000004', 'ACCC8E000005'];
    const keys = five.map((serial) => ({ serial, c: x25519Generate(randomBytes), s: x25519Generate(randomBytes) }));
    const near = neighboursOf(ring(Buffer.from(SEED, 'base64'), five), ME, 2);
    expect(near.size).toBe(2);
    const rosterOf = (adv: { cPk: string; sPk: string }, over: Record<string, unknown> = {}): string =>
      JSON.stringify({
        round: 'r1',
        threshold: 4,
        shareThreshold: 2,
        graph: { k: 2, seed: SEED },
        peers: keys.map((k, i) => ({ serial: k.serial, index: i + 1, ...(k.serial === ME ? { cPk: adv.cPk, sPk: adv.sPk } : { cPk: k.c.publicKey.toString('base64'), sPk: k.s.publicKey.toString('base64') }) })),
        ...over,
      });
    const go = (over: Record<string, unknown> = {}): ReturnType<typeof setup> => {
      const c = setup();
      c.client.handle('omnisight/desktop/fl/announce', announce({ selected: five, threshold: 4 }));
      c.client.handle('omnisight/desktop/fl/r1/roster', rosterOf(c.sent[0] as { cPk: string; sPk: string }, over));
      return c;
    };
    // tk = ⌈2·3/3⌉ = 2; a roster saying 3, or another K, gets no shares.
    expect(go({ shareThreshold: 3 }).sent).toHaveLength(1);
    expect(go({ graph: { k: 4, seed: SEED } }).sent).toHaveLength(1);
    const c = go();
    const shares = c.sent[1] as { boxes: { to: string }[] };
    expect(new Set(shares.boxes.map((b) => b.to))).toEqual(near);
    // A deliver with a box from a camera that is not its neighbour: silent for the rest of the round.
    const stranger = keys.find((k) => k.serial !== ME && !near.has(k.serial))!;
    const adv = c.sent[0] as { cPk: string };
    const boxFrom = (k: (typeof keys)[0]) => ({
      from: k.serial,
      box: seal(boxKey(k.c.secret, Buffer.from(adv.cPk, 'base64'), 'r1'), randomBytes(12), sharePlaintext(five.indexOf(k.serial) + 1, 2, 5n, 6n), boxAad('r1', k.serial, ME)).toString('base64'),
    });
    c.client.handle(`omnisight/desktop/fl/r1/deliver/${ME}`, JSON.stringify({ round: 'r1', boxes: [boxFrom(stranger)] }));
    c.client.handle('omnisight/desktop/fl/r1/go', JSON.stringify({ round: 'r1' }));
    expect(c.sent).toHaveLength(2);
    expect(c.client.current()).toBeUndefined();
    // Honest: one neighbour's box (1 + 1 ≥ tk = 2) sets it up; unmask names only it and itself.
    const d = go();
    const advD = d.sent[0] as { cPk: string };
    const n1 = keys.find((k) => near.has(k.serial))!;
    d.client.handle(
      `omnisight/desktop/fl/r1/deliver/${ME}`,
      JSON.stringify({ round: 'r1', boxes: [{ from: n1.serial, box: seal(boxKey(n1.c.secret, Buffer.from(advD.cPk, 'base64'), 'r1'), randomBytes(12), sharePlaintext(five.indexOf(n1.serial) + 1, 2, 5n, 6n), boxAad('r1', n1.serial, ME)).toString('base64') }] }),
    );
    d.client.handle('omnisight/desktop/fl/r1/go', JSON.stringify({ round: 'r1' }));
    expect(d.sent[2]).toMatchObject({ phase: 'masked' });
    d.client.handle('omnisight/desktop/fl/r1/unmask', JSON.stringify({ round: 'r1', survivors: five.filter((x) => x !== stranger.serial), dropped: [stranger.serial] }));
    const u = d.sent[3] as { selfShares: { of: string }[]; keyShares: unknown[] };
    expect(u.selfShares.map((x) => x.of)).toEqual([ME, n1.serial]);
    expect(u.keyShares).toEqual([]);
  });
});
