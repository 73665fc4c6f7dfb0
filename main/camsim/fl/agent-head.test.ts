import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createAgent } from '../agent';
import type { DetectionFrame, Detector, Observation } from '../detector';
import { startSimulatedFleet } from '../fleet';
import type { SceneEngine } from '../scene';
import { curl } from '../testkit';
import type { SimFleet } from '../types';
import { f32ToB64 } from './crypto';
import { builtinHead, CLASSES, FEATURES } from './head';
import { saveHead } from './model-files';

const box = (left: number, top: number, w: number, h: number): Observation['bounding_box'] => ({ left, top, right: left + w, bottom: top + h });
// Two detections per frame: a person (real) and an "animal" in the foliage (a false positive).
const person: Observation = { bounding_box: box(0.4, 0.4, 0.05, 0.2), class: { type: 'Human', score: 0.8 }, track_id: '1', timestamp: 0 };
const leaves: Observation = { bounding_box: box(0.1, 0.1, 0.05, 0.05), class: { type: 'Animal', score: 0.8 }, track_id: '2', timestamp: 0 };
const detector: Detector = {
  sampleInferenceMs: () => 10,
  detect: (_a, ts): DetectionFrame => ({ timestamp: ts, observations: [person, leaves].map((o) => ({ ...o, timestamp: ts })), operations: [] }),
  lastTruth: () => [true, false],
};
const scene = { timeOfTick: (k: number) => (k * 1000) / 30, tickAt: (t: number) => Math.floor((t * 30) / 1000), snapshot: () => [] } as unknown as SceneEngine;

/** A head that has learned "animals are never confirmed": v0 plus a large negative weight on Animal. */
const learned = (version: number) => {
  const params = builtinHead().params.slice();
  params[6 + CLASSES.indexOf('Animal')] = -10;
  return { ...builtinHead(), version, params, source: 'package' as const, round: 3 };
};

describe('the head in use on the simulated camera', () => {
  it('loads the highest model/head-vN from its package at start, drops detections below dropBelow, reports it, and labels what it published', () => {
    vi.useFakeTimers({ now: 1_795_000_000_000 });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-agent-'));
    try {
      const localData = path.join(root, 'omnisight', 'localdata');
      saveHead(path.join(root, 'omnisight', 'model'), learned(2));
      const sent: { topic: string; env: { epoch: number; seq: number; kind: string; body: string } }[] = [];
      const agent = createAgent({ serial: 'ACCC8E0000A1', now: () => Date.now(), scene, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10, localData, publish: (topic, payload) => (sent.push({ topic, env: JSON.parse(payload) }), true) });
      agent.boot();
      agent.setRunning(true);
      vi.advanceTimersByTime(2500);
      const dets = sent.filter((m) => m.env.kind === 'detections');
      expect(dets.length).toBeGreaterThan(10);
      for (const d of dets) expect(JSON.parse(d.env.body).frame.observations.map((o: Observation) => o.class.type)).toEqual(['Human']);
      const live = agent.liveCounts();
      expect(live).toMatchObject({ publishedFalse: 0, droppedFalse: live.dropped });
      expect(live.dropped).toBeGreaterThanOrEqual(dets.length);
      const hb = JSON.parse(sent.filter((m) => m.env.kind === 'heartbeat').at(-1)!.env.body);
      expect(hb.model).toEqual({ name: 'omnisight.head.confirm.v1', version: 2 });
      expect(agent.identity().model).toMatchObject({ version: 2, source: 'package', dropBelow: 0.05 });

      // The desktop's outcomes label the published detections (only those; index 0 of each message).
      const epoch = dets[0]!.env.epoch;
      const items = dets.map((d) => ({ seq: d.env.seq, index: 0, confirmed: true }));
      agent.deliver('omnisight/desktop/outcomes/ACCC8E0000A1', Buffer.from(JSON.stringify({ v: 1, epoch, items: [...items, { seq: dets[0]!.env.seq, index: 1, confirmed: false }] })));
      // Someone else's outcomes and malformed ones change nothing.
      agent.deliver('omnisight/desktop/outcomes/ACCC8E0000A1', Buffer.from('{"v":1,"epoch":1,"items":[{"seq":1,"index":0,"confirmed":true,"extra":1}]}'));
      vi.advanceTimersByTime(2100);
      const m = agent.model();
      expect(m.samples.labelled).toBe(dets.length);
      expect(m.samples.train + m.samples.heldOut).toBe(dets.length);
      agent.close();
      // Kept in the camera's own storage, read back at the next start.
      const again = createAgent({ serial: 'ACCC8E0000A1', now: () => Date.now(), scene, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10, localData, publish: () => true });
      again.boot();
      expect(again.model().samples.labelled).toBe(dets.length);
      again.close();
    } finally {
      vi.useRealTimers();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

async function eap(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mtime: new Date(0), mode: name === 'omnisight' ? 0o755 : 0o644 }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe('a deployed model reaches the built-in agent', () => {
  let fleet: SimFleet | undefined;
  afterAll(async () => {
    await fleet?.stop();
  });
  it('after upload.cgi and control.cgi start, identity.cgi names the head of the package', async () => {
    fleet = await startSimulatedFleet({ cameras: 1, seed: 9, apps: 'agent' });
    const cam = fleet.cameras[0]!;
    const auth = { user: cam.username, pass: cam.password };
    const identity = async () => JSON.parse((await curl(`${cam.url}/local/omnisight/identity.cgi`, auth)).body.toString()) as { model: { version: number; source: string } };
    expect((await identity()).model).toMatchObject({ version: 0, source: 'builtin' });
    const h = learned(5);
    const manifest = JSON.stringify({ schemaVersion: '1.7.0', acapPackageConf: { setup: { appName: 'omnisight', friendlyName: 'OmniSight', vendor: 'OmniSight', version: '1.3.0', runMode: 'respawn', architecture: 'aarch64' }, configuration: { reverseProxy: [{ apiPath: 'identity.cgi', target: 'http://localhost:2001/identity.cgi', access: 'viewer' }] } } });
    const pkg = await eap({
      'manifest.json': manifest,
      omnisight: '#!/bin/sh\n',
      'model/head-v5.bin': Buffer.from(f32ToB64(h.params), 'base64'),
      'model/head-v5.json': JSON.stringify({ name: h.name, version: 5, features: FEATURES, round: 3, dropBelow: 0.1 }),
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-eap-')), 'omnisight.eap');
    fs.writeFileSync(file, pkg);
    await curl(`${cam.url}/axis-cgi/applications/config.cgi?action=set&name=AllowUnsigned&value=true`, auth);
    expect((await curl(`${cam.url}/axis-cgi/applications/upload.cgi`, { ...auth, form: [`file=@${file}`] })).body.toString()).toBe('OK\n');
    expect((await curl(`${cam.url}/axis-cgi/applications/control.cgi?action=start&package=omnisight`, auth)).body.toString()).toBe('OK\n');
    expect((await identity()).model).toMatchObject({ version: 5, source: 'package', dropBelow: 0.1 });
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }, 30_000);
});
