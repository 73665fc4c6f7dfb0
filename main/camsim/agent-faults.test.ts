import { describe, expect, it, vi } from 'vitest';
import { conflictingTwin, createAgent } from './agent';
import type { Detector } from './detector';
import type { SceneEngine } from './scene';

const sceneStub = { timeOfTick: (k: number) => 1_000 + k * 33, tickAt: () => 0, snapshot: () => [] } as unknown as SceneEngine;
const detector: Detector = { sampleInferenceMs: () => 20, detect: (_a, ts) => ({ timestamp: ts, observations: [], operations: [] }) };

describe('agent faults', () => {
  it('lie() adds a confident detection of an object that is not in the scene', () => {
    const a = createAgent({ serial: 'ACCC8E000001', now: () => 1_000, scene: sceneStub, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10, publish: () => true, phantomBox: () => ({ left: 0.1, top: 0.2, right: 0.2, bottom: 0.5 }) });
    const honest = a.processFrame(0);
    expect(!honest.skipped && JSON.parse(honest.payload).frame.observations).toEqual([]);
    a.setLie(true);
    const lie = a.processFrame(3);
    if (lie.skipped) throw new Error('frame skipped');
    const obs = JSON.parse(lie.payload).frame.observations;
    expect(obs).toHaveLength(1);
    expect(obs[0].class.score).toBeGreaterThan(0.9);
    expect(obs[0].bounding_box).toEqual({ left: 0.1, top: 0.2, right: 0.2, bottom: 0.5 });
    a.close();
  });

  it('conflictingTwin keeps the track and frame but changes class and place', () => {
    const body = JSON.stringify({ frame: { timestamp: 5, observations: [{ bounding_box: { left: 0.1, top: 0.2, right: 0.2, bottom: 0.5 }, class: { type: 'Human', score: 0.9 }, track_id: '3', timestamp: 5 }], operations: [] }, stats: {} });
    const twin = JSON.parse(conflictingTwin(body)!);
    const o = twin.frame.observations[0];
    expect(o.track_id).toBe('3');
    expect(o.timestamp).toBe(5);
    expect(o.class.type).toBe('Car');
    expect(Math.abs(o.bounding_box.left - 0.1)).toBeGreaterThan(0.3);
    expect(o.bounding_box.right - o.bounding_box.left).toBeCloseTo(0.1, 9);
    expect(conflictingTwin(JSON.stringify({ frame: { observations: [] } }))).toBeUndefined();
  });
});

describe('agent frame clock', () => {
  it('never processes one sensor frame twice when floating point puts a timer just before its tick', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      // Ticks of 1000/30 ms: at t = 100 ms, t / (1000/30) is 2.9999999999999996 in floating point,
      // so the timer for tick 3 fires while tickAt still says 2.
      const now = (): number => Date.now();
      const period = 1000 / 30;
      const scene = { timeOfTick: (k: number) => k * period, tickAt: (t: number) => Math.floor(t / period), snapshot: () => [] } as unknown as SceneEngine;
      const published: string[] = [];
      const a = createAgent({ serial: 'ACCC8E000002', now, scene, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10, publish: (_t, p) => (published.push(p), true) });
      a.setRunning(true);
      vi.advanceTimersByTime(3_000);
      const s = a.stats();
      expect(s.fps_skipped).toBe(0);
      expect(s.fps_processed).toBeGreaterThanOrEqual(9);
      a.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('publishes a frame whose inference time has passed in the same turn it is taken, not a timer later', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      let clock = 0;
      // A 30 fps sensor, every third frame processed (10 fps): frames at 100 and 200 ms.
      const scene = { timeOfTick: (k: number) => (k * 100) / 3, tickAt: (t: number) => Math.floor((t * 3) / 100 + 1e-9), snapshot: () => [] } as unknown as SceneEngine;
      const kinds: string[] = [];
      const a = createAgent({ serial: 'ACCC8E000003', now: () => clock, scene, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10, publish: (t) => (kinds.push(t.split('/').pop()!), true) });
      a.boot();
      a.setRunning(true);
      kinds.length = 0;
      // The host was busy: the camera's clock is 250 ms on when its frame timer fires. Frames 1 and 2
      // (at 100 and 200 ms, 20 ms of inference each) are long done; they go out while it runs.
      clock = 250;
      vi.advanceTimersToNextTimer();
      expect(kinds.filter((k) => k === 'detections')).toHaveLength(2);
      a.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
