import { describe, expect, it } from 'vitest';
import { sealEnvelope, simKey } from './sim/keys';
import { createVerifier, ReplayWindow, type RecordedKey } from './verify';

const CAM = 'B8A44F7D507D';
const OTHER = 'B8A44F000002';
const T0 = 1_795_222_210_000;
const key = simKey('verify-test');
const body = JSON.stringify({
  frame: { timestamp: T0, observations: [{ bounding_box: { left: 0.4, top: 0.2, right: 0.5, bottom: 0.6 }, class: { type: 'Human', score: 0.9 }, track_id: '1', timestamp: T0 }] },
  stats: { inference_ms: 18, fps_camera: 10, fps_processed: 10, fps_skipped: 0 },
});
const msg = (seq: number, over: Partial<{ sent: number; key: string; body: string; camera: string }> = {}, signer = key) =>
  sealEnvelope({ camera: over.camera ?? CAM, seq, sent: over.sent ?? T0, kind: 'detections', key: over.key ?? 'k1', body: over.body ?? body }, signer.privateKey);

function setup(mode: 'strict' | 'permissive' | 'audit' = 'strict') {
  const keys = new Map<string, RecordedKey>([[CAM, { keyId: 'k1', publicKey: key.publicKey }]]);
  const audited: { kind: string; detail?: Record<string, unknown> }[] = [];
  const v = createVerifier({ keys: { get: (id) => keys.get(id) }, audit: { record: (e) => audited.push(e) }, mode });
  return { v, keys, audited };
}

describe('replay window', () => {
  it('accepts each number once, out of order inside the window, and refuses what fell behind', () => {
    const w = new ReplayWindow(64);
    for (const s of [1, 3, 2, 10]) {
      expect(w.fresh(s)).toBe(true);
      w.accept(s);
    }
    expect(w.fresh(3)).toBe(false);
    expect(w.fresh(5)).toBe(true);
    w.accept(100);
    expect(w.fresh(36)).toBe(false); // 100 − 64: out of the window
    expect(w.fresh(37)).toBe(true);
    expect(w.fresh(100)).toBe(false);
    w.accept(1_000); // a jump larger than the window clears it
    expect(w.fresh(999)).toBe(true);
  });
});

describe('report verification', () => {
  it('accepts a correctly signed report and parses its body', () => {
    const { v } = setup();
    const r = v.verify(msg(1), T0 + 50, `axis/${CAM}/omnisight/detections`);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.message.data.kind === 'detections' && r.message.data.body.frame.observations[0]!.class.type).toBe('Human');
  });

  it('refuses each failure for its own reason and counts and audits it', () => {
    const { v, audited } = setup();
    expect(v.verify(msg(1), T0, `axis/${CAM}/omnisight/detections`).ok).toBe(true);
    const cases: [string | Buffer, string, string?][] = [
      [msg(1), 'replay'],
      [msg(2, { sent: T0 + 6_000 }), 'clock_skew'],
      [msg(3, {}, simKey('someone-else')), 'bad_signature'],
      [msg(4, { key: 'k2' }), 'wrong_key'],
      [msg(5, { camera: OTHER }), 'unknown_camera'],
      [msg(6), 'topic_mismatch', `axis/${OTHER}/omnisight/detections`],
      ['{"v":1', 'malformed'],
      [JSON.stringify({ v: 1, camera: CAM, extra: 1 }), 'malformed'],
      ['x'.repeat(70_000), 'too_large'],
      [msg(7, { body: '{"frame":{}}' }), 'bad_body'],
    ];
    for (const [payload, reason, topic] of cases) {
      const r = v.verify(payload, T0, topic);
      expect(r.ok ? 'accepted' : r.reason, reason).toBe(reason);
    }
    const c = v.counts();
    expect(c.byReason.replay).toBe(1);
    expect(c.byReason.malformed).toBe(2);
    expect(c.byCamera[CAM]!.bad_signature).toBe(1);
    expect(audited.filter((a) => a.kind === 'swarm.rejected')).toHaveLength(cases.length);
  });

  it('a forged message does not burn the sequence numbers it names', () => {
    const { v } = setup();
    expect(v.verify(msg(5, {}, simKey('forger')), T0).ok).toBe(false);
    expect(v.verify(msg(5), T0).ok).toBe(true);
  });

  it('a new recorded key restarts the window (seq starts again at 1 after provisioning)', () => {
    const { v, keys } = setup();
    expect(v.verify(msg(1), T0).ok).toBe(true);
    const k2 = simKey('verify-test-2');
    keys.set(CAM, { keyId: 'k2', publicKey: k2.publicKey });
    expect(v.verify(msg(1), T0).ok).toBe(false); // old key no longer accepted
    expect(v.verify(msg(1, { key: 'k2' }, k2), T0).ok).toBe(true);
  });

  it('permissive accepts and flags; audit accepts without flags; both record', () => {
    for (const mode of ['permissive', 'audit'] as const) {
      const { v, audited } = setup(mode);
      const r = v.verify(msg(1, {}, simKey('forger')), T0);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.message.flags).toEqual(mode === 'permissive' ? ['bad_signature'] : []);
      expect(audited).toHaveLength(1);
      // Garbage is refused in every mode: there is nothing to flag.
      expect(v.verify('nope', T0).ok).toBe(false);
    }
  });
});
