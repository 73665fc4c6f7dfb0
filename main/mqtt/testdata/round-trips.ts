// A camera on its own thread for broker.test.ts: publishes QoS 1 every 10 ms to the broker at
// workerData.url and records when each PUBACK came back. Its thread is not the test's, so it keeps
// publishing while the test blocks its own thread; whether the PUBACKs keep coming then says where
// the broker runs. Posts { acks: [sentAt, ackedAt][] } (epoch ms) when told 'stop'.
import { parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { z } from 'zod';

const { url } = z.object({ url: z.string().startsWith('mqtt://127.0.0.1:') }).parse(workerData);
const now = (): number => performance.timeOrigin + performance.now();
const acks: [number, number][] = [];
const client = mqtt.connect(url, { clientId: 'round-trip-camera', reconnectPeriod: 0 });
let timer: NodeJS.Timeout | undefined;
client.on('connect', () => {
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  timer = setInterval(() => {
    const sent = now();
    client.publish('axis/B8A44F7D507D/omnisight/heartbeat', 'tick', { qos: 1 }, (err) => {
      if (!err) acks.push([sent, now()]);
    });
  }, 10);
  parentPort!.postMessage({ type: 'connected' });
});
parentPort!.on('message', () => {
  clearInterval(timer);
  client.end(true, () => {
    parentPort!.postMessage({ type: 'done', acks });
    parentPort!.close();
  });
});
