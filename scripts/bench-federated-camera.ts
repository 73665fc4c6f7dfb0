// One camera process of bench:federated: hosts several simulated cameras, each with its own MQTT
// connection, its own signing key and its own local data, running the simulator's fl2 client
// (main/camsim/fl/client.ts) for secure rounds. For the plain baseline each camera trains the same
// way and publishes its parameters in the clear (what FedAvg without secure aggregation sends), in
// the same signed envelope v2 kind "fl" on the same topic as its secure messages, so the desktop
// gives each plain message exactly the work it gives a secure one (the swarm's verification,
// replay window and its database write).
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { createFlClient, flTopics } from '../main/camsim/fl/client';
import { train } from '../main/camsim/fl/head';
import { sealEnvelope, simKey } from '../main/swarm/testkit';
import { cameraData } from './bench-federated-data';

interface Start {
  url: string;
  cameras: { serial: string; index: number }[];
  samples: number;
}

// A clean exit on the bench's kill, so that --cpu-prof (BENCH_FED_CPU_PROF) writes its profile.
process.on('SIGTERM', () => process.exit(0));

// BENCH_FED_TRACE=1: when this process's cameras got each desktop message and sent each answer
// (wall clock, ms), so the bench can show per camera process where a round's milliseconds go (a
// publish that reached the cameras late, cameras queued behind each other, the desktop behind them).
const TRACE = process.env.BENCH_FED_TRACE === '1';
const trace: { at: number; what: string; cpuUs?: number }[] = [];
const wall = (): number => performance.timeOrigin + performance.now();
/**
 * The trace between two wall-clock times, as first–last (ms after `from`) and count per event; for
 * "cpu <message>" events (the handler's CPU per message, µs): min–max and count.
 */
const traceSpan = (from: number, to: number): Record<string, [number, number, number]> => {
  const out: Record<string, [number, number, number]> = {};
  for (const e of trace) {
    if (e.at < from || e.at > to) continue;
    if (e.cpuUs !== undefined) {
      const o = (out[e.what] ??= [e.cpuUs, e.cpuUs, 0]);
      o[0] = Math.min(o[0], e.cpuUs);
      o[1] = Math.max(o[1], e.cpuUs);
      o[2]++;
      continue;
    }
    const t = Math.round((e.at - from) * 10) / 10;
    const o = (out[e.what] ??= [t, t, 0]);
    o[0] = Math.min(o[0], t);
    o[1] = Math.max(o[1], t);
    o[2]++;
  }
  trace.splice(0, trace.length); // one round at a time
  return out;
};

/** Per round: the cameras of this process that are set up (deliver opened, mask made). */
const setUp = new Map<string, number>();
let cameraCount = 0;
const waiting: { round: string; resolve: () => void }[] = [];
const noteSetUp = (round: string): void => {
  setUp.set(round, (setUp.get(round) ?? 0) + 1);
  for (const w of waiting.filter((x) => x.round === round && setUp.get(round)! >= cameraCount)) {
    waiting.splice(waiting.indexOf(w), 1);
    w.resolve();
  }
};

/**
 * Per round (secure or plain): the cameras of this process that have handled its result. The bench
 * reads the cameras' CPU of a round only once each of them has (a result still in flight would be
 * counted in the next round's figure, or in none).
 */
const resulted = new Map<string, number>();
const waitingResult: { round: string; answer: () => void }[] = [];
const noteResult = (round: string): void => {
  resulted.set(round, (resulted.get(round) ?? 0) + 1);
  for (const w of waitingResult.filter((x) => x.round === round && resulted.get(round)! >= cameraCount)) {
    waitingResult.splice(waitingResult.indexOf(w), 1);
    w.answer();
  }
};

/** Per camera here: its index in the bench's fleet and its training set now (switched by { localSet }). */
const cameras: { index: number; data: ReturnType<typeof cameraData>['train'] }[] = [];

process.on('message', (m: Start | { cpu: true } | { cpuAfterResult: string } | { setupOf: string } | { traceOf: { from: number; to: number } } | { localSet: number }) => {
  if ('traceOf' in m) return void process.send!({ trace: traceSpan(m.traceOf.from, m.traceOf.to) });
  // The bench times rounds at two local-set sizes: every camera here trains on its first n detections
  // from now on (the same deterministic data as the desktop's centralised reference draws).
  if ('localSet' in m) {
    for (const cam of cameras) cam.data = cameraData(cam.index, m.localSet).train;
    return void process.send!({ localSet: m.localSet });
  }
  // The CPU time once every camera here has handled the result of a round (at most 60 s).
  if ('cpuAfterResult' in m) {
    const round = m.cpuAfterResult;
    const answer = (): void => {
      resulted.delete(round);
      process.send!({ cpu: process.cpuUsage(), round });
    };
    if ((resulted.get(round) ?? 0) >= cameraCount) return answer();
    const timer = setTimeout(() => {
      waitingResult.splice(waitingResult.findIndex((w) => w.answer === done), 1);
      console.error(`camera process: not every camera handled the result of ${round} within 60 s`);
      answer();
    }, 60_000);
    const done = (): void => {
      clearTimeout(timer);
      answer();
    };
    waitingResult.push({ round, answer: done });
    return;
  }
  // The bench asks for this process's CPU time around each timed round (per-camera CPU figure).
  if ('cpu' in m) return void process.send!({ cpu: process.cpuUsage() });
  // ...and waits until every camera here is set up for a round (at most 60 s).
  if ('setupOf' in m) {
    const round = m.setupOf;
    const answer = (): void => void process.send!({ setUp: round, missing: Math.max(0, cameraCount - (setUp.get(round) ?? 0)) });
    if ((setUp.get(round) ?? 0) >= cameraCount) return answer();
    const timer = setTimeout(() => {
      waiting.splice(waiting.findIndex((w) => w.resolve === done), 1);
      answer();
    }, 60_000);
    const done = (): void => {
      clearTimeout(timer);
      answer();
    };
    waiting.push({ round, resolve: done });
    return;
  }
  void start(m).then(
    () => process.send!({ ready: true }),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});

async function start(m: Start): Promise<void> {
  cameraCount = m.cameras.length;
  for (const cam of m.cameras) {
    const key = simKey(cam.serial);
    const local = { index: cam.index, data: cameraData(cam.index, m.samples).train };
    cameras.push(local);
    const conn = await mqtt.connectAsync(m.url, { reconnectPeriod: 0, clientId: `bench-${cam.serial}` });
    // No Nagle, as the desktop's client and the embedded broker (main/mqtt): a camera answers a
    // desktop message right after acknowledging it (QoS 1 PUBACK, then its own PUBLISH), and with
    // Nagle the second small write waits for the broker's ACK of the first.
    (conn.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    let seq = 0;
    let plainModel: Float32Array | undefined;
    const send = (body: string): boolean => {
      if (TRACE) trace.push({ at: wall(), what: `sent ${/"phase":"([a-z]+)"/.exec(body)?.[1]}` });
      conn.publish(`axis/${cam.serial}/omnisight/fl`, sealEnvelope({ camera: cam.serial, epoch: 1, seq: ++seq, sent: Date.now(), kind: 'fl', key: key.keyId, body }, key.privateKey), { qos: 1 });
      return true;
    };
    const client = createFlClient({
      serial: cam.serial,
      send,
      trainingData: () => local.data,
      random: (n) => randomBytes(n),
      now: Date.now,
      onResult: () => undefined,
      onEvent: (e) => {
        if (e.what === 'setup') noteSetUp(e.round);
        if (e.what === 'result') noteResult(e.round);
      },
    });
    conn.on('message', (topic, payload) => {
      if (TRACE) trace.push({ at: wall(), what: `got ${topic.split('/')[4] ?? topic.split('/').at(-1)}` });
      if (topic === 'omnisight/desktop/bench/plain-result') {
        // Adopt the averaged model, as a camera adopts a secure round's result.
        const r = JSON.parse(payload.toString()) as { round: string; params: string };
        const b = Buffer.from(r.params, 'base64');
        plainModel = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        if (plainModel.length !== 14 || !plainModel.every(Number.isFinite)) throw new Error(`plain round ${r.round}: a malformed model`);
        noteResult(r.round);
        return;
      }
      if (topic === 'omnisight/desktop/bench/ping') {
        // An empty broadcast-and-answer round trip: a signed answer with nothing in it.
        const a = JSON.parse(payload.toString()) as { round: string };
        send(JSON.stringify({ round: a.round, phase: 'ping' }));
        return;
      }
      if (topic === 'omnisight/desktop/bench/plain') {
        const a = JSON.parse(payload.toString()) as { round: string; params: number[]; train: { epochs: number; lr: number; batchSize: number } };
        const c0 = TRACE ? process.cpuUsage() : undefined;
        const params = train(a.params, local.data, { ...a.train, seed: seq });
        send(JSON.stringify({ round: a.round, phase: 'plain', params }));
        if (c0) {
          const c = process.cpuUsage(c0);
          trace.push({ at: wall(), what: 'cpu plain', cpuUs: c.user + c.system });
        }
        return;
      }
      if (!TRACE) return client.handle(topic, payload);
      const c0 = process.cpuUsage();
      client.handle(topic, payload);
      const c = process.cpuUsage(c0);
      trace.push({ at: wall(), what: `cpu ${topic.split('/')[4] ?? topic.split('/').at(-1)}`, cpuUs: c.user + c.system });
    });
    await conn.subscribeAsync([...flTopics(cam.serial), 'omnisight/desktop/bench/plain', 'omnisight/desktop/bench/plain-result', 'omnisight/desktop/bench/ping'], { qos: 1 });
  }
}
