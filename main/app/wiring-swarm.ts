// Glue between the camera fleet and the swarm coordinator / performance monitor:
//  - every raw MQTT payload on axis/+/omnisight/# goes to swarm.ingest through a bounded queue
//    drained off the MQTT callback (its depth is the perf "ingest" queue gauge);
//  - the camera registry drives swarm.registerCamera / removeCamera, with the recorded key and a
//    coverage built from the camera's ground calibration (timeline's store, else the demo scene's
//    public calibration) or, failing that, the zones the user listed it under;
//  - the site zones are seeded once from the demo fleet's public scene description.
import type { CameraId } from '../../preload/contract/camera-id';
import type { EventBus } from '../kernel/bus';
import type { Logger } from '../kernel/logger';
import type { FleetRuntime } from './fleet-runtime';
import type { PerfService } from '../perf';
import { buildCoverage, coverageKey, invert3, type CoverageInput, type Mat3, type SwarmService, type VerifyPool, type ZoneConfig } from '../swarm';

export const INGEST_QUEUE_LIMIT = 20_000;
/** Messages handled per drain before yielding, so a burst cannot starve the event loop. */
const DRAIN_BATCH = 500;
/** Batches at the verification workers at once: enough to keep them busy, few enough to stay fresh. */
const MAX_POOL_BATCHES = 4;

export interface SwarmLinkDeps {
  swarm: SwarmService;
  perf: Pick<PerfService, 'setIngestQueue'>;
  fleet: Pick<FleetRuntime, 'fleet' | 'mqtt' | 'demo' | 'ready'>;
  bus: EventBus;
  log: Logger;
  /** A camera's image → ground homography from the timeline's calibration store. */
  calibrationOf?: (id: CameraId) => Mat3 | undefined;
  /** Schedules the queue drain (setImmediate); injectable so tests drain synchronously. */
  defer?: (fn: () => void) => void;
  /** Verification worker threads (main/swarm createVerifyPool); without it, verification runs here. */
  pool?: Pick<VerifyPool, 'verify' | 'setKeys'>;
}

export interface SwarmLink {
  /** Queue one raw message (what the MQTT seam calls). */
  enqueue(topic: string, payload: Buffer | string, receivedAt: number): void;
  /** Re-reads the registry and zones and (re-)registers cameras with the coordinator. */
  sync(): void;
  queueDepth(): number;
  dropped(): number;
  close(): void;
}

interface Msg {
  topic: string;
  payload: Buffer | string;
  receivedAt: number;
}

export function demoZones(scene: { zones: readonly { id: string; name: string; polygon: readonly (readonly [number, number])[] }[] }): ZoneConfig[] {
  return scene.zones.map((z) => ({ id: z.id, name: z.name, polygon: z.polygon.map(([x, y]) => ({ x, y })), cameras: [] }));
}

export function linkSwarm(deps: SwarmLinkDeps): SwarmLink {
  const { swarm, perf, fleet, bus, log } = deps;
  const defer = deps.defer ?? ((fn) => void setImmediate(fn));
  // A ring would avoid the shift cost, but head-index + periodic compaction is as cheap and simpler.
  let queue: Msg[] = [];
  let head = 0;
  let scheduled = false;
  let dropped = 0;
  let closed = false;
  const depth = (): number => queue.length - head;

  // With a verification pool, parsing and signatures run in worker threads; batches go back to the
  // swarm in the order they were taken. Should the pool fail, verification falls back to this thread.
  let pool = deps.pool;
  let inFlight = 0;
  let chain: Promise<void> = Promise.resolve();
  const viaPool = (batch: Msg[], p: NonNullable<SwarmLinkDeps['pool']>): void => {
    inFlight++;
    const payloads = batch.map((m) => (typeof m.payload === 'string' ? Buffer.from(m.payload) : m.payload));
    const verdicts = p.verify(payloads.map((payload, i) => ({ payload, topic: batch[i]!.topic })));
    chain = chain.then(async () => {
      try {
        const vs = await verdicts;
        if (!closed) swarm.ingestChecked(vs.map((verdict, i) => ({ verdict, receivedAt: batch[i]!.receivedAt, topic: batch[i]!.topic, bytes: payloads[i]!.byteLength })));
      } catch (err) {
        log.error({ err }, 'the verification workers failed; verifying on the main thread from now on');
        pool = undefined;
        if (!closed) swarm.ingestBatch(batch);
      } finally {
        inFlight--;
        schedule();
      }
    });
  };

  const drain = (): void => {
    scheduled = false;
    if (closed) return;
    if (pool && inFlight >= MAX_POOL_BATCHES) return; // a finishing batch schedules the next drain
    const end = Math.min(queue.length, head + DRAIN_BATCH);
    const batch: Msg[] = [];
    while (head < end) {
      batch.push(queue[head]!);
      queue[head++] = undefined as unknown as Msg;
    }
    // One batch: the swarm writes the replay state it changed in one transaction (group commit).
    if (batch.length && pool) viaPool(batch, pool);
    else if (batch.length) swarm.ingestBatch(batch);
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 4096) {
      queue = queue.slice(head);
      head = 0;
    }
    perf.setIngestQueue(depth());
    if (depth() > 0) schedule();
  };
  const schedule = (): void => {
    if (scheduled || closed) return;
    scheduled = true;
    defer(drain);
  };

  const enqueue = (topic: string, payload: Buffer | string, receivedAt: number): void => {
    if (closed) return;
    if (depth() >= INGEST_QUEUE_LIMIT) {
      // Shed the oldest: a fresh report is worth more to fusion than one already stale.
      head++;
      dropped++;
      if (dropped === 1 || dropped % 1000 === 0) log.warn({ dropped, limit: INGEST_QUEUE_LIMIT }, 'swarm ingest queue full; dropping the oldest camera messages');
    }
    queue.push({ topic, payload, receivedAt });
    perf.setIngestQueue(depth());
    schedule();
  };

  // ---- cameras → coordinator ------------------------------------------------------------------
  const registered = new Map<string, string>(); // serial → fingerprint of key + coverage
  // The swarm names cameras by serial (what they sign with): coverage is given under the serial,
  // the calibration looked up under the camera's id.
  const coverageInput = ({ id, serial }: { id: CameraId; serial: string }): CoverageInput => {
    const fromTimeline = deps.calibrationOf?.(id);
    if (fromTimeline) return { serial, imageToGround: fromTimeline };
    const demo = fleet.demo();
    const simId = demo?.cameras.find((c) => c.serial === serial)?.id;
    const cal = simId ? demo?.scene.cameras.find((c) => c.cameraId === simId) : undefined;
    const inv = cal?.homography.length === 9 ? invert3(cal.homography as unknown as Mat3) : undefined;
    // The scene's homography maps ground → image; fusion needs image → ground.
    if (cal && inv) return { serial, imageToGround: inv, zonesInView: cal.zones };
    return { serial };
  };

  const seedZones = (): void => {
    if (swarm.zoneConfig().source !== 'none') return;
    const demo = fleet.demo();
    if (!demo) return;
    swarm.setZoneConfig(demoZones(demo.scene), 'demo');
    log.info({ zones: demo.scene.zones.length }, 'swarm zones seeded from the demo scene');
  };

  let syncing = false;
  const sync = (): void => {
    if (closed || syncing) return;
    syncing = true;
    try {
      seedZones();
      const zones = swarm.zoneConfig().zones;
      const zonesSig = JSON.stringify(zones);
      const want = new Set<string>();
      const workerKeys: [string, { keyId: string; publicKey: string }][] = [];
      for (const c of fleet.fleet.registry.list()) {
        if (!c.serial || (c.demo && !c.demoActive)) continue;
        const key = fleet.fleet.registry.keyOf(c.id);
        if (!key) continue; // no recorded key yet: its messages are refused as unknown_camera
        want.add(c.serial);
        workerKeys.push([c.serial, key]);
        const input = coverageInput(c);
        const fp = `${key.keyId}|${key.publicKey}|${coverageKey(input, zones)}|${zonesSig}`;
        if (registered.get(c.serial) === fp) continue;
        const { calibrated, ...coverage } = buildCoverage(input, zones);
        swarm.registerCamera({ id: c.serial, keyId: key.keyId, publicKey: key.publicKey, coverage });
        registered.set(c.serial, fp);
        log.debug({ serial: c.serial, zones: coverage.zones, calibrated }, 'swarm camera registered');
      }
      for (const serial of [...registered.keys()]) {
        if (want.has(serial)) continue;
        swarm.removeCamera(serial);
        registered.delete(serial);
      }
      pool?.setKeys(workerKeys);
    } catch (err) {
      log.error({ err }, 'could not sync cameras with the swarm coordinator');
    } finally {
      syncing = false;
    }
  };

  const offRaw = fleet.mqtt?.onRaw((topic, payload, receivedAt) => enqueue(topic, payload, receivedAt));
  const offs = [
    bus.subscribe('fleet.changed', () => sync()),
    swarm.onZonesChanged(() => sync()),
  ];
  void fleet.ready.then(() => sync());
  sync();

  return {
    enqueue,
    sync,
    queueDepth: depth,
    dropped: () => dropped,
    close() {
      closed = true;
      offRaw?.();
      for (const off of offs) off();
      queue = [];
      head = 0;
    },
  };
}
