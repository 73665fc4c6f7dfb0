import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedFleet, type SimCameraInfo, type SimFleet } from './index';
import { comTimestamp, curl, freePort, MjpegReader, sleep } from './testkit';

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

/**
 * Waits for a condition on what arrived (no fixed sleep: a loaded machine only makes it take
 * longer); the deadline is only there to fail with a message instead of hanging.
 */
async function waitFor(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
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
    const kinds = (kind: string): Received[] => got.filter((m) => m.env.camera === cam.serial && m.env.kind === kind);
    const onStream = (): number => {
      const streamed = new Set(reader.parts.map((p) => comTimestamp(p.body)));
      return kinds('detections').filter((m) => streamed.has((JSON.parse(m.env.body) as { frame: { timestamp: number } }).frame.timestamp)).length;
    };
    // Two heartbeats after the first second: the last one's rates cover a full second of running.
    const firstAt = (): number => got[0]?.env.sent ?? Infinity;
    try {
      await waitFor('15 detections, 10 of them on streamed frames, and 2 heartbeats', () => kinds('detections').length >= 15 && onStream() >= 10 && kinds('heartbeat').filter((m) => m.env.sent >= firstAt() + 1000).length >= 2);
    } finally {
      reader.stop();
    }
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
    expect(onStream()).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.timestamp - frames[i - 1]!.timestamp).toBeGreaterThanOrEqual(99);
  });

  // A quiet period is checked by what the camera stamped: nothing may have been sent after the
  // moment it went quiet (messages already in flight then arrive late, and are allowed to).
  const sentAfter = (t: number): Received[] => got.filter((m) => m.env.sent > t);
  const quietPeriod = async (): Promise<void> => {
    // Long enough for a heartbeat (1 Hz) and ten frames, had the camera kept publishing.
    await sleep(1200);
  };

  it('drops MQTT on the fault switch and comes back when it is cleared', async () => {
    fleet.faults(cam.id).dropMqtt(true);
    // The client reports the drop (asked until it does).
    let status = await api('getClientStatus');
    for (const end = Date.now() + 10_000; (status.data as { status?: { connectionStatus?: string } }).status?.connectionStatus !== 'disconnected' && Date.now() < end; ) status = await api('getClientStatus');
    expect(status.data).toMatchObject({ status: { state: 'active', connectionStatus: 'disconnected' } });
    const quietFrom = Date.now();
    await quietPeriod();
    expect(sentAfter(quietFrom)).toEqual([]);
    fleet.faults(cam.id).dropMqtt(false);
    await waitFor('messages after the drop is cleared', () => sentAfter(quietFrom).length > 3);
    const seqs = got.map((m) => m.env.seq);
    expect(new Set(seqs).size).toBe(seqs.length); // no sequence number reused
  });

  it('goes away on crash and reconnects after restart with the same key', async () => {
    await fleet.faults(cam.id).crash();
    const quietFrom = Date.now();
    await quietPeriod();
    expect(sentAfter(quietFrom)).toEqual([]);
    await fleet.faults(cam.id).restart();
    await waitFor('messages after the restart', () => sentAfter(quietFrom).length > 3);
    expect(sentAfter(quietFrom).every((m) => m.env.key === got[0]!.env.key)).toBe(true);
  });

  it('stops publishing on deactivateClient', async () => {
    expect((await api('deactivateClient')).error).toBeUndefined();
    const quietFrom = Date.now();
    await quietPeriod();
    expect(sentAfter(quietFrom)).toEqual([]);
    expect((await api('getClientStatus')).data).toMatchObject({ status: { state: 'inactive', connectionStatus: 'disconnected' } });
  });
});
