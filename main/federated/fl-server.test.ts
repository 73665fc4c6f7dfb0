import { describe, expect, it } from 'vitest';
import { createFlServer, headV0, HEAD_PARAMS, quantizerScale, threshold, type RoundSpec } from './fl-server';
import { createTestClient, type SilentAfter, type TestClient } from './testkit';
import { createRng } from './random';

/** In-process wiring, asynchronous like MQTT: server and clients only exchange JSON texts. */
function harness(serials: string[], opts: { silent?: Record<string, SilentAfter>; decline?: string[]; deltas?: (i: number) => number[] } = {}) {
  const rng = createRng('fl-server-test');
  const published: { topic: string; payload: string }[] = [];
  const received: { serial: string; body: string }[] = [];
  const clients = new Map<string, TestClient>();
  const server = createFlServer({
    transport: {
      publish(topic, payload) {
        published.push({ topic, payload });
        setImmediate(() => {
          for (const c of clients.values()) c.onMessage(topic, payload);
        });
      },
    },
    clock: {
      now: () => Date.now(),
      after(ms, fn) {
        const t = setTimeout(fn, ms);
        return () => clearTimeout(t);
      },
    },
  });
  serials.forEach((serial, i) => {
    const delta = opts.deltas?.(i) ?? Array.from({ length: HEAD_PARAMS }, (_, k) => ((i + 1) * (k - 6)) / 100);
    clients.set(
      serial,
      createTestClient({
        serial,
        rng: rng.fork(serial),
        silentAfter: opts.silent?.[serial],
        decline: opts.decline?.includes(serial) ? 'only 12 labelled samples' : undefined,
        train: (g) => Float32Array.from(g, (v, k) => v + delta[k]!),
        send(body) {
          received.push({ serial, body });
          setImmediate(() => server.receive(serial, JSON.parse(body)));
        },
      }),
    );
  });
  const spec = (round: string): RoundSpec => ({
    round,
    model: { version: 0, params: headV0() },
    selected: serials,
    train: { epochs: 1, lr: 0.1, batchSize: 32 },
    range: 4,
    deadlines: { advertise: 1_000, shares: 1_000, masked: 1_000, unmask: 1_000 },
    minSamples: 20,
  });
  return { server, clients, published, received, spec };
}

const serials = (n: number): string[] => Array.from({ length: n }, (_, i) => `ACCC8E${String(i + 1).padStart(6, '0')}`);
const sumOf = (qs: Int32Array[]): number[] => Array.from({ length: HEAD_PARAMS }, (_, k) => qs.reduce((a, q) => (a + q[k]!) | 0, 0));

describe('fl1 aggregation server', () => {
  it('learns exactly the sum of the quantised updates and publishes θ + mean', async () => {
    const cams = serials(6);
    const h = harness(cams);
    const r = await h.server.run(h.spec('exact-1'));
    expect(r.ok).toBe(true);
    expect(r.threshold).toBe(threshold(6));
    expect([r.advertised, r.shared, r.masked, r.unmasked]).toEqual([cams, cams, cams, cams]);
    const qs = cams.map((c) => h.clients.get(c)!.lastQ()!);
    expect(Array.from(r.sum!)).toEqual(sumOf(qs));
    const scale = quantizerScale(4, 6);
    const v0 = headV0();
    for (let k = 0; k < HEAD_PARAMS; k++) expect(r.params![k]).toBeCloseTo(v0[k]! + sumOf(qs)[k]! / scale / 6, 5);
    // Every masked input differs from its update in every coordinate.
    for (const c of cams) {
      const q = h.clients.get(c)!.lastQ()!;
      const y = h.clients.get(c)!.lastY()!;
      expect(y.filter((v, i) => v === q[i]).length).toBe(0);
    }
    const result = JSON.parse(h.published.find((p) => p.topic === 'omnisight/desktop/fl/exact-1/result')!.payload);
    expect(result).toMatchObject({ round: 'exact-1', ok: true, survivors: 6, model: { name: 'omnisight.head.confirm.v1', version: 1 } });
    expect(Buffer.from(result.model.params, 'base64').length).toBe(HEAD_PARAMS * 4);
  });

  it('keeps the sum exact when cameras go silent after sharing and after masking', async () => {
    const cams = serials(9);
    // Two drop after sending shares (their pairwise masks are in everyone's y and must be rebuilt
    // from their s), one after sending its masked input (its self mask is removed with b's shares).
    const silent: Record<string, SilentAfter> = { [cams[2]!]: 'shares', [cams[6]!]: 'shares', [cams[4]!]: 'masked' };
    const h = harness(cams, { silent });
    const r = await h.server.run(h.spec('drop-1'));
    expect(r.ok).toBe(true);
    expect(r.dropped).toEqual([cams[2], cams[6]]);
    expect(r.masked).toHaveLength(7);
    expect(r.unmasked).toHaveLength(6);
    const survivors = r.masked.map((c) => h.clients.get(c)!.lastQ()!);
    expect(Array.from(r.sum!)).toEqual(sumOf(survivors));
    const unmask = JSON.parse(h.published.find((p) => p.topic.endsWith('/unmask'))!.payload);
    expect(unmask.dropped).toEqual([cams[2], cams[6]]);
  });

  it('fails closed below ⌈2n/3⌉ at any phase, and says where', async () => {
    const cams = serials(6);
    const h = harness(cams, { silent: { [cams[0]!]: 'advertise', [cams[1]!]: 'advertise', [cams[2]!]: 'advertise' } });
    const r = await h.server.run(h.spec('fail-1'));
    expect(r.ok).toBe(false);
    expect(r.failedAt).toBe('shares');
    expect(r.reason).toMatch(/shares step: 3 of the 6 selected cameras took part in time and at least 4 are needed/);
    expect(r.params).toBeNull();
    expect(r.sum).toBeNull();
    const result = JSON.parse(h.published.at(-1)!.payload);
    expect(result).toMatchObject({ round: 'fail-1', ok: false });
    expect(result.model).toBeUndefined();
    // Nothing after the shares step was published: no deliveries, no unmask request.
    expect(h.published.some((p) => p.topic.includes('/deliver/') || p.topic.endsWith('/unmask'))).toBe(false);

    const h2 = harness(serials(6), { decline: serials(6).slice(0, 3) });
    const r2 = await h2.server.run(h2.spec('fail-2'));
    expect(r2.failedAt).toBe('advertise');
    expect(r2.declined.map((d) => d.reason)).toEqual(['only 12 labelled samples', 'only 12 labelled samples', 'only 12 labelled samples']);
  });

  it('refuses malformed or dishonest camera messages and counts them as silence', async () => {
    const cams = serials(4);
    const h = harness(cams);
    const running = h.server.run(h.spec('bad-1'));
    // An extra field, a short key, a share naming a survivor and a dropped camera at once.
    h.server.receive(cams[0]!, { round: 'bad-1', phase: 'advertise', cPk: 'AAAA', sPk: 'AAAA' });
    h.server.receive(cams[0]!, { round: 'bad-1', phase: 'advertise', cPk: Buffer.alloc(32, 9).toString('base64'), sPk: Buffer.alloc(32, 9).toString('base64'), extra: 1 });
    const r = await running;
    expect(r.ok).toBe(true);
    expect(r.refused.length).toBeGreaterThanOrEqual(2);
    expect(r.refused[0]).toMatchObject({ serial: cams[0], phase: 'advertise' });
  });
});
