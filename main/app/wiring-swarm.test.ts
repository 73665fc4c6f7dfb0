import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit';
import { openDatabase } from '../store';
import { createSwarmService } from '../swarm';
import { buildCoverage, invert3, type Mat3 } from '../swarm';
import { ed25519PublicKey, parseMessage, sealEnvelope, signatureValid, simKey } from '../swarm/testkit';
import { createEventBus } from '../kernel/bus';
import { linkSwarm, DIRECT_VERIFY_MAX_BATCH, DIRECT_VERIFY_MAX_RATE, INGEST_QUEUE_LIMIT, MAX_PENDING_BATCHES, MAX_QUEUE_AGE_MS, POOL_GATHER_MIN_RATE } from './wiring-swarm';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

// Ground → image for a camera looking straight down at a 10 m × 10 m square from (0,0): u = x/10, v = y/10.
const groundToImage: Mat3 = [0.1, 0, 0, 0, 0.1, 0, 0, 0, 1];
const scene = {
  zones: [
    { id: 'yard', name: 'Yard', polygon: [[0, 0], [5, 0], [5, 10], [0, 10]] as [number, number][], restricted: false },
    { id: 'dock', name: 'Dock', polygon: [[5, 0], [10, 0], [10, 10], [5, 10]] as [number, number][], restricted: false },
    { id: 'far', name: 'Far away', polygon: [[100, 100], [110, 100], [110, 110]] as [number, number][], restricted: false },
  ],
};
const serials = ['ACCC8E000001', 'ACCC8E000002', 'ACCC8E000003', 'ACCC8E000004'];

/** A pool that only parses (no signature check), and tells `onBatch` of each batch it is given. */
function parsingPool(onBatch: (items: { payload: Uint8Array; topic?: string }[]) => void) {
  return {
    setKeys: () => undefined,
    verify: async (items: { payload: Uint8Array; topic?: string }[]) => {
      onBatch(items);
      return items.map((it) => ({ parse: parseMessage(it.payload, it.topic) }));
    },
  };
}

function setup(pool?: Parameters<typeof linkSwarm>[0]['pool'], extra: Partial<Parameters<typeof linkSwarm>[0]> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-link-'));
  dirs.push(dir);
  let clock = 1_795_000_000_000;
  const now = () => clock;
  const { db } = openDatabase({ dir, now });
  const bus = createEventBus();
  const audit = createAuditLog({ db, bus, now });
  const log = pino({ level: 'silent' });
  const swarm = createSwarmService({ db, bus, log, now, audit, every: () => () => {} });
  const cameras = serials.map((serial, i) => ({ id: `c${i}`, serial, demo: true, demoActive: true }));
  const keys = new Map(serials.map((s, i) => [`c${i}`, { keyId: simKey(s).keyId, publicKey: simKey(s).publicKey }]));
  let raw: ((topic: string, payload: Buffer, at: number) => void) | undefined;
  const depths: number[] = [];
  const pending: (() => void)[] = [];
  const fleet = {
    fleet: { registry: { list: () => cameras, keyOf: (id: string) => keys.get(id) } },
    mqtt: { onRaw: (l: typeof raw) => ((raw = l), () => (raw = undefined)) },
    demo: () => ({ cameras: serials.map((serial, i) => ({ id: `cam-${i}`, serial })), scene: { ...scene, cameras: serials.map((_, i) => ({ cameraId: `cam-${i}`, homography: [...groundToImage], zones: ['yard', 'dock'] })) } }),
    ready: Promise.resolve(),
  };
  const link = linkSwarm({
    swarm,
    perf: { setIngestQueue: (d) => depths.push(d) },
    fleet: fleet as never,
    bus,
    log,
    defer: (fn) => pending.push(fn),
    pool,
    now,
    poolBatchWaitMs: 0, // every drain goes to the pool at once (the gathering has its own test)
    gatherMinRate: 0,
    directVerifyMaxRate: 0, // with a pool, always the pool (the rate rules have their own tests)
    ...extra,
  });
  const seqs = new Map<string, number>();
  const detection = (serial: string, box: { left: number; top: number; right: number; bottom: number }, ts = clock) => {
    const seq = (seqs.get(serial) ?? 0) + 1;
    seqs.set(serial, seq);
    const body = JSON.stringify({ frame: { timestamp: ts, observations: [{ bounding_box: box, class: { type: 'Human', score: 0.9 }, track_id: '7', timestamp: ts }] }, stats: { inference_ms: 20, fps_camera: 10, fps_processed: 10, fps_skipped: 0, width: 640, height: 360 } });
    return Buffer.from(sealEnvelope({ camera: serial, seq, sent: clock, kind: 'detections', key: simKey(serial).keyId, body }, simKey(serial).privateKey));
  };
  const drainAll = () => {
    while (pending.length) pending.shift()!();
  };
  return { swarm, link, cameras, keys, depths, drainAll, detection, raw: () => raw, bus, now, advance: (ms: number) => (clock += ms), close: () => (link.close(), swarm.close(), db.close()) };
}

describe('buildCoverage', () => {
  it('maps a box to the ground at its foot point through the inverse of the scene homography', () => {
    const h = invert3(groundToImage)!;
    const cov = buildCoverage({ serial: 'X', imageToGround: h }, scene.zones.map((z) => ({ ...z, polygon: z.polygon.map(([x, y]) => ({ x, y })), cameras: [] })));
    expect(cov.calibrated).toBe(true);
    expect(cov.zones).toEqual(['yard', 'dock']); // "far" projects outside the image
    const g = cov.toGround({ left: 0.6, top: 0.2, right: 0.8, bottom: 0.5 });
    expect(g.x).toBeCloseTo(7, 9);
    expect(g.y).toBeCloseTo(5, 9);
  });

  it('falls back to the zones a camera is listed under when it has no calibration', () => {
    const zones = [{ id: 'yard', name: 'Yard', polygon: [{ x: 0, y: 0 }, { x: 4, y: 0 }, { x: 4, y: 4 }], cameras: ['B'] }];
    expect(buildCoverage({ serial: 'A' }, zones).zones).toEqual([]);
    const cov = buildCoverage({ serial: 'B' }, zones);
    expect(cov.zones).toEqual(['yard']);
    expect(cov.calibrated).toBe(false);
  });
});

describe('linkSwarm', () => {
  it('seeds zones from the demo scene and registers cameras with their recorded keys and coverage', () => {
    const s = setup();
    expect(s.swarm.zoneConfig().source).toBe('demo');
    expect(s.swarm.zoneConfig().zones.map((z) => z.id)).toEqual(['yard', 'dock', 'far']);
    s.swarm.tick(); // the topology re-forms on the coordinator's tick
    const graph = s.swarm.coordinator.topology.graph();
    expect(graph.nodes.map((n) => n.id).sort()).toEqual([...serials].sort());
    expect(s.swarm.coordinator.fusion.zoneOf(serials[0]!)).toEqual(['yard', 'dock']);
    s.close();
  });

  it('queues raw MQTT payloads, drains them into the coordinator, and confirms an event seen by f+1 cameras', () => {
    const s = setup();
    const confirmed: unknown[] = [];
    s.bus.subscribe('swarm.event', (e) => confirmed.push(e));
    // A person at ground (7, 5): in the dock zone for every camera (all share the top-down view).
    for (const serial of serials) s.raw()!(`axis/${serial}/omnisight/detections`, s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    expect(s.link.queueDepth()).toBe(4);
    expect(s.depths.at(-1)).toBe(4);
    s.drainAll();
    expect(s.link.queueDepth()).toBe(0);
    expect(s.depths.at(-1)).toBe(0);
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(4);
    expect(confirmed).toHaveLength(1);
    expect((confirmed[0] as { zone: string }).zone).toBe('dock');
    s.close();
  });

  it('removes a camera that left the registry and refuses its messages afterwards', () => {
    const s = setup();
    s.cameras.splice(3, 1);
    s.bus.publish('fleet.changed', { cameras: [] });
    s.swarm.tick();
    expect(s.swarm.coordinator.topology.graph().nodes.map((n) => n.id)).not.toContain(serials[3]);
    s.link.enqueue(`axis/${serials[3]}/omnisight/detections`, s.detection(serials[3]!, { left: 0.1, top: 0.1, right: 0.2, bottom: 0.2 }), s.now());
    s.drainAll();
    expect(s.swarm.coordinator.verifier.counts().byReason.unknown_camera).toBe(1);
    s.close();
  });

  it('re-registers cameras when the user edits the zones', () => {
    const s = setup();
    s.swarm.setZoneConfig([{ id: 'all', name: 'All', polygon: [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }, { x: 0, y: 10 }], cameras: [] }], 'user');
    // The demo scene lists yard/dock for the cameras; "all" is kept only through the homography when listed, so it is empty here.
    expect(s.swarm.coordinator.fusion.zones().map((z) => z.zone)).toEqual(['all']);
    s.swarm.setZoneConfig([{ id: 'all', name: 'All', polygon: [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }, { x: 0, y: 10 }], cameras: [serials[0]!] }], 'user');
    expect(s.swarm.coordinator.fusion.zoneOf(serials[0]!)).toEqual(['all']);
    s.close();
  });

  it('with verification workers: batches go through the pool and back to the swarm in order; a failing pool falls back to this thread', async () => {
    // A pool that does what verify-worker.ts does, in-process, and records the keys it was given.
    const given: string[] = [];
    let fail = false;
    const pool = {
      setKeys: (keys: Iterable<[string, { keyId: string; publicKey: string }]>) => void given.push(...[...keys].map(([s]) => s)),
      verify: async (items: { payload: Uint8Array; topic?: string }[]) => {
        if (fail) throw new Error('worker died');
        return items.map((it) => {
          const parse = parseMessage(it.payload, it.topic);
          if (!parse.ok || parse.parsed.envelope.v !== 2) return { parse };
          const k = simKey(parse.parsed.envelope.camera);
          return { parse, sig: { valid: signatureValid(parse.parsed.envelope, ed25519PublicKey(k.publicKey)), publicKey: k.publicKey } };
        });
      },
    };
    const s = setup(pool);
    expect(given.sort()).toEqual([...serials].sort());
    const confirmed: unknown[] = [];
    s.bus.subscribe('swarm.event', (e) => confirmed.push(e));
    for (const serial of serials) s.raw()!(`axis/${serial}/omnisight/detections`, s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    s.drainAll();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(4);
    expect(confirmed).toHaveLength(1);
    fail = true;
    s.raw()!(`axis/${serials[0]}/omnisight/detections`, s.detection(serials[0]!, { left: 0.1, top: 0.1, right: 0.2, bottom: 0.2 }), s.now());
    s.drainAll();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(5); // verified here instead
    s.close();
  });

  it('with verification workers, a small batch waits up to 2 ms for more before it goes (one postMessage instead of many)', async () => {
    const sizes: number[] = [];
    const pool = parsingPool((items) => sizes.push(items.length));
    const timers: { fn: () => void; ms: number }[] = [];
    const s = setup(pool, { poolBatchWaitMs: 2, later: (fn, ms) => void timers.push({ fn, ms }) });
    const send = (serial: string) => s.raw()!(`axis/${serial}/omnisight/detections`, s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    send(serials[0]!);
    send(serials[1]!);
    s.drainAll();
    expect(sizes).toEqual([]); // waiting for more
    expect(timers.map((t) => t.ms)).toEqual([2]);
    send(serials[2]!);
    s.drainAll();
    expect(timers).toHaveLength(1); // one wait, not one per drain
    s.advance(2);
    timers.shift()!.fn();
    s.drainAll();
    expect(sizes).toEqual([3]);
    s.close();
  });

  it('gathers small batches for the workers only from POOL_GATHER_MIN_RATE messages/s on', async () => {
    const sizes: number[] = [];
    const pool = parsingPool((items) => sizes.push(items.length));
    const timers: { fn: () => void; ms: number }[] = [];
    const s = setup(pool, { poolBatchWaitMs: 2, gatherMinRate: POOL_GATHER_MIN_RATE, later: (fn, ms) => void timers.push({ fn, ms }) });
    const send = (serial: string) => s.raw()!(`axis/${serial}/omnisight/detections`, s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    // A few messages a second: they go at once, nothing waits.
    for (const serial of serials.slice(0, 2)) {
      send(serial);
      s.drainAll();
      s.advance(50);
    }
    expect(sizes).toEqual([1, 1]);
    expect(timers).toEqual([]);
    await new Promise((r) => setTimeout(r, 10));
    // A burst (junk is enough to count) puts the rate above the threshold; then a small batch waits.
    for (let i = 0; i < POOL_GATHER_MIN_RATE + 100; i++) s.raw()!(`axis/${serials[0]}/omnisight/detections`, Buffer.from('x'), s.now());
    s.drainAll();
    await new Promise((r) => setTimeout(r, 10));
    s.drainAll();
    sizes.length = 0;
    send(serials[2]!);
    s.drainAll();
    expect(sizes).toEqual([]);
    expect(timers.map((t) => t.ms)).toEqual([2]);
    s.close();
  });

  it('verifies on this thread below DIRECT_VERIFY_MAX_RATE messages/s and at the workers above it; both refuse a forged signature', async () => {
    let pooled = 0;
    const pooledPayloads: string[] = [];
    const pool = {
      setKeys: () => undefined,
      verify: async (items: { payload: Uint8Array; topic?: string }[]) => {
        pooled += items.length;
        pooledPayloads.push(...items.map((it) => Buffer.from(it.payload).toString()));
        return items.map((it) => {
          const parse = parseMessage(it.payload, it.topic);
          if (!parse.ok || parse.parsed.envelope.v !== 2) return { parse };
          const k = simKey(parse.parsed.envelope.camera);
          return { parse, sig: { valid: signatureValid(parse.parsed.envelope, ed25519PublicKey(k.publicKey)), publicKey: k.publicKey } };
        });
      },
    };
    const s = setup(pool, { directVerifyMaxRate: DIRECT_VERIFY_MAX_RATE });
    const refused = () => s.swarm.coordinator.verifier.counts().byReason;
    // Signed by camera 2 in camera 1's name.
    const forged = () => {
      const real = s.detection(serials[1]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 });
      const env = JSON.parse(real.toString()) as { sig: string };
      const other = JSON.parse(s.detection(serials[2]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }).toString()) as { sig: string };
      return Buffer.from(JSON.stringify({ ...env, sig: other.sig }));
    };
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        s.drainAll();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    s.raw()!(`axis/${serials[0]}/omnisight/detections`, s.detection(serials[0]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    s.raw()!(`axis/${serials[1]}/omnisight/detections`, forged(), s.now());
    await settle();
    await settle();
    expect(pooled).toBe(0); // a few messages: verified here
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(1);
    const before = refused()['bad_signature'] ?? 0;
    expect(before).toBe(1);
    // The rate climbs above the threshold (junk counts as arrivals), one message per drain so the
    // queue never holds more than one: the rate alone moves verification to the workers.
    for (let i = 0; i < DIRECT_VERIFY_MAX_RATE; i++) {
      s.raw()!(`axis/${serials[0]}/omnisight/detections`, Buffer.from('x'), s.now());
      s.drainAll();
    }
    await settle();
    expect(pooled).toBeGreaterThan(0);
    expect(pooled).toBeLessThan(DIRECT_VERIFY_MAX_RATE); // the first ones, while the rate was low, here
    const forgery = forged();
    s.raw()!(`axis/${serials[1]}/omnisight/detections`, forgery, s.now());
    s.raw()!(`axis/${serials[3]}/omnisight/detections`, s.detection(serials[3]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    await settle();
    expect(pooledPayloads).toContain(forgery.toString()); // the same kind of forgery, now at the workers
    expect(refused()['bad_signature']).toBe(2);
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(2);
    s.close();
  });

  it('federated-learning messages keep the workers and the gathering at any rate (the rate rules are for camera reports)', async () => {
    const sizes: number[] = [];
    const pool = parsingPool((items) => sizes.push(items.length));
    const timers: { fn: () => void; ms: number }[] = [];
    const s = setup(pool, { poolBatchWaitMs: 2, gatherMinRate: POOL_GATHER_MIN_RATE, directVerifyMaxRate: DIRECT_VERIFY_MAX_RATE, later: (fn, ms) => void timers.push({ fn, ms }) });
    // One message at a low rate: a detections report is verified here at once, an fl message waits to go to the workers.
    s.raw()!(`axis/${serials[0]}/omnisight/fl`, Buffer.from('{}'), s.now());
    s.drainAll();
    expect(timers.map((t) => t.ms)).toEqual([2]);
    s.advance(2);
    timers.shift()!.fn();
    s.drainAll();
    expect(sizes).toEqual([1]);
    s.close();
  });

  it('a burst queued at once goes to the workers even before the rate has caught up (DIRECT_VERIFY_MAX_BATCH)', async () => {
    let pooled = 0;
    const pool = parsingPool((items) => (pooled += items.length));
    const s = setup(pool, { directVerifyMaxRate: DIRECT_VERIFY_MAX_RATE });
    const n = DIRECT_VERIFY_MAX_BATCH + 1; // adds n·4 messages/s to the estimate: still under the rate
    for (let i = 0; i < n; i++) s.raw()!(`axis/${serials[0]}/omnisight/detections`, Buffer.from('x'), s.now());
    s.drainAll();
    await new Promise((r) => setTimeout(r, 10));
    expect(pooled).toBe(n);
    s.close();
  });

  it('sheds messages that waited longer than MAX_QUEUE_AGE_MS, oldest first, and says so in swarm.status', async () => {
    const s = setup();
    const stale = serials.slice(0, 3).map((serial) => s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }));
    for (const [i, buf] of stale.entries()) s.raw()!(`axis/${serials[i]}/omnisight/detections`, buf, s.now());
    s.advance(MAX_QUEUE_AGE_MS + 1); // the desktop was busy: they waited too long
    s.raw()!(`axis/${serials[3]}/omnisight/detections`, s.detection(serials[3]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    s.drainAll();
    expect(s.link.dropped()).toBe(3);
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(1);
    const status = (await s.swarm.handlers['swarm.status']!({}, {} as never)) as { backlog: { shed: number; queued: number; transitMs: number | null } };
    expect(status.backlog).toMatchObject({ shed: 3, queued: 0, transitMs: 0 });
    // A report that reaches the desktop 2 s after it was sent (a queue in front of it): not shed
    // (it did not wait here), accepted, and the lateness is shown.
    const late = s.detection(serials[0]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 });
    s.advance(2_000);
    s.raw()!(`axis/${serials[0]}/omnisight/detections`, late, s.now());
    s.drainAll();
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(2);
    const after = (await s.swarm.handlers['swarm.status']!({}, {} as never)) as { backlog: { transitMs: number | null } };
    expect(after.backlog.transitMs).toBe(2_000);
    s.close();
  });

  it('with verification workers: every batch that is ready goes to the swarm in one commit, in the order taken', async () => {
    const resolvers: (() => void)[] = [];
    const pool = {
      setKeys: () => {},
      verify: (items: { payload: Uint8Array; topic?: string; receivedAt?: number }[], skewMs?: number) =>
        new Promise<ReturnType<typeof parseMessage> extends infer P ? { parse: P; sig?: { valid: boolean; publicKey: string } }[] : never>((resolve) => {
          expect(skewMs).toBe(5_000); // the verifier's tolerance travels with the batch
          expect(items.every((it) => typeof it.receivedAt === 'number')).toBe(true);
          resolvers.push(() =>
            resolve(
              items.map((it) => {
                const parse = parseMessage(it.payload, it.topic);
                if (!parse.ok || parse.parsed.envelope.v !== 2) return { parse };
                const k = simKey(parse.parsed.envelope.camera);
                return { parse, sig: { valid: signatureValid(parse.parsed.envelope, ed25519PublicKey(k.publicKey)), publicKey: k.publicKey } };
              }),
            ),
          );
        }),
    };
    const s = setup(pool as never);
    const calls: string[][] = [];
    const submitChecked = s.swarm.submitChecked.bind(s.swarm);
    s.swarm.submitChecked = (items) => {
      calls.push(items.map((x) => (x.verdict.parse.ok ? x.verdict.parse.parsed.envelope.camera : '?')));
      return submitChecked(items);
    };
    for (const serial of serials.slice(0, 2)) {
      s.raw()!(`axis/${serial}/omnisight/detections`, s.detection(serial, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
      s.drainAll(); // one batch each
    }
    expect(resolvers).toHaveLength(2);
    resolvers[1]!(); // the later batch is ready first: it waits for the earlier one
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([]);
    resolvers[0]!();
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toEqual([[serials[0], serials[1]]]);
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(2);
    s.close();
  });

  it('takes nothing from the queue while MAX_PENDING_BATCHES batches wait for their replay commit; the queue ages and sheds instead', () => {
    const s = setup();
    let pending = MAX_PENDING_BATCHES;
    s.swarm.pendingBatches = () => pending;
    s.raw()!(`axis/${serials[0]}/omnisight/detections`, s.detection(serials[0]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    s.drainAll();
    expect(s.link.queueDepth()).toBe(1);
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(0);
    s.advance(MAX_QUEUE_AGE_MS + 1);
    pending = MAX_PENDING_BATCHES - 1;
    s.raw()!(`axis/${serials[1]}/omnisight/detections`, s.detection(serials[1]!, { left: 0.65, top: 0.3, right: 0.75, bottom: 0.5 }), s.now());
    s.drainAll();
    expect(s.link.dropped()).toBe(1); // the one that waited too long: shed, not handled
    expect(s.swarm.coordinator.verifier.counts().accepted).toBe(1);
    s.close();
  });

  it('sheds the oldest message when the queue is full', () => {
    const s = setup();
    const buf = Buffer.from('{}');
    for (let i = 0; i < INGEST_QUEUE_LIMIT + 5; i++) s.link.enqueue('axis/ACCC8E000001/omnisight/detections', buf, 0);
    expect(s.link.queueDepth()).toBe(INGEST_QUEUE_LIMIT);
    expect(s.link.dropped()).toBe(5);
    s.close();
  });
});
