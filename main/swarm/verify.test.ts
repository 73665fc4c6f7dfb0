import { describe, expect, it } from 'vitest';
import { sealEnvelope, simKey } from './sim/keys';
import { ReplayState } from './replay';
import { createVerifier, type RecordedKey, type ReplayStore } from './verify';
import type { ReplayEntry } from './replay';

const CAM = 'B8A44F7D507D';
const OTHER = 'B8A44F000002';
const T0 = 1_795_222_210_000;
const key = simKey('verify-test');
const body = JSON.stringify({
  frame: { timestamp: T0, observations: [{ bounding_box: { left: 0.4, top: 0.2, right: 0.5, bottom: 0.6 }, class: { type: 'Human', score: 0.9 }, track_id: '1', timestamp: T0 }] },
  stats: { inference_ms: 18, fps_camera: 10, fps_processed: 10, fps_skipped: 0 },
});
/** Forgers claim the camera's own key id, so a wrong signer shows as a bad signature. */
const msg = (seq: number, over: Partial<{ sent: number; key: string; body: string; camera: string; epoch: number }> = {}, signer = key) =>
  sealEnvelope({ camera: over.camera ?? CAM, epoch: over.epoch ?? 1, seq, sent: over.sent ?? T0, kind: 'detections', key: over.key ?? key.keyId, body: over.body ?? body }, signer.privateKey);

/** A replay store kept in memory, standing for SQLite (the service test covers the real one). */
function memoryStore(): ReplayStore & { rows: Map<string, ReplayEntry>; saves: number } {
  const rows = new Map<string, ReplayEntry>();
  const st = {
    rows,
    saves: 0,
    load: () => [...rows.values()].map((e) => ({ ...e })),
    save: (entries: readonly ReplayEntry[]) => {
      st.saves++;
      for (const e of entries) rows.set(`${e.camera}|${e.key}`, { ...e });
    },
  };
  return st;
}

function setup(mode: 'strict' | 'permissive' | 'audit' = 'strict', replayStore?: ReplayStore) {
  const keys = new Map<string, RecordedKey>([[CAM, { keyId: key.keyId, publicKey: key.publicKey }]]);
  const audited: { kind: string; detail?: Record<string, unknown> }[] = [];
  const v = createVerifier({ keys: { get: (id) => keys.get(id) }, audit: { record: (e) => audited.push(e) }, mode, replayStore });
  return { v, keys, audited };
}

describe('replay state (epoch, highest seq, 64-entry window)', () => {
  it('accepts each number once, out of order inside the window, and refuses what fell behind', () => {
    const w = new ReplayState();
    for (const s of [1, 3, 2, 10]) {
      expect(w.check(CAM, 'k', 1, s)).toBe('fresh');
      w.accept(CAM, 'k', 1, s);
    }
    expect(w.check(CAM, 'k', 1, 3)).toBe('duplicate');
    expect(w.check(CAM, 'k', 1, 5)).toBe('fresh');
    w.accept(CAM, 'k', 1, 100);
    expect(w.check(CAM, 'k', 1, 36)).toBe('behind'); // 100 − 64: out of the window
    expect(w.check(CAM, 'k', 1, 37)).toBe('fresh');
    expect(w.check(CAM, 'k', 1, 100)).toBe('duplicate');
    w.accept(CAM, 'k', 1, 1_000); // a jump larger than the window clears it
    expect(w.check(CAM, 'k', 1, 999)).toBe('fresh');
    expect(w.check(CAM, 'k', 1, 1_000)).toBe('duplicate');
  });

  it('a higher epoch opens a new window; a lower one is refused as an old epoch; keys are separate', () => {
    const w = new ReplayState();
    w.accept(CAM, 'k', 7, 500);
    expect(w.check(CAM, 'k', 8, 1)).toBe('fresh');
    w.accept(CAM, 'k', 8, 1);
    expect(w.get(CAM, 'k')).toMatchObject({ epoch: 8, highest: 1 });
    expect(w.check(CAM, 'k', 7, 501)).toBe('old_epoch');
    expect(w.check(CAM, 'k2', 1, 1)).toBe('fresh'); // another key: its own state
    expect(w.check(OTHER, 'k', 1, 1)).toBe('fresh');
  });

  it('survives a round trip through its entries with every bit of the window', () => {
    const w = new ReplayState();
    for (let s = 1; s <= 200; s += 3) w.accept(CAM, 'k', 2, s);
    const copy = new ReplayState(w.takeDirty());
    expect(w.takeDirty()).toEqual([]); // taken once
    for (let s = 100; s <= 210; s++) expect(copy.check(CAM, 'k', 2, s), `seq ${s}`).toBe(w.check(CAM, 'k', 2, s));
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
      [msg(4, { key: '0123456789abcdef' }), 'wrong_key'],
      [msg(5, { camera: OTHER }), 'unknown_camera'],
      [msg(6), 'topic_mismatch', `axis/${OTHER}/omnisight/detections`],
      ['{"v":2', 'malformed'],
      [JSON.stringify({ v: 2, camera: CAM, extra: 1 }), 'malformed'],
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

  it('a new recorded key has its own state: seq may start again at 1', () => {
    const { v, keys } = setup();
    expect(v.verify(msg(1), T0).ok).toBe(true);
    const k2 = simKey('verify-test-2');
    keys.set(CAM, { keyId: k2.keyId, publicKey: k2.publicKey });
    expect(v.verify(msg(2), T0).ok).toBe(false); // old key no longer accepted
    expect(v.verify(msg(1, { key: k2.keyId }, k2), T0).ok).toBe(true);
  });

  it('a restarted camera (next epoch, seq from 1) is accepted at once; the old epoch is refused as a replay', () => {
    const { v } = setup();
    for (let s = 1; s <= 5000; s += 1000) expect(v.verify(msg(s, { epoch: 3 }), T0).ok).toBe(true);
    expect(v.verify(msg(1, { epoch: 4 }), T0).ok).toBe(true);
    const old = v.verify(msg(4002, { epoch: 3 }), T0);
    expect(old.ok).toBe(false);
    if (!old.ok) expect([old.reason, old.label]).toEqual(['replay', 'replay (old epoch)']);
  });

  it('refuses a v1 envelope and a key id that is not 16 lower-case hex digits', () => {
    const { v } = setup();
    const v1 = JSON.parse(msg(1)) as Record<string, unknown>;
    v1.v = 1;
    delete v1.epoch;
    const r = v.verify(JSON.stringify(v1), T0);
    expect(!r.ok && r.detail).toMatch(/v1 is no longer accepted/);
    expect(v.verify(msg(2, { key: 'k1' }), T0).ok).toBe(false);
    expect(v.verify(msg(3, { epoch: 0 }), T0).ok).toBe(false);
    expect(v.verify(msg(3, { epoch: 2 ** 32 }), T0).ok).toBe(false);
  });

  it('persists its state on flush, and a verifier built from the store refuses what the first accepted', () => {
    const store = memoryStore();
    const first = setup('strict', store).v;
    expect(first.verify(msg(10, { epoch: 5 }), T0).ok).toBe(true);
    expect(first.verify(msg(11, { epoch: 5 }), T0).ok).toBe(true);
    expect(store.saves).toBe(0); // written on flush only
    first.flush();
    expect(store.saves).toBe(1);
    first.flush(); // nothing changed: nothing written
    expect(store.saves).toBe(1);
    const again = setup('strict', store).v; // the desktop restarted
    expect(again.verify(msg(11, { epoch: 5 }), T0).ok).toBe(false);
    expect(again.verify(msg(12, { epoch: 4 }), T0).ok).toBe(false);
    expect(again.verify(msg(12, { epoch: 5 }), T0).ok).toBe(true);
  });

  it('a failed write keeps the entries for the next flush', () => {
    const store = memoryStore();
    let fail = true;
    const flaky: ReplayStore = { load: store.load, save: (e) => (fail ? (() => { throw new Error('disk full'); })() : store.save(e)) };
    const { v } = setup('strict', flaky);
    expect(v.verify(msg(1), T0).ok).toBe(true);
    expect(() => v.flush()).toThrow('disk full');
    fail = false;
    v.flush();
    expect(store.rows.get(`${CAM}|${key.keyId}`)).toMatchObject({ epoch: 1, highest: 1 });
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
