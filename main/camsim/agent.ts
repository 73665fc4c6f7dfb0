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
  close(): void;
}

export const APP_VERSION = '1.2.0';
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
    return { fps_camera: deps.fpsCamera, fps_processed: trim(processedAt, t), fps_skipped: trim(skippedAt, t), inference_ms: lastInference };
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
    const s = stats();
    const body = JSON.stringify({ frame, stats: { ...s, width: 640, height: 360 } });
    return { skipped: false, inferenceMs, payload: body };
  };

  const scheduleFrame = (): void => {
    if (!on) return;
    const k = scene.tickAt(now());
    const next = (Math.floor(k / stride) + 1) * stride;
    const delay = Math.max(2, scene.timeOfTick(next) - now());
    frameTimer = setTimeout(() => {
      const r = processFrame(next);
      if (!r.skipped) {
        // The result leaves when inference finishes.
        const t = setTimeout(() => {
          pending.delete(t);
          send('detections', r.payload);
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
    close: () => {
      on = false;
      stopTimers();
    },
  };
}
