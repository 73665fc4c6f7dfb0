// npm run bench:detections — 100 camera publishers at 10 Hz over MQTT into main's ingest.
// Writes bench-results/detections.json: { cameras, rate_hz, handled_per_s, latency_p99_ms, dropped }.
//
// Main's side (embedded aedes broker + the subscriber that validates every payload, main/mqtt) runs
// in this process; the publishers run in a child process, each its own MQTT connection with its
// own Ed25519 key, signing envelopes exactly as docs/protocol.md describes (built here from the
// document, not from the simulator's code). Latency = time handled in main − envelope `sent`,
// both from this machine's clock.
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../main/kernel/logger';
import { createMqttService } from '../main/mqtt';

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 100);
const RATE_HZ = Number(process.env.BENCH_RATE_HZ ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Connections, JIT and the broker's first subscriptions settle here; not measured. */
const WARMUP_S = 2;
const root = path.resolve(__dirname, '..');

type ToParent = { type: 'ready' } | { type: 'done'; sent: number };

// ---------------- publishers (child process) ----------------
async function publishers(port: number): Promise<void> {
  const send = (m: ToParent): void => void process.send?.(m);
  const cams = Array.from({ length: CAMERAS }, (_, i) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const keyId = crypto.createHash('sha256').update(spki.subarray(spki.length - 32)).digest('hex').slice(0, 16);
    const serial = `B8A44F${(0x100000 + i).toString(16).toUpperCase().padStart(6, '0')}`;
    return { serial, privateKey, keyId, seq: 0 };
  });
  const clients = await Promise.all(cams.map((c) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${c.serial}`, clean: true, reconnectPeriod: 0 })));
  send({ type: 'ready' });
  await new Promise<void>((r) => process.once('message', () => r()));
  const period = 1000 / RATE_HZ;
  const end = Date.now() + (WARMUP_S + SECONDS) * 1000;
  let sent = 0;
  const publish = (i: number): void => {
    const c = cams[i]!;
    const t = Date.now();
    const body = JSON.stringify({
      frame: {
        timestamp: t - 20,
        observations: [
          { bounding_box: { left: 0.41, top: 0.22, right: 0.47, bottom: 0.61 }, class: { type: 'Human', score: 0.87 }, track_id: String(c.seq % 50), timestamp: t - 20 },
          { bounding_box: { left: 0.1, top: 0.5, right: 0.3, bottom: 0.7 }, class: { type: 'Car', score: 0.66 }, track_id: '3', timestamp: t - 20 },
        ],
        operations: [],
      },
      stats: { inference_ms: 17.9, fps_camera: RATE_HZ, fps_processed: RATE_HZ, fps_skipped: 0, width: 640, height: 360 },
    });
    c.seq += 1;
    const input = ['omnisight.v2', c.serial, '1', String(c.seq), String(t), 'detections', c.keyId, body].join('\n');
    const sig = crypto.sign(null, Buffer.from(input, 'utf8'), c.privateKey).toString('base64');
    const env = JSON.stringify({ v: 2, camera: c.serial, epoch: 1, seq: c.seq, sent: t, kind: 'detections', key: c.keyId, body, sig });
    clients[i]!.publish(`axis/${c.serial}/omnisight/detections`, env, { qos: 0 });
    sent++;
  };
  // Each camera on its own phase of the period, like independent cameras.
  await Promise.all(
    cams.map(
      (_, i) =>
        new Promise<void>((resolve) => {
          let next = Date.now() + (i * period) / CAMERAS;
          const tick = (): void => {
            if (Date.now() >= end) return resolve();
            publish(i);
            next += period;
            setTimeout(tick, Math.max(0, next - Date.now()));
          };
          setTimeout(tick, Math.max(0, next - Date.now()));
        }),
    ),
  );
  await Promise.all(clients.map((c) => c.endAsync()));
  send({ type: 'done', sent });
  process.disconnect();
}

// ---------------- main's side (this process) ----------------
async function main(): Promise<void> {
  const load0 = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const latencies: number[] = [];
  const lastSeq = new Map<string, number>();
  let handled = 0;
  let bad = 0;
  let gaps = 0;
  let measureFrom = Infinity;
  let measured = 0;
  let lastAt = 0;
  const service = createMqttService({
    config: () => ({ mode: 'embedded', url: '', username: '' }),
    secrets: { protection: 'os', get: () => undefined, set: () => undefined, delete: () => undefined } as never,
    log: silentLogger(),
    onMessage: (m) => {
      const now = Date.now();
      handled++;
      if (m.envelope.sent >= measureFrom) {
        measured++;
        lastAt = now;
        latencies.push(now - m.envelope.sent);
      }
      const prev = lastSeq.get(m.serial) ?? 0;
      if (m.envelope.seq !== prev + 1) gaps += m.envelope.seq - prev - 1;
      lastSeq.set(m.serial, m.envelope.seq);
    },
    onBad: () => void bad++,
  });
  await service.start();
  const ep = service.endpoint()!;
  const child = fork(__filename, ['--publishers', String(ep.port)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const sent = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: ToParent) => {
        if (m.type === 'ready') {
          measureFrom = Date.now() + WARMUP_S * 1000;
          child.send('go');
        }
        else resolve(m.sent);
      });
      child.once('exit', (code) => reject(new Error(`publishers exited with ${code}`)));
    });
    // QoS 0 in flight at the end gets a moment to land before anything counts as dropped.
    const settle = Date.now() + 3000;
    while (handled + bad < sent && Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))] ?? NaN;
    const result = {
      cameras: CAMERAS,
      rate_hz: RATE_HZ,
      handled_per_s: Math.round((measured / Math.max(0.001, (lastAt - measureFrom) / 1000)) * 10) / 10,
      latency_p99_ms: p99,
      dropped: sent - handled,
    };
    fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench-results/detections.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(
      `sent ${sent}, handled ${handled} (${measured} after a ${WARMUP_S} s warm-up), invalid ${bad}, seq gaps ${gaps}, p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies[latencies.length - 1]} ms; ` +
        `loadavg before ${load0}, after ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}\n`,
    );
  } finally {
    if (child.exitCode === null) child.kill();
    await service.close();
  }
}

const i = process.argv.indexOf('--publishers');
(i >= 0 ? publishers(Number(process.argv[i + 1])) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench-detections failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
