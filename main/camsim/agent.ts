import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Detector, ModelName } from './detector';
import type { SceneEngine } from './scene';
import { SENSOR_FPS } from './scene';

/** The simulator's built-in OmniSight agent: signed detections and heartbeats per docs/protocol.md. */
export interface Agent {
  identity(): { camera: string; key: string; publicKey: string; version: string };
  /** Publish only while the app runs and MQTT is connected. */
  setRunning(on: boolean): void;
  running(): boolean;
  /** A redeploy provisions a new key; seq starts again at 1. */
  rotateKey(version: string): void;
  /** Decide for one sensor frame whether it is processed or skipped (exposed for tests). */
  processFrame(tick: number): { skipped: true } | { skipped: false; inferenceMs: number; payload: string };
  stats(): { fps_camera: number; fps_processed: number; fps_skipped: number; inference_ms: number };
  /** Fault: report, confidently, an object that is not there (a lying camera). */
  setLie(on: boolean): void;
  /** Fault: after each detections message, publish a second, conflicting signed one for the same track and frame. */
  setEquivocate(on: boolean): void;
  close(): void;
}

/** Observation shape the agent publishes (the detector's). */
type Obs = { bounding_box: { left: number; top: number; right: number; bottom: number }; class: { type: string; score: number }; track_id: string; timestamp: number };

/** The same frame, but its first object reported as another class somewhere else: a self-contradiction. */
export function conflictingTwin(body: string): string | undefined {
  const b = JSON.parse(body) as { frame: { observations: Obs[] } };
  const o = b.frame.observations[0];
  if (!o) return undefined;
  const bb = o.bounding_box;
  const w = bb.right - bb.left;
  const h = bb.bottom - bb.top;
  const left = bb.left > 0.5 ? Math.max(0, bb.left - 0.4) : Math.min(1 - w, bb.left + 0.4);
  const top = Math.min(1 - h, Math.max(0, bb.top));
  b.frame.observations[0] = { ...o, class: { ...o.class, type: o.class.type === 'Car' ? 'Human' : 'Car' }, bounding_box: { left, top, right: left + w, bottom: top + h } };
  return JSON.stringify(b);
}

export const APP_VERSION = '1.2.0';

/**
 * The camera's true ground calibration as image↔ground reference pairs (GET
 * /local/omnisight/calibration.cgi, docs/protocol.md): a 3×3 grid of image points in the lower
 * part of the frame, each mapped to the ground through the inverse of the true homography
 * (ground → normalised image). Points beyond the horizon or behind the camera are left out.
 */
export function calibrationPairs(groundToImage: readonly number[], maxRangeM: number, position: { x: number; y: number }): { image: { u: number; v: number }; ground: { x: number; y: number } }[] {
  const h = groundToImage;
  // Inverse by the adjugate (the scale does not matter for a homography).
  const inv = [
    h[4]! * h[8]! - h[5]! * h[7]!, h[2]! * h[7]! - h[1]! * h[8]!, h[1]! * h[5]! - h[2]! * h[4]!,
    h[5]! * h[6]! - h[3]! * h[8]!, h[0]! * h[8]! - h[2]! * h[6]!, h[2]! * h[3]! - h[0]! * h[5]!,
    h[3]! * h[7]! - h[4]! * h[6]!, h[1]! * h[6]! - h[0]! * h[7]!, h[0]! * h[4]! - h[1]! * h[3]!,
  ];
  const out: { image: { u: number; v: number }; ground: { x: number; y: number } }[] = [];
  for (const v of [0.55, 0.75, 0.95])
    for (const u of [0.1, 0.5, 0.9]) {
      const w = inv[6]! * u + inv[7]! * v + inv[8]!;
      if (Math.abs(w) < 1e-12) continue;
      const x = (inv[0]! * u + inv[1]! * v + inv[2]!) / w;
      const y = (inv[3]! * u + inv[4]! * v + inv[5]!) / w;
      // Check it maps forward to the same image point with a positive depth (in front of the camera).
      const wf = h[6]! * x + h[7]! * y + h[8]!;
      if (!(wf > 0) || Math.hypot(x - position.x, y - position.y) > 2 * maxRangeM) continue;
      const r6 = (n: number) => Math.round(n * 1e6) / 1e6;
      out.push({ image: { u, v }, ground: { x: r6(x), y: r6(y) } });
    }
  return out;
}
const MAX_PAYLOAD = 64 * 1024;

export function signingInput(camera: string, seq: number, sent: number, kind: string, key: string, body: string): string {
  return ['omnisight.v1', camera, String(seq), String(sent), kind, key, body].join('\n');
}

export function createAgent(deps: {
  serial: string;
  now: () => number;
  scene: SceneEngine;
  detector: Detector;
  model: ModelName;
  fpsCamera: number;
  publish: (topic: string, payload: string, qos: 0 | 1) => boolean;
  /** Where a lying camera claims a person stands (normalised box); absent = the image centre. */
  phantomBox?: () => { left: number; top: number; right: number; bottom: number };
}): Agent {
  const { serial, now, scene, detector } = deps;
  const stride = Math.max(1, Math.round(SENSOR_FPS / deps.fpsCamera));
  let keyNo = 1;
  let key: { id: string; priv: KeyObject; pubRaw: string } = newKey(keyNo);
  let seq = 0;
  let version = APP_VERSION;
  let started = now();
  let busyUntil = -Infinity;
  let lastInference = 0;
  const processedAt: number[] = [];
  const skippedAt: number[] = [];
  let frameTimer: NodeJS.Timeout | undefined;
  let beatTimer: NodeJS.Timeout | undefined;
  const pending = new Set<NodeJS.Timeout>();
  let on = false;
  let lying = false;
  let equivocating = false;

  function newKey(n: number): { id: string; priv: KeyObject; pubRaw: string } {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    return { id: `k${n}`, priv: privateKey, pubRaw: spki.subarray(spki.length - 32).toString('base64') };
  }

  const envelope = (kind: 'detections' | 'heartbeat', body: string): string => {
    const sent = now();
    const s = seq + 1;
    const sig = sign(null, Buffer.from(signingInput(serial, s, sent, kind, key.id, body), 'utf8'), key.priv).toString('base64');
    return JSON.stringify({ v: 1, camera: serial, seq: s, sent, kind, key: key.id, body, sig });
  };

  const send = (kind: 'detections' | 'heartbeat', body: string): void => {
    if (!on) return;
    const payload = envelope(kind, body);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) return;
    if (deps.publish(`axis/${serial}/omnisight/${kind}`, payload, kind === 'heartbeat' ? 1 : 0)) seq++;
  };

  const trim = (list: number[], t: number): number => {
    while (list.length && list[0]! <= t - 1000) list.shift();
    return list.length;
  };

  const stats = (): ReturnType<Agent['stats']> => {
    const t = now();
    // Rates over the last second, or over the time since start when that is shorter, so a camera
    // that just started does not report a fraction of its frame rate as if frames were lost.
    const window = Math.min(1000, Math.max(1, t - started));
    const rate = (n: number): number => Math.round((n * 1000) / Math.max(window, 1000 / deps.fpsCamera));
    return { fps_camera: deps.fpsCamera, fps_processed: Math.min(deps.fpsCamera, rate(trim(processedAt, t))), fps_skipped: rate(trim(skippedAt, t)), inference_ms: lastInference };
  };

  const processFrame: Agent['processFrame'] = (tick) => {
    const ts = scene.timeOfTick(tick);
    if (ts < busyUntil) {
      skippedAt.push(ts);
      return { skipped: true };
    }
    const inferenceMs = detector.sampleInferenceMs();
    busyUntil = ts + inferenceMs;
    lastInference = inferenceMs;
    processedAt.push(ts);
    const frame = detector.detect(scene.snapshot(tick), ts);
    if (lying)
      (frame.observations as Obs[]).push({ bounding_box: deps.phantomBox?.() ?? { left: 0.45, top: 0.4, right: 0.55, bottom: 0.7 }, class: { type: 'Human', score: 0.97 }, track_id: 'phantom-1', timestamp: ts });
    const s = stats();
    const body = JSON.stringify({ frame, stats: { ...s, width: 640, height: 360 } });
    return { skipped: false, inferenceMs, payload: body };
  };

  let lastTick = -1;
  const scheduleFrame = (): void => {
    if (!on) return;
    // A timer can fire a little before its tick by Date.now() (Node measures timeouts from the
    // event loop's cached clock), and tick arithmetic can round down; either way tickAt(now())
    // can still name the tick just processed, which would process it again and count a skip.
    // Never go back to a tick already taken.
    const k = Math.max(scene.tickAt(now()), lastTick);
    const next = (Math.floor(k / stride) + 1) * stride;
    lastTick = next;
    const delay = Math.max(2, scene.timeOfTick(next) - now());
    frameTimer = setTimeout(() => {
      const r = processFrame(next);
      if (!r.skipped) {
        // The result leaves when inference finishes.
        const t = setTimeout(() => {
          pending.delete(t);
          send('detections', r.payload);
          const twin = equivocating ? conflictingTwin(r.payload) : undefined;
          if (twin) send('detections', twin);
        }, r.inferenceMs);
        pending.add(t);
      }
      scheduleFrame();
    }, delay);
  };

  const beat = (): void => {
    const s = stats();
    send(
      'heartbeat',
      JSON.stringify({ app: 'omnisight', version, uptime_s: Math.floor((now() - started) / 1000), ...s, mem_bytes: 31_457_280 + Math.round(process.memoryUsage().heapUsed % 4_194_304), model: deps.model }),
    );
  };

  const stopTimers = (): void => {
    if (frameTimer) clearTimeout(frameTimer);
    if (beatTimer) clearInterval(beatTimer);
    for (const t of pending) clearTimeout(t);
    pending.clear();
    frameTimer = undefined;
    beatTimer = undefined;
  };

  return {
    identity: () => ({ camera: serial, key: key.id, publicKey: key.pubRaw, version }),
    setRunning(next) {
      if (next === on) return;
      on = next;
      stopTimers();
      if (on) {
        started = now();
        scheduleFrame();
        beat();
        beatTimer = setInterval(beat, 1000);
      }
    },
    running: () => on,
    rotateKey(v) {
      keyNo++;
      key = newKey(keyNo);
      seq = 0;
      version = v;
    },
    processFrame,
    stats,
    setLie: (v) => {
      lying = v;
    },
    setEquivocate: (v) => {
      equivocating = v;
    },
    close: () => {
      on = false;
      stopTimers();
    },
  };
}
