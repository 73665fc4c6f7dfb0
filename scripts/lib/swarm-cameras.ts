// Child process of the swarm end-to-end benchmark: N cameras, each its own MQTT connection,
// publishing signed detections (10/s) and heartbeats (1/s) built here per docs/protocol.md.
// Cameras 5k..5k+4 cover zone k; every second each zone shows one short-lived object (class
// rotating, so consecutive events never merge in fusion's window). It tells the parent, over IPC,
// its public keys first and then the high-resolution publish time of every detections message.
import crypto from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

const CLASSES = ['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other'] as const;
const PER_ZONE = 5;

const nowHr = (): number => performance.timeOrigin + performance.now();
// Envelope v2 (docs/protocol.md): the boot epoch is this run's start second, so a rerun never reuses (epoch, seq).
const EPOCH = Math.floor(Date.now() / 1000) % 0xffff_ffff || 1;
const signingInput = (camera: string, seq: number, sent: number, kind: string, key: string, body: string): Buffer =>
  Buffer.from(['omnisight.v2', camera, String(EPOCH), String(seq), String(sent), kind, key, body].join('\n'), 'utf8');
/** Key id: lower-case hex of the first 8 bytes of SHA-256 over the raw public key. */
const keyIdOf = (raw: Buffer): string => crypto.createHash('sha256').update(raw).digest('hex').slice(0, 16);

interface Cam {
  serial: string;
  zone: number;
  priv: crypto.KeyObject;
  publicKey: string;
  keyId: string;
  seq: number;
  client?: MqttClient;
}

async function main(): Promise<void> {
  const [broker, nStr, secondsStr, rateStr] = process.argv.slice(2);
  const n = Number(nStr);
  const seconds = Number(secondsStr);
  const rate = Number(rateStr);
  const cams: Cam[] = Array.from({ length: n }, (_, i) => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const raw = spki.subarray(spki.length - 32);
    return { serial: `ACCC8E${(0x100000 + i).toString(16).toUpperCase()}`, zone: Math.floor(i / PER_ZONE), priv: privateKey, publicKey: raw.toString('base64'), keyId: keyIdOf(raw), seq: 0 };
  });
  process.send!({ type: 'keys', cameras: cams.map((c) => ({ serial: c.serial, zone: c.zone, publicKey: c.publicKey, keyId: c.keyId })) });
  await new Promise<void>((resolve) => process.once('message', () => resolve())); // "go": keys are registered

  await Promise.all(
    cams.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          c.client = mqtt.connect(broker!, { clientId: `bench-${c.serial}`, reconnectPeriod: 0 });
          c.client.once('connect', () => resolve());
          c.client.once('error', reject);
        }),
    ),
  );

  const published: [string, number, number][] = []; // serial, seq, hi-res publish time
  const t0 = Date.now();
  const publish = (c: Cam, kind: 'detections' | 'heartbeat', body: string): void => {
    const sent = Date.now();
    c.seq++;
    const sig = crypto.sign(null, signingInput(c.serial, c.seq, sent, kind, c.keyId, body), c.priv).toString('base64');
    const payload = JSON.stringify({ v: 2, camera: c.serial, epoch: EPOCH, seq: c.seq, sent, kind, key: c.keyId, body, sig });
    if (kind === 'detections') published.push([c.serial, c.seq, nowHr()]);
    c.client!.publish(`axis/${c.serial}/omnisight/${kind}`, payload, { qos: kind === 'heartbeat' ? 1 : 0 });
  };
  const frame = (c: Cam): void => {
    const ts = Date.now();
    const sinceStart = ts - t0;
    const k = Math.floor(sinceStart / 1000);
    // The zone's object is visible for the first 300 ms of each second (offset per zone).
    const phase = (sinceStart + c.zone * 37) % 1000;
    const observations =
      phase < 300
        ? [{ bounding_box: { left: 0.4, top: 0.3, right: 0.5, bottom: 0.7 }, class: { type: CLASSES[k % CLASSES.length]!, score: 0.9 }, track_id: `${c.zone}-${k}`, timestamp: ts }]
        : [];
    publish(c, 'detections', JSON.stringify({ frame: { timestamp: ts, observations, operations: [] }, stats: { inference_ms: 18, fps_camera: rate, fps_processed: rate, fps_skipped: 0, width: 640, height: 360 } }));
  };
  const timers: NodeJS.Timeout[] = [];
  for (const [i, c] of cams.entries()) {
    // Cameras are not in lockstep: each starts at its own phase of the frame interval.
    const start = setTimeout(() => {
      timers.push(setInterval(() => frame(c), 1000 / rate));
      timers.push(
        setInterval(
          () => publish(c, 'heartbeat', JSON.stringify({ app: 'omnisight', version: '1.2.0', uptime_s: Math.floor((Date.now() - t0) / 1000), fps_camera: rate, fps_processed: rate, fps_skipped: 0, inference_ms: 18, mem_bytes: 31_457_280, model: 'ssd_mobilenet_v2' })),
          1000,
        ),
      );
    }, ((i * 7919) % 100) * (10 / rate));
    timers.push(start);
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of timers) clearInterval(t);
  await Promise.all(cams.map((c) => c.client!.endAsync()));
  process.send!({ type: 'published', published }, () => process.exit(0));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
