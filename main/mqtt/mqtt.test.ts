// Ingest against two independent brokers: Debian's mosquitto (started here) and the embedded aedes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../kernel/logger';
import type { SecretStore } from '../kernel/ports';
import { createMqttService, parseCameraMessage, startEmbeddedBroker, type BadMessage, type CameraMessage, type EmbeddedBroker } from './index';

const SERIAL = 'B8A44F7D507D';
const sig = Buffer.alloc(64, 7).toString('base64');
const envelope = (kind: 'detections' | 'heartbeat', body: unknown, over: Record<string, unknown> = {}): string =>
  JSON.stringify({ v: 2, camera: SERIAL, epoch: 1, seq: 1, sent: 1795222210426, kind, key: '0123456789abcdef', body: JSON.stringify(body), sig, ...over });
const detections = {
  frame: {
    timestamp: 1795222210400,
    observations: [{ bounding_box: { left: 0.41, top: 0.22, right: 0.47, bottom: 0.61 }, class: { type: 'Human', score: 0.87 }, track_id: '17', timestamp: 1795222210400 }],
    operations: [{ id: '12', type: 'DeleteOperation' }],
  },
  stats: { inference_ms: 17.9, fps_camera: 10, fps_processed: 10, fps_skipped: 0, width: 640, height: 360 },
};
const heartbeat = { app: 'omnisight', version: '1.2.0', uptime_s: 314, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 17.9, mem_bytes: 31457280, model: 'ssd_mobilenet_v2' };
const noSecrets: SecretStore = { protection: 'file-key', get: () => undefined, set: () => {}, delete: () => {} };

describe('camera message parsing', () => {
  const at = (topic: string, payload: string | Buffer): CameraMessage | BadMessage => parseCameraMessage(topic, Buffer.from(payload), 1);
  it('accepts the documented envelope and bodies', () => {
    const d = at(`axis/${SERIAL}/omnisight/detections`, envelope('detections', detections));
    expect(d).toMatchObject({ kind: 'detections', serial: SERIAL, body: { frame: { timestamp: 1795222210400 } } });
    expect(at(`axis/${SERIAL}/omnisight/heartbeat`, envelope('heartbeat', heartbeat))).toMatchObject({ kind: 'heartbeat' });
  });
  it('names what is wrong with each kind of bad input', () => {
    const t = `axis/${SERIAL}/omnisight/detections`;
    expect(at(t, Buffer.alloc(70 * 1024, 0x20))).toMatchObject({ reason: 'oversized' });
    expect(at(t, '{not json')).toMatchObject({ reason: 'json' });
    expect(at(t, envelope('detections', detections, { sig: 'short' }))).toMatchObject({ reason: 'envelope' });
    expect(at(t, envelope('detections', detections, { camera: 'AAAAAAAAAAAA' }))).toMatchObject({ reason: 'mismatch' });
    expect(at(t, envelope('heartbeat', heartbeat))).toMatchObject({ reason: 'mismatch' });
    const flipped = structuredClone(detections);
    flipped.frame.observations[0]!.bounding_box.left = 0.9;
    expect(at(t, envelope('detections', flipped))).toMatchObject({ reason: 'body', message: expect.stringMatching(/left < right/) });
    expect(at(t, JSON.stringify({ v: 2, camera: SERIAL, epoch: 1, seq: 1, sent: 1, kind: 'detections', key: '0123456789abcdef', body: '{oops', sig }))).toMatchObject({ reason: 'json' });
    expect(at('axis/x/other', '{}')).toMatchObject({ reason: 'topic' });
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function exercise(url: string, config: () => { mode: 'embedded' | 'external'; url: string; username: string }): Promise<void> {
  const good: CameraMessage[] = [];
  const bad: BadMessage[] = [];
  const svc = createMqttService({ config, secrets: noSecrets, log: silentLogger(), onMessage: (m) => good.push(m), onBad: (b) => bad.push(b) });
  await svc.start();
  const pub = await mqtt.connectAsync(svc.endpoint()!.host ? `mqtt://${svc.endpoint()!.host}:${svc.endpoint()!.port}` : url);
  try {
    await pub.publishAsync(`axis/${SERIAL}/omnisight/detections`, envelope('detections', detections));
    await pub.publishAsync(`axis/${SERIAL}/omnisight/heartbeat`, envelope('heartbeat', heartbeat), { qos: 1 });
    await pub.publishAsync(`axis/${SERIAL}/omnisight/heartbeat`, 'garbage');
    await pub.publishAsync(`axis/${SERIAL}/omnisight/detections`, Buffer.alloc(65 * 1024, 0x41));
    const end = Date.now() + 3000;
    while ((good.length < 2 || bad.length < 2) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(good.map((g) => g.kind).sort()).toEqual(['detections', 'heartbeat']);
    expect(bad.map((b) => b.reason).sort()).toEqual(['json', 'oversized']);
    expect(svc.counts()).toEqual({ handled: 2, bad: 2 });
  } finally {
    await pub.endAsync();
    await svc.close();
  }
}

describe('MQTT ingest over real brokers', () => {
  let mosquitto: ChildProcess | undefined;
  let mosquittoPort = 0;
  let dir = '';
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omni-mosq-'));
    mosquittoPort = await freePort();
    fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${mosquittoPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    const end = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(mosquittoPort, '127.0.0.1', () => (s.end(), r(true)));
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > end) throw new Error('mosquitto did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(() => {
    mosquitto?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('validates payloads arriving through mosquitto (external mode)', async () => {
    const url = `mqtt://127.0.0.1:${mosquittoPort}`;
    await exercise(url, () => ({ mode: 'external', url, username: '' }));
  });

  it('validates payloads arriving through the embedded aedes broker', async () => {
    await exercise('', () => ({ mode: 'embedded', url: '', username: '' }));
  });

  it('binds the embedded broker to loopback only', async () => {
    const b: EmbeddedBroker = await startEmbeddedBroker();
    try {
      expect(b.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await b.close();
    }
  });
});
