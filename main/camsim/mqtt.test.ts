import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { curl, freePort, MjpegReader, sleep } from './testkit';

interface Received {
  topic: string;
  env: { v: number; camera: string; epoch: number; seq: number; sent: number; kind: string; key: string; body: string; sig: string };
  at: number;
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

describe('MQTT against Debian mosquitto', () => {
  let broker: ChildProcess;
  let port: number;
  let dir: string;
  let fleet: SimFleet;
  let cam: SimCameraInfo;
  let sub: MqttClient;
  const got: Received[] = [];
  const api = async (method: string, params?: unknown): Promise<{ data?: Record<string, unknown>; error?: { code: number } }> =>
    JSON.parse((await curl(`${cam.url}/axis-cgi/mqtt/client.cgi`, { user: cam.username, pass: cam.password, data: JSON.stringify({ apiVersion: '1.0', context: 't', method, ...(params ? { params } : {}) }) })).body.toString());

  beforeAll(async () => {
    port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camsim-mqtt-'));
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    broker = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
    await waitForPort(port, 5000);
    fleet = await startSimulatedFleet({ cameras: 2, seed: 21, broker: `mqtt://127.0.0.1:${port}` });
    cam = fleet.cameras[0]!;
    sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    await sub.subscribeAsync('axis/+/omnisight/#', { qos: 1 });
    sub.on('message', (topic, payload) => got.push({ topic, env: JSON.parse(payload.toString()), at: Date.now() }));
  });
  afterAll(async () => {
    await sub?.endAsync();
    await fleet?.stop();
    broker?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stays quiet until activated, then publishes signed detections and heartbeats', async () => {
    await sleep(300);
    expect(got).toHaveLength(0);
    const status0 = await api('getClientStatus');
    expect(status0.data).toMatchObject({ status: { state: 'inactive' }, config: { server: { host: '127.0.0.1', port } } });
    expect((await api('configureClient', { server: { protocol: 'tcp', host: '127.0.0.1', port }, clientId: `sim-${cam.serial}` })).error).toBeUndefined();
    expect((await api('configureClient', { server: { protocol: 'tcp', host: '10.0.0.1', port } })).error?.code).toBe(2104);
    const ev = await curl(`${cam.url}/axis-cgi/mqtt/event.cgi`, { user: cam.username, pass: cam.password, data: JSON.stringify({ apiVersion: '1.0', method: 'configureEventPublication', params: { eventFilterList: [] } }) });
    expect(JSON.parse(ev.body.toString()).error).toBeUndefined();
    expect((await api('activateClient')).error).toBeUndefined();

    const viewer = cam.users!.find((u) => u.role === 'viewer')!;
    const identity = JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, { user: viewer.username, pass: viewer.password })).body.toString());
    const reader = new MjpegReader(`${cam.url}/axis-cgi/mjpg/video.cgi?resolution=320x180&fps=10`, viewer.username, viewer.password);
    await sleep(2600);
    reader.stop();
    expect((await api('getClientStatus')).data).toMatchObject({ status: { state: 'active', connectionStatus: 'connected' } });

    const mine = got.filter((m) => m.env.camera === cam.serial);
    expect(got.every((m) => m.env.camera === cam.serial)).toBe(true); // the other camera was never activated
    const dets = mine.filter((m) => m.env.kind === 'detections');
    const beats = mine.filter((m) => m.env.kind === 'heartbeat');
    expect(dets.length).toBeGreaterThanOrEqual(15);
    expect(beats.length).toBeGreaterThanOrEqual(2);

    const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(identity.publicKey, 'base64')]), format: 'der', type: 'spki' });
    for (const m of mine) {
      expect(m.topic).toBe(`axis/${cam.serial}/omnisight/${m.env.kind}`);
      expect(m.env.v).toBe(2);
      expect(m.env.key).toBe(identity.key);
      expect(m.env.epoch).toBe(identity.epoch);
      const input = `omnisight.v2\n${m.env.camera}\n${m.env.epoch}\n${m.env.seq}\n${m.env.sent}\n${m.env.kind}\n${m.env.key}\n${m.env.body}`;
      expect(verify(null, Buffer.from(input, 'utf8'), pub, Buffer.from(m.env.sig, 'base64'))).toBe(true);
    }
    // A tampered body fails.
    const t = dets[0]!.env;
    expect(verify(null, Buffer.from(`omnisight.v2\n${t.camera}\n${t.epoch}\n${t.seq}\n${t.sent}\n${t.kind}\n${t.key}\n${t.body} `), pub, Buffer.from(t.sig, 'base64'))).toBe(false);

    const seqs = mine.map((m) => m.env.seq).sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    seqs.forEach((s, i) => expect(s).toBe(i + 1));
    for (const list of [dets, beats]) for (let i = 1; i < list.length; i++) expect(list[i]!.env.seq).toBeGreaterThan(list[i - 1]!.env.seq);

    const body = JSON.parse(dets.at(-1)!.env.body);
    expect(body.stats).toMatchObject({ fps_camera: 10, width: 640, height: 360 });
    expect(body.stats.inference_ms).toBeGreaterThan(10);
    expect(body.stats.inference_ms).toBeLessThan(40);
    const hb = JSON.parse(beats.at(-1)!.env.body);
    expect(hb).toMatchObject({ app: 'omnisight', version: '1.2.0', model: { name: 'omnisight.head.confirm.v1', version: 0 }, detector: 'ssd_mobilenet_v2', fps_camera: 10 });
    expect(hb.fps_processed).toBeGreaterThanOrEqual(8);

    const frames = dets.map((m) => JSON.parse(m.env.body).frame as { timestamp: number; observations: { bounding_box: { left: number; top: number; right: number; bottom: number }; class: { type: string; score: number }; track_id: string; timestamp: number }[] });
    const all = frames.flatMap((f) => f.observations);
    expect(all.length).toBeGreaterThan(0);
    for (const o of all) {
      expect(o.bounding_box.left).toBeLessThan(o.bounding_box.right);
      expect(o.bounding_box.top).toBeLessThan(o.bounding_box.bottom);
      expect(o.bounding_box.left).toBeGreaterThanOrEqual(0);
      expect(o.bounding_box.bottom).toBeLessThanOrEqual(1);
      expect(['Human', 'Car', 'Truck', 'Bus', 'Bike', 'Animal', 'Other']).toContain(o.class.type);
      expect(o.track_id).toMatch(/^\d+$/);
    }
    // Boxes belong to frames the viewer actually received: the capture times coincide.
    const streamed = new Set(reader.parts.map((p) => Number(p.headers['x-frame-timestamp'])));
    expect(frames.filter((f) => streamed.has(f.timestamp)).length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.timestamp - frames[i - 1]!.timestamp).toBeGreaterThanOrEqual(99);
  });

  it('drops MQTT on the fault switch and comes back when it is cleared', async () => {
    fleet.faults(cam.id).dropMqtt(true);
    await sleep(200);
    const before = got.length;
    await sleep(700);
    expect(got.length).toBe(before);
    expect((await api('getClientStatus')).data).toMatchObject({ status: { state: 'active', connectionStatus: 'disconnected' } });
    fleet.faults(cam.id).dropMqtt(false);
    await sleep(900);
    expect(got.length).toBeGreaterThan(before + 3);
    const seqs = got.map((m) => m.env.seq);
    expect(new Set(seqs).size).toBe(seqs.length); // no sequence number reused
  });

  it('goes away on crash and reconnects after restart with the same key', async () => {
    await fleet.faults(cam.id).crash();
    await sleep(200);
    const before = got.length;
    await sleep(500);
    expect(got.length).toBe(before);
    await fleet.faults(cam.id).restart();
    await sleep(900);
    const after = got.slice(before);
    expect(after.length).toBeGreaterThan(3);
    expect(after.every((m) => m.env.key === got[0]!.env.key)).toBe(true);
  });

  it('stops publishing on deactivateClient', async () => {
    expect((await api('deactivateClient')).error).toBeUndefined();
    await sleep(200);
    const before = got.length;
    await sleep(600);
    expect(got.length).toBe(before);
    expect((await api('getClientStatus')).data).toMatchObject({ status: { state: 'inactive', connectionStatus: 'disconnected' } });
  });
});
