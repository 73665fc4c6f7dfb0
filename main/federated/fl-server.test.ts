import { describe, expect, it } from 'vitest';
import { createFlServer, headV0, HEAD_PARAMS, quantizerScale, threshold, type RoundSpec } from './fl-server';
import { createTestClient, testRoundSpec, type SilentAfter, type TestClient } from './testkit';
import { neighbourSets, ringOrder } from './fl2';
import { createRng } from './random';

/** In-process wiring, asynchronous like MQTT: server and clients only exchange JSON texts. */
function harness(serials: string[], opts: { silent?: Record<string, SilentAfter>; decline?: string[]; deltas?: (i: number) => number[]; seed?: Buffer; tamper?: (serial: string, body: Record<string, unknown>) => Record<string, unknown>; delayMs?: (serial: string, phase: string) => number } = {}) {
  const rng = createRng('fl-server-test');
  const clockOffset = { ms: 0 };
  const published: { topic: string; payload: string }[] = [];
  const received: { serial: string; body: string }[] = [];
  const clients = new Map<string, TestClient>();
  const server = createFlServer({
    ...(opts.seed ? { randomBytes: () => Buffer.from(opts.seed!) } : {}),
    transport: {
      publish(topic, payload) {
        published.push({ topic, payload });
        setImmediate(() => {
          for (const c of clients.values()) c.onMessage(topic, payload);
        });
      },
    },
    clock: {
      now: () => Date.now() + clockOffset.ms,
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
          const parsed = JSON.parse(body) as Record<string, unknown>;
          const deliver = (): void => server.receive(serial, opts.tamper ? opts.tamper(serial, parsed) : parsed);
          const delay = opts.delayMs?.(serial, String(parsed.phase)) ?? 0;
          if (delay > 0) setTimeout(deliver, delay);
          else setImmediate(deliver);
        },
      }),
    );
  });
  const spec = (round: string): RoundSpec => testRoundSpec(round, serials, 1_000);
  return { server, clients, published, received, spec, clockOffset };
}

const serials = (n: number): string[] => Array.from({ length: n }, (_, i) => `ACCC8E${String(i + 1).padStart(6, '0')}`);
const topicsOf = (published: { topic: string }[]): string[] => published.map((p) => p.topic.replace(/^omnisight\/desktop\/fl\/([^/]+\/)?/, '').replace(/^deliver\/.*/, 'deliver'));
const sumOf = (qs: Int32Array[]): number[] => Array.from({ length: HEAD_PARAMS }, (_, k) => qs.reduce((a, q) => (a + q[k]!) | 0, 0));

describe('fl2 aggregation server', () => {
  it('learns exactly the sum of the quantised updates and publishes θ + mean', async () => {
    const cams = serials(6);
    const h = harness(cams);
    const r = await h.server.run(h.spec('exact-1'));
    expect(r.ok).toBe(true);
    expect(r.threshold).toBe(threshold(6));
    expect([r.advertised, r.shared, r.masked]).toEqual([cams, cams, cams]);
    // The unmask phase ends once t survivors answered and every secret had tk shares.
    expect(r.unmasked.length).toBeGreaterThanOrEqual(threshold(6));
    expect(cams).toEqual(expect.arrayContaining(r.unmasked));
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

  it('rebuilds each secret once tk of its shares are in and ends the unmask phase without waiting for answers it does not need; the sum stays exact with dropouts', async () => {
    const cams = serials(30);
    const seed = Buffer.alloc(32, 7);
    const k = 6;
    const ring = neighbourSets(ringOrder(seed, cams), k);
    // Two drop after their shares (their pairwise masks must come out through their rebuilt s), one
    // after its masked input, and one survivor's unmask answer comes 300 ms late. With K = 6 a
    // survivor's b has 7 holders (itself and its neighbours) and a dropped camera's s has 6; tk = 5.
    // The late camera is one without which every secret still has tk answering holders.
    const silent: Record<string, SilentAfter> = { [cams[3]!]: 'shares', [cams[20]!]: 'shares', [cams[7]!]: 'masked' };
    const dropped = [cams[3]!, cams[20]!];
    const rebuildable = (mute: Set<string>): boolean =>
      cams.every((u) => {
        if (u === cams[7]) return [u, ...ring.get(u)!].filter((h) => !mute.has(h)).length >= 5;
        if (dropped.includes(u)) return [...ring.get(u)!].filter((h) => !mute.has(h)).length >= 5;
        return [u, ...ring.get(u)!].filter((h) => !mute.has(h)).length >= 5;
      });
    const late = cams.find((c) => !(c in silent) && rebuildable(new Set([...dropped, cams[7]!, c])))!;
    expect(late).toBeDefined();
    const h = harness(cams, { silent, seed, delayMs: (serial, phase) => (serial === late && phase === 'unmask' ? 300 : 0) });
    const r = await h.server.run({ ...h.spec('incr-1'), k });
    expect(r.ok).toBe(true);
    expect(r.graph).toEqual({ k, tk: 5 });
    expect(r.dropped).toEqual([cams[3], cams[20]]);
    expect(r.masked).toHaveLength(28);
    // The exact sum of the survivors' quantised updates (what a rebuild of every secret from all
    // its shares after the last answer gave), from the first tk shares of each secret.
    const survivors = r.masked.map((c) => h.clients.get(c)!.lastQ()!);
    expect(Array.from(r.sum!)).toEqual(sumOf(survivors));
    // It did not wait for the late answer, nor for the camera that went silent.
    expect(r.unmasked).not.toContain(late);
    expect(r.unmasked).not.toContain(cams[7]);
    expect(r.unmasked.length).toBeGreaterThanOrEqual(threshold(30));
    expect(r.phaseMs.unmask!).toBeLessThan(300);
    // The dropped cameras' neighbours sent key shares of them, and nobody sent both shares of one camera.
    const answers = h.received.filter((x) => x.serial !== late && JSON.parse(x.body).phase === 'unmask').map((x) => JSON.parse(x.body) as { selfShares: { of: string }[]; keyShares: { of: string }[] });
    for (const a of answers) {
      const self = new Set(a.selfShares.map((s) => s.of));
      for (const ks of a.keyShares) expect(self.has(ks.of)).toBe(false);
    }
    expect(answers.some((a) => a.keyShares.some((s) => s.of === cams[3]))).toBe(ring.get(cams[3]!)!.size > 0);
    // Answers after the phase ended count for nothing (the round is over).
    await new Promise((res) => setTimeout(res, 350));
    expect(h.server.busy()).toBe(false);
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

  it('refuses an unmask answer whose share is not below p or not canonical base64 of 32 bytes (that camera counts as silent; the sum stays exact)', async () => {
    const cams = serials(6);
    // p = 2^255 − 19 little-endian: ed ff … ff 7f (not below p); and a 32-byte value whose last
    // base64 character carries nonzero unused bits (decodes, but is not the canonical encoding).
    const p = Buffer.alloc(32, 0xff);
    p[0] = 0xed;
    p[31] = 0x7f;
    const nonCanonical = `${Buffer.alloc(32, 1).toString('base64').slice(0, 42)}B=`;
    expect(Buffer.from(nonCanonical, 'base64')).toHaveLength(32);
    const bad: Record<string, string> = { [cams[1]!]: p.toString('base64'), [cams[4]!]: nonCanonical };
    const h = harness(cams, {
      tamper: (serial, body) => {
        if (body.phase !== 'unmask' || !bad[serial]) return body;
        const [first, ...rest] = body.selfShares as { of: string; y: string }[];
        return { ...body, selfShares: [{ of: first!.of, y: bad[serial] }, ...rest] };
      },
    });
    const r = await h.server.run(h.spec('bad-share'));
    expect(r.ok).toBe(true);
    expect(r.unmasked).not.toContain(cams[1]);
    expect(r.unmasked).not.toContain(cams[4]);
    expect(r.refused).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ serial: cams[1], phase: 'unmask', why: 'a share is not below p' }),
        expect.objectContaining({ serial: cams[4], phase: 'unmask', why: expect.stringMatching(/32 bytes of standard base64/) }),
      ]),
    );
    const qs = cams.map((c) => h.clients.get(c)!.lastQ()!);
    expect(Array.from(r.sum!)).toEqual(sumOf(qs));
  });

  it('sets a round up ahead: nothing of the critical path goes out before go, and go runs masked → unmask → result', async () => {
    const cams = serials(12);
    const h = harness(cams);
    const s = await h.server.setup({ ...h.spec('ahead-1'), k: 4 });
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(h.server.held()).toBe(s.round);
    expect(s.round.report).toMatchObject({ graph: { k: 4, tk: 4 }, shared: cams, goAt: null });
    expect(s.round.report.setupMs).not.toBeNull();
    const before = h.published.length;
    expect([...new Set(topicsOf(h.published))].sort()).toEqual(['announce', 'deliver', 'roster']);
    const announce = JSON.parse(h.published[0]!.payload);
    expect(announce).toMatchObject({ v: 2, graph: { k: 4 }, setupTtl: 600_000 });
    const roster = JSON.parse(h.published.find((p) => p.topic.endsWith('/roster'))!.payload);
    expect(roster).toMatchObject({ shareThreshold: 4, graph: { k: 4 } });
    expect(Buffer.from(roster.graph.seed, 'base64')).toHaveLength(32);
    // Each camera sent exactly its 4 ring neighbours a box, not the 11 others.
    for (const r of h.received.filter((x) => JSON.parse(x.body).phase === 'shares')) expect(JSON.parse(r.body).boxes).toHaveLength(4);
    // Held: the cameras wait, no masked input arrives before go.
    await new Promise((r) => setTimeout(r, 20));
    expect(h.received.some((x) => JSON.parse(x.body).phase === 'masked')).toBe(false);
    const r = await s.round.go();
    expect(r.ok).toBe(true);
    expect(topicsOf(h.published.slice(before))).toEqual(['go', 'unmask', 'result']);
    expect(Array.from(r.sum!)).toEqual(sumOf(cams.map((c) => h.clients.get(c)!.lastQ()!)));
    expect(r.roundMs).toBe(r.finishedAt - r.goAt!);
    expect(h.server.busy()).toBe(false);
  });

  it('on the ring (K = 8 of 12): the sum stays exact with cameras dropping after shares, after setup and after masked', async () => {
    const cams = serials(12);
    // Three losses leave every secret at least tk = 6 of its 9 holders, wherever they sit on the ring.
    const silent: Record<string, SilentAfter> = { [cams[1]!]: 'shares', [cams[7]!]: 'setup', [cams[4]!]: 'masked' };
    const h = harness(cams, { silent });
    const r = await h.server.run({ ...h.spec('ring-drop-1'), k: 8 });
    expect(r.ok).toBe(true);
    expect(r.graph).toEqual({ k: 8, tk: 6 });
    expect(r.dropped).toEqual([cams[1], cams[7]]);
    expect(r.masked).toHaveLength(10);
    expect(r.unmasked).toHaveLength(9);
    expect(Array.from(r.sum!)).toEqual(sumOf(r.masked.map((c) => h.clients.get(c)!.lastQ()!)));
    // Each unmask answer named only the camera itself and its ring neighbours.
    const roster = JSON.parse(h.published.find((p) => p.topic.endsWith('/roster'))!.payload);
    const graph = neighbourSets(ringOrder(Buffer.from(roster.graph.seed, 'base64'), cams), 8);
    for (const x of h.received.map((m) => ({ serial: m.serial, body: JSON.parse(m.body) })).filter((m) => m.body.phase === 'unmask'))
      for (const e of [...x.body.selfShares, ...x.body.keyShares]) expect(e.of === x.serial || graph.get(x.serial)!.has(e.of)).toBe(true);
  });

  it('a camera with too few neighbour boxes stays silent, and the round fails closed when its secret has too few holders', async () => {
    const cams = serials(9);
    const seed = Buffer.alloc(32, 7);
    const graph = neighbourSets(ringOrder(seed, cams), 4);
    const victim = cams[0]!;
    const [n1, n2] = [...graph.get(victim)!];
    // Two of the victim's four ring neighbours go silent after advertising: it receives 2 boxes, 2 + 1 < tk = 4.
    const h = harness(cams, { seed, silent: { [n1!]: 'advertise', [n2!]: 'advertise' } });
    const r = await h.server.run({ ...h.spec('few-boxes-1'), k: 4 });
    expect(h.received.filter((x) => x.serial === victim).map((x) => JSON.parse(x.body).phase)).toEqual(['advertise', 'shares']);
    expect(r.shared).not.toContain(n1);
    expect(r.dropped).toContain(victim);
    // Its s has only its two remaining neighbours as holders: its masks cannot be removed.
    expect(r).toMatchObject({ ok: false, failedAt: 'unmask', sum: null, params: null });
    expect(r.reason).toMatch(/of the 4 shares needed to remove camera/);
    expect(r.reason).toMatch(new RegExp(`camera (${[victim, ...graph.get(victim)!].join('|')})`));
    expect(JSON.parse(h.published.at(-1)!.payload)).toMatchObject({ ok: false });
  });

  it('fails closed before unmasking when the dropouts split the survivors into groups on the ring (each group’s sum would show)', async () => {
    const cams = serials(9);
    const seed = Buffer.alloc(32, 11);
    const order = ringOrder(seed, cams);
    // K = 2: a plain ring. Two cameras four apart drop after sending their shares: two arcs remain.
    const h = harness(cams, { seed, silent: { [order[0]!]: 'shares', [order[4]!]: 'shares' } });
    const r = await h.server.run({ ...h.spec('split-1'), k: 2 });
    expect(r).toMatchObject({ ok: false, failedAt: 'masked', sum: null });
    expect(r.masked).toHaveLength(7);
    expect(r.reason).toMatch(/split the others into groups/);
    expect(h.published.some((p) => p.topic.endsWith('/unmask'))).toBe(false);
    // One dropout leaves one arc: the round completes with the exact sum.
    const h2 = harness(cams, { seed, silent: { [order[0]!]: 'shares' } });
    const r2 = await h2.server.run({ ...h2.spec('split-2'), k: 2 });
    expect(r2.ok).toBe(true);
    expect(Array.from(r2.sum!)).toEqual(sumOf(r2.masked.map((c) => h2.clients.get(c)!.lastQ()!)));
  });

  it('a set-up round whose setupTtl passed is not started: result ok:false, nothing else goes out', async () => {
    const cams = serials(6);
    const h = harness(cams);
    const s = await h.server.setup({ ...h.spec('ttl-1'), setupTtl: 2_000 });
    if (!s.ok) throw new Error('setup failed');
    expect(s.round.goBy).toBe(s.round.report.startedAt + 1_500);
    h.clockOffset.ms = 1_600;
    const r = await s.round.go();
    expect(r).toMatchObject({ ok: false, failedAt: 'setup' });
    expect(r.reason).toMatch(/expired/);
    expect(topicsOf(h.published).filter((t) => t === 'go' || t === 'unmask')).toEqual([]);
    expect(JSON.parse(h.published.at(-1)!.payload)).toMatchObject({ round: 'ttl-1', ok: false });
    expect(h.server.busy()).toBe(false);
    // A discarded round frees the server for the next setup, and discarding twice changes nothing.
    const s2 = await h.server.setup(h.spec('ttl-2'));
    expect(s2.ok).toBe(true);
    if (s2.ok) expect(s2.round.discard('test').reason).toBe('test');
    await expect(s.round.go()).rejects.toThrow(/discarded/);
  });
});
