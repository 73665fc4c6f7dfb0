// Envelope v3 at the coordinator (docs/protocol.md, "Envelope v3"): sessions from signed v2
// announcements, HMAC'd reports, and every refusal the spec names. The camera side here is built
// from the spec's formulas (K by X25519 + HKDF, MAC by HMAC-SHA256); the simulator's own
// implementation is tested against this coordinator over real brokers in main/camsim/agent-v3.test.ts.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealEnvelope, simKey, type SimKey } from './sim/keys';
import { deriveSessionKey, desktopSessionKey, macInput, x25519Private, x25519PublicRaw, type DesktopSessionKey } from './session';
import { createVerifier, type RecordedKey, type ReplayStore } from './verify';
import type { ReplayEntry } from './replay';

const A = 'B8A44F7D5001';
const B = 'B8A44F7D5002';
const T0 = 1_795_222_210_000;
const keyA = simKey('v3-a');
const keyB = simKey('v3-b');
const body = JSON.stringify({ frame: { timestamp: T0, observations: [] } });

/** A camera per the spec: v2 signatures with its Ed25519 key, sessions against a desktop key. */
function camera(serial: string, key: SimKey, epoch = 1) {
  let seq = 0;
  let s = 0;
  let k: Buffer | undefined;
  return {
    get seq() {
      return seq;
    },
    v2(kind: 'detections' | 'heartbeat' = 'detections', at = T0, b = body, n = ++seq) {
      return sealEnvelope({ camera: serial, epoch, seq: n, sent: at, kind, key: key.keyId, body: b }, key.privateKey);
    },
    /** Opens session S+1 against `d` and returns the signed announcement (desktopKey may be forged). */
    session(d: { publicRaw: Buffer; id: string }, desktopKey = d.id, ephemeral?: Buffer) {
      s++;
      const e = x25519Private(crypto.randomBytes(32));
      const ePk = ephemeral ?? x25519PublicRaw(e);
      if (!ephemeral) k = deriveSessionKey(e, d.publicRaw, serial, epoch, s);
      return sealEnvelope({ camera: serial, epoch, seq: ++seq, sent: T0, kind: 'session', key: key.keyId, body: JSON.stringify({ session: s, desktopKey, ephemeral: ePk.toString('base64') }) }, key.privateKey);
    },
    v3(over: Partial<{ session: number; seq: number; mac: string; k: Buffer; camera: string }> = {}) {
      const f = { camera: over.camera ?? serial, epoch, seq: over.seq ?? ++seq, sent: T0, kind: 'detections' as const, key: key.keyId, session: over.session ?? s, body };
      const mac = over.mac ?? crypto.createHmac('sha256', over.k ?? k!).update(macInput(f)).digest('base64');
      return JSON.stringify({ v: 3, ...f, mac });
    },
    get k() {
      return k;
    },
  };
}

function memoryStore(): ReplayStore {
  const rows = new Map<string, ReplayEntry>();
  return { load: () => [...rows.values()].map((e) => ({ ...e })), save: (es) => es.forEach((e) => rows.set(`${e.camera}|${e.key}`, { ...e })) };
}

function desktop(d: DesktopSessionKey, replayStore: ReplayStore = memoryStore()) {
  const keys = new Map<string, RecordedKey>([
    [A, { keyId: keyA.keyId, publicKey: keyA.publicKey }],
    [B, { keyId: keyB.keyId, publicKey: keyB.publicKey }],
  ]);
  const audited: { kind: string; message: string; detail?: Record<string, unknown> }[] = [];
  const v = createVerifier({ keys: { get: (id) => keys.get(id) }, audit: { record: (e) => audited.push(e) }, now: () => T0, sessionKey: d, replayStore });
  const ingest = (raw: string, topic?: string) => {
    const r = v.verify(raw, T0, topic);
    v.flush();
    return r.ok ? 'ok' : r.label;
  };
  return { v, audited, ingest };
}

const D = desktopSessionKey(crypto.createHash('sha256').update('v3-test-desktop').digest());

describe('envelope v3 at the coordinator', () => {
  it('accepts v3 reports after a signed session announcement, and keeps accepting v2', () => {
    const { v, ingest } = desktop(D);
    const cam = camera(A, keyA);
    expect(ingest(cam.v2(), `axis/${A}/omnisight/detections`)).toBe('ok');
    expect(ingest(cam.v3({ session: 1, k: crypto.randomBytes(32) }))).toBe('unknown session'); // nothing announced yet
    expect(ingest(cam.session(D), `axis/${A}/omnisight/session`)).toBe('ok');
    expect(v.sessionOf(A)).toEqual({ key: keyA.keyId, epoch: 1, session: 1 });
    expect(ingest(cam.v3(), `axis/${A}/omnisight/detections`)).toBe('ok');
    expect(ingest(cam.v2('heartbeat', T0, JSON.stringify({ app: 'omnisight', version: '1', uptime_s: 1, fps_camera: 10, fps_processed: 10, fps_skipped: 0, inference_ms: 5 })))).toBe('ok');
    expect(ingest(cam.v3())).toBe('ok');
    expect(v.counts().accepted).toBe(5);
  });

  it('refuses a forged MAC, a MAC under another K, and counts and audits it', () => {
    const { v, ingest, audited } = desktop(D);
    const cam = camera(A, keyA);
    ingest(cam.session(D));
    const good = JSON.parse(cam.v3()) as { mac: string };
    const flipped = Buffer.from(good.mac, 'base64');
    flipped[0]! ^= 1;
    expect(ingest(JSON.stringify({ ...good, seq: cam.seq + 1, mac: flipped.toString('base64') }))).toBe('bad mac');
    expect(ingest(cam.v3({ k: crypto.randomBytes(32) }))).toBe('bad mac');
    expect(v.counts().byReason.bad_mac).toBe(2);
    expect(audited.some((a) => a.kind === 'swarm.rejected' && a.detail?.reason === 'bad_mac')).toBe(true);
    // A refused message moves nothing: the same seq with the right MAC is still accepted.
    expect(ingest(cam.v3({ seq: cam.seq }))).toBe('ok');
  });

  it("refuses another camera's session: B's K and session number do not make A's reports", () => {
    const { ingest } = desktop(D);
    const a = camera(A, keyA);
    const b = camera(B, keyB);
    expect(ingest(b.session(D))).toBe('ok');
    // B (or whoever learned B's K) writes a report in A's name under B's session.
    expect(ingest(a.v3({ session: 1, k: b.k! }))).toBe('unknown session');
    ingest(a.session(D));
    expect(ingest(a.v3({ k: b.k! }))).toBe('bad mac');
    // A session announcement in A's name signed with B's key is no session at all.
    const forged = JSON.parse(a.session(D)) as Record<string, unknown>;
    const bSigned = JSON.parse(b.session(D)) as { sig: string };
    expect(ingest(JSON.stringify({ ...forged, sig: bSigned.sig }))).toBe('bad signature');
  });

  it('refuses an unknown session, a stale one after a newer, and a session for another desktop', () => {
    const { ingest } = desktop(D);
    const cam = camera(A, keyA);
    ingest(cam.session(D));
    expect(ingest(cam.v3({ session: 7 }))).toBe('unknown session');
    const old = cam.k!;
    ingest(cam.session(D)); // S = 2 replaces S = 1
    expect(ingest(cam.v3({ session: 1, k: old }))).toBe('unknown session');
    expect(ingest(cam.v3())).toBe('ok');
    const k2 = cam.k!;
    const other = desktopSessionKey(crypto.randomBytes(32));
    expect(ingest(cam.session(other))).toBe('session for another desktop');
    expect(ingest(cam.v3({ session: 2, k: k2 }))).toBe('ok'); // the foreign announcement changed nothing
    expect(ingest(cam.session(D, D.id, Buffer.alloc(32)))).toBe('bad session key'); // low-order point
  });

  it('applies one replay window across v2 and v3', () => {
    const { ingest } = desktop(D);
    const cam = camera(A, keyA);
    ingest(cam.session(D));
    const v2 = cam.v2();
    expect(ingest(v2)).toBe('ok');
    const n = cam.seq;
    expect(ingest(cam.v3({ seq: n }))).toBe('replay (duplicate)');
    const v3 = cam.v3();
    expect(ingest(v3)).toBe('ok');
    expect(ingest(v3)).toBe('replay (duplicate)');
    expect(ingest(cam.v2('detections', T0, body, cam.seq))).toBe('replay (duplicate)');
    expect(ingest(cam.v3({ seq: 1 }))).toBe('replay (duplicate)'); // seq 1 was the session message
  });

  it('a desktop restart forgets sessions (v3 refused) until the camera announces a new one; the replay state persists', () => {
    const store = memoryStore();
    const first = desktop(D, store);
    const cam = camera(A, keyA);
    first.ingest(cam.session(D));
    const accepted = cam.v3();
    expect(first.ingest(accepted)).toBe('ok');
    const second = desktop(desktopSessionKey(crypto.createHash('sha256').update('v3-test-desktop').digest()), store);
    expect(second.ingest(cam.v3())).toBe('unknown session');
    expect(second.ingest(cam.session(D))).toBe('ok'); // the re-published key → session 2
    expect(second.v.sessionOf(A)?.session).toBe(2);
    expect(second.ingest(cam.v3())).toBe('ok');
    expect(second.ingest(accepted)).toBe('unknown session'); // its session is gone
  });

  it('refuses v3 for fl and session kinds, and unknown fields', () => {
    const { ingest } = desktop(D);
    const cam = camera(A, keyA);
    ingest(cam.session(D));
    const r = JSON.parse(cam.v3()) as Record<string, unknown>;
    expect(ingest(JSON.stringify({ ...r, kind: 'fl' }))).toBe('malformed');
    expect(ingest(JSON.stringify({ ...r, kind: 'session' }))).toBe('malformed');
    expect(ingest(JSON.stringify({ ...r, sig: 'x' }))).toBe('malformed');
    expect(ingest(cam.v3(), `axis/${A}/omnisight/heartbeat`)).toBe('topic mismatch');
  });
});
