// One camera process of bench:federated: hosts several simulated cameras, each with its own MQTT
// connection, its own signing key and its own local data, running the simulator's fl1 client
// (main/camsim/fl/client.ts) for secure rounds. For the plain baseline each camera trains the same
// way and publishes its parameters in the clear, signed (what FedAvg without secure aggregation sends).
import { randomBytes, sign } from 'node:crypto';
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

process.on('message', (m: Start | { cpu: true }) => {
  // The bench asks for this process's CPU time around each timed round (per-camera CPU figure).
  if ('cpu' in m) return void process.send!({ cpu: process.cpuUsage() });
  void start(m).then(
    () => process.send!({ ready: true }),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});

async function start(m: Start): Promise<void> {
  for (const cam of m.cameras) {
    const key = simKey(cam.serial);
    const { train: data } = cameraData(cam.index, m.samples);
    const conn = await mqtt.connectAsync(m.url, { reconnectPeriod: 0, clientId: `bench-${cam.serial}` });
    let seq = 0;
    const client = createFlClient({
      serial: cam.serial,
      send: (body) => {
        conn.publish(`axis/${cam.serial}/omnisight/fl`, sealEnvelope({ camera: cam.serial, epoch: 1, seq: ++seq, sent: Date.now(), kind: 'fl', key: key.keyId, body }, key.privateKey), { qos: 1 });
        return true;
      },
      trainingData: () => data,
      random: (n) => randomBytes(n),
      now: Date.now,
      onResult: () => undefined,
    });
    conn.on('message', (topic, payload) => {
      if (topic === 'omnisight/desktop/bench/plain') {
        const a = JSON.parse(payload.toString()) as { round: string; params: number[]; train: { epochs: number; lr: number; batchSize: number } };
        const local = train(a.params, data, { ...a.train, seed: seq });
        const body = JSON.stringify({ round: a.round, camera: cam.serial, params: local });
        conn.publish(`bench/plain/${cam.serial}`, JSON.stringify({ body, sig: sign(null, Buffer.from(body), key.privateKey).toString('base64') }), { qos: 1 });
        return;
      }
      client.handle(topic, payload);
    });
    await conn.subscribeAsync([...flTopics(cam.serial), 'omnisight/desktop/bench/plain'], { qos: 1 });
  }
}
