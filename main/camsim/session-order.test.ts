// The agent's v3 switch waits for the broker: reports stay v2-signed until the session announcement
// is acknowledged (PUBACK), because MQTT does not order a QoS 0 report on one topic after a QoS 1
// announcement on another (docs/protocol.md, "Envelope v3").
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAgent } from './agent';
import type { Detector } from './detector';
import type { SceneEngine } from './scene';
import { DESKTOP_SESSION_KEY_TOPIC, sessionNoticeTopic } from './session-v3';

const scene = { timeOfTick: (k: number) => k * 100, tickAt: (t: number) => Math.floor(t / 100), snapshot: () => [] } as unknown as SceneEngine;
const detector: Detector = { sampleInferenceMs: () => 20, detect: (_a, ts) => ({ timestamp: ts, observations: [], operations: [] }) };

function desktopKey(): Buffer {
  const raw = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return Buffer.from(JSON.stringify({ v: 1, key: raw.toString('base64'), id: createHash('sha256').update(raw).digest('hex').slice(0, 16) }));
}
const idOf = (key: Buffer): string => (JSON.parse(key.toString()) as { id: string }).id;

interface Sent {
  topic: string;
  env: { v: number; kind: string; session?: number; body: string };
  qos: 0 | 1;
  ack?: (err?: Error) => void;
}

describe('agent: v3 only after the broker acknowledged the session announcement', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const start = () => {
    const sent: Sent[] = [];
    const agent = createAgent({
      serial: 'ACCC8E0000C1', now: () => Date.now(), scene, detector, model: 'ssd_mobilenet_v2', fpsCamera: 10,
      publish: (topic, payload, qos, ack) => (sent.push({ topic, env: JSON.parse(payload) as Sent['env'], qos, ...(ack ? { ack } : {}) }), true),
    });
    agent.boot();
    agent.setRunning(true);
    const reports = (since: number) => sent.slice(since).filter((s) => s.env.kind === 'detections' || s.env.kind === 'heartbeat');
    const sessions = () => sent.filter((s) => s.env.kind === 'session');
    return { agent, sent, reports, sessions };
  };

  it('keeps sending v2 reports until the PUBACK, then v3 under that session', () => {
    const { agent, sent, reports, sessions } = start();
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, desktopKey());
    expect(sessions()).toHaveLength(1);
    const ann = sessions()[0]!;
    expect(ann).toMatchObject({ topic: 'axis/ACCC8E0000C1/omnisight/session', qos: 1, env: { v: 2 } });
    expect(ann.ack).toBeTypeOf('function');
    vi.advanceTimersByTime(2_000);
    expect(reports(0).length).toBeGreaterThan(5);
    expect(reports(0).every((r) => r.env.v === 2)).toBe(true);
    // The connection closed before the PUBACK: still v2.
    ann.ack!(new Error('connection closed'));
    vi.advanceTimersByTime(1_000);
    expect(reports(0).every((r) => r.env.v === 2)).toBe(true);
    // The repetition is acknowledged: v3 from the next report on.
    vi.advanceTimersByTime(30_000);
    const again = sessions()[1]!;
    expect(JSON.parse(again.env.body)).toEqual(JSON.parse(ann.env.body));
    const at = sent.length;
    again.ack!();
    vi.advanceTimersByTime(1_000);
    expect(reports(at).length).toBeGreaterThan(3);
    expect(reports(at).every((r) => r.env.v === 3 && r.env.session === 1)).toBe(true);
    agent.close();
  });

  it('a late PUBACK of an earlier session does not switch a newer one to v3', () => {
    const { agent, sent, reports, sessions } = start();
    const key = desktopKey();
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, key);
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, key); // the desktop restarted: session 2
    expect(sessions().map((s) => (JSON.parse(s.env.body) as { session: number }).session)).toEqual([1, 2]);
    let at = sent.length;
    sessions()[0]!.ack!();
    vi.advanceTimersByTime(1_500);
    expect(reports(at).length).toBeGreaterThan(3);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    at = sent.length;
    sessions()[1]!.ack!();
    vi.advanceTimersByTime(1_500);
    expect(reports(at).every((r) => r.env.v === 3 && r.env.session === 2)).toBe(true);
    // An app restart (setRunning off/on) opens a new session: v2 again until it is acknowledged.
    agent.setRunning(false);
    agent.setRunning(true);
    at = sent.length;
    vi.advanceTimersByTime(1_500);
    expect(reports(at).length).toBeGreaterThan(3);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    agent.close();
  });

  it('a new connection (another broker, maybe another desktop): no session with the key kept from before it, v2 until this connection delivers a key and acknowledges its session', () => {
    const { agent, sent, reports, sessions } = start();
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, desktopKey());
    sessions()[0]!.ack!();
    vi.advanceTimersByTime(1_000);
    expect(reports(0).some((r) => r.env.v === 3)).toBe(true);
    // The camera's client reconnects (as camera.ts reports it): the app stops and starts on the new connection.
    agent.setRunning(false);
    agent.connected();
    agent.setRunning(true);
    let at = sent.length;
    vi.advanceTimersByTime(1_500);
    expect(sessions()).toHaveLength(1); // nothing announced for the old desktop's key
    expect(reports(at).length).toBeGreaterThan(3);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, desktopKey()); // this broker's retained key
    expect(sessions()).toHaveLength(2);
    sessions()[1]!.ack!();
    at = sent.length;
    vi.advanceTimersByTime(1_000);
    expect(reports(at).every((r) => r.env.v === 3 && r.env.session === 2)).toBe(true);
    agent.close();
  });

  it('the retained key cleared (the desktop left): v2 at once, and no session until a key comes back', () => {
    const { agent, sent, reports, sessions } = start();
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, desktopKey());
    sessions()[0]!.ack!();
    vi.advanceTimersByTime(1_000);
    expect(reports(0).some((r) => r.env.v === 3)).toBe(true);
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, Buffer.alloc(0));
    let at = sent.length;
    vi.advanceTimersByTime(31_000); // no repetition of the old session either
    expect(reports(at).length).toBeGreaterThan(30);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    expect(sessions()).toHaveLength(1);
    // An app restart on the same connection does not bring back the cleared key.
    agent.setRunning(false);
    agent.setRunning(true);
    vi.advanceTimersByTime(1_000);
    expect(sessions()).toHaveLength(1);
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, desktopKey());
    sessions()[1]!.ack!();
    at = sent.length;
    vi.advanceTimersByTime(1_000);
    expect(reports(at).every((r) => r.env.v === 3 && r.env.session === 2)).toBe(true);
    agent.close();
  });

  it("the desktop's notice of an unknown session: a new session (v2 until acknowledged) for the same desktop, none for another, nothing for a session no longer in use", () => {
    const { agent, sent, reports, sessions } = start();
    const identity = agent.identity();
    const key = desktopKey();
    agent.deliver(DESKTOP_SESSION_KEY_TOPIC, key);
    sessions()[0]!.ack!();
    vi.advanceTimersByTime(1_000);
    const notice = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ v: 1, key: identity.key, epoch: identity.epoch, session: 1, desktopKey: idOf(key), ...o }));
    const topic = sessionNoticeTopic('ACCC8E0000C1');
    agent.deliver(topic, notice({ session: 7 })); // not ours
    agent.deliver(topic, notice({ epoch: identity.epoch + 1 }));
    agent.deliver(topic, notice({ extra: 1 })); // unknown field
    expect(sessions()).toHaveLength(1);
    agent.deliver(topic, notice({}));
    expect(sessions()).toHaveLength(2);
    expect(JSON.parse(sessions()[1]!.env.body)).toMatchObject({ session: 2, desktopKey: idOf(key) });
    let at = sent.length;
    vi.advanceTimersByTime(1_000);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    agent.deliver(topic, notice({})); // late, about session 1: nothing
    expect(sessions()).toHaveLength(2);
    sessions()[1]!.ack!();
    at = sent.length;
    vi.advanceTimersByTime(1_000);
    expect(reports(at).every((r) => r.env.v === 3 && r.env.session === 2)).toBe(true);
    // A desktop with another key does not know our key: v2 until its key arrives.
    agent.deliver(topic, notice({ session: 2, desktopKey: '0123456789abcdef' }));
    at = sent.length;
    vi.advanceTimersByTime(31_000);
    expect(reports(at).every((r) => r.env.v === 2)).toBe(true);
    expect(sessions()).toHaveLength(2);
    agent.close();
  });
});
