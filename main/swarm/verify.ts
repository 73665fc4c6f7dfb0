// Report verification: shape, known camera and recorded key, Ed25519 signature, replay window,
// clock skew and size. The cheap checks run first so a flood of junk costs little.
import crypto from 'node:crypto';
import { ReplayState, replayText, type ReplayEntry } from './replay';
import {
  checkEnvelope,
  detectionsBodySchema,
  heartbeatBodySchema,
  MAX_ENVELOPE_BYTES,
  signingInput,
  type DetectionsBody,
  type Envelope,
  type HeartbeatBody,
} from './envelope';

export type VerifyMode = 'strict' | 'permissive' | 'audit';
export const verifyModes = ['strict', 'permissive', 'audit'] as const;
export const rejectReasons = [
  'too_large',
  'malformed',
  'topic_mismatch',
  'unknown_camera',
  'wrong_key',
  'bad_signature',
  'replay',
  'clock_skew',
  'bad_body',
] as const;
export type RejectReason = (typeof rejectReasons)[number];

/** Reasons no mode can accept: there is nothing trustworthy left to flag. */
const ALWAYS_REJECT: ReadonlySet<RejectReason> = new Set(['too_large', 'malformed', 'bad_body']);

export interface RecordedKey {
  keyId: string;
  /** Raw 32-byte Ed25519 public key, standard base64 (as identity.cgi returns it). */
  publicKey: string;
}
/** Where verification looks up the key the desktop recorded for a camera (the fleet fills it). */
export interface KeyRegistry {
  get(cameraId: string): RecordedKey | undefined;
}

export type VerifiedBody = { kind: 'detections'; body: DetectionsBody } | { kind: 'heartbeat'; body: HeartbeatBody };
export interface VerifiedMessage {
  envelope: Envelope;
  /** The exact payload text, kept as proof (it carries the signature). */
  raw: string;
  receivedAt: number;
  data: VerifiedBody;
  /** Checks that failed but were let through by a permissive fleet. Empty in strict mode. */
  flags: RejectReason[];
}
export type VerifyResult =
  | { ok: true; message: VerifiedMessage }
  | { ok: false; reason: RejectReason; camera: string | undefined; detail: string; label: string };

/** Short words for a refusal, as the deploy and the Swarm view show them. */
export const reasonLabel: Record<RejectReason, string> = {
  too_large: 'too large',
  malformed: 'malformed',
  topic_mismatch: 'topic mismatch',
  unknown_camera: 'unknown camera',
  wrong_key: 'unknown key',
  bad_signature: 'bad signature',
  replay: 'replay',
  clock_skew: 'clock skew',
  bad_body: 'bad body',
};

/** Where the replay state is kept between runs (SQLite in the service; absent in the simulation). */
export interface ReplayStore {
  load(): Iterable<ReplayEntry>;
  save(entries: readonly ReplayEntry[]): void;
}

export interface AuditSink {
  record(input: {
    kind: string;
    severity: 'info' | 'warning' | 'critical';
    source: string;
    message: string;
    detail?: Record<string, string | number | boolean | null>;
  }): unknown;
}

export interface VerifierOptions {
  keys: KeyRegistry;
  audit?: AuditSink;
  mode?: VerifyMode;
  /** Accepted |sent − receivedAt|, ms. */
  skewToleranceMs?: number;
  maxBytes?: number;
  /** Persistence of the replay state; without it the state lives only as long as the verifier. */
  replayStore?: ReplayStore;
}

export interface Verifier {
  /** payload: the raw MQTT payload; topic: when known, its serial and kind must match the envelope. */
  verify(payload: string | Uint8Array, receivedAt: number, topic?: string): VerifyResult;
  mode(): VerifyMode;
  setMode(m: VerifyMode): void;
  counts(): { byReason: Record<RejectReason, number>; byCamera: Record<string, Partial<Record<RejectReason, number>>>; accepted: number; flagged: number };
  /** Drops a camera's cached public key (it was removed). Its replay state is kept: a replay stays a replay. */
  forget(cameraId: string): void;
  /**
   * Persists the replay state changed since the last flush (one write for all of it). Call before
   * acting on the messages verified since then; throws when the store fails (they must not count).
   */
  flush(): void;
  /** The replay state of a camera's key (for tests and diagnostics). */
  replayOf(cameraId: string, keyId: string): Readonly<ReplayEntry> | undefined;
}

/** Raw 32-byte Ed25519 public key → KeyObject (through JWK, which node accepts for raw OKP keys). */
export function ed25519PublicKey(rawBase64: string): crypto.KeyObject {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32) throw new Error('An Ed25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

const MAX_TRACKED_CAMERAS = 10_000;
const TOPIC = /^axis\/([^/]+)\/omnisight\/(detections|heartbeat)$/;

export function createVerifier(opts: VerifierOptions): Verifier {
  let mode: VerifyMode = opts.mode ?? 'strict';
  const skew = opts.skewToleranceMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? MAX_ENVELOPE_BYTES;
  const keyCache = new Map<string, { keyId: string; publicKey: string; obj: crypto.KeyObject }>();
  const replay = new ReplayState(opts.replayStore?.load() ?? []);
  const byReason = Object.fromEntries(rejectReasons.map((r) => [r, 0])) as Record<RejectReason, number>;
  const byCamera = new Map<string, Partial<Record<RejectReason, number>>>();
  let accepted = 0;
  let flagged = 0;

  const keyFor = (camera: string): { keyId: string; obj: crypto.KeyObject } | undefined => {
    const rec = opts.keys.get(camera);
    if (!rec) return undefined;
    const cached = keyCache.get(camera);
    if (cached && cached.keyId === rec.keyId && cached.publicKey === rec.publicKey) return cached;
    let obj: crypto.KeyObject;
    try {
      obj = ed25519PublicKey(rec.publicKey);
    } catch {
      return undefined;
    }
    const entry = { keyId: rec.keyId, publicKey: rec.publicKey, obj };
    keyCache.set(camera, entry);
    return entry;
  };

  const count = (reason: RejectReason, camera: string | undefined): void => {
    byReason[reason]++;
    const key = camera && (byCamera.has(camera) || byCamera.size < MAX_TRACKED_CAMERAS) ? camera : '(other)';
    const c = byCamera.get(key) ?? {};
    c[reason] = (c[reason] ?? 0) + 1;
    byCamera.set(key, c);
  };

  const fail = (reason: RejectReason, camera: string | undefined, detail: string, seq?: number, label = reasonLabel[reason]): VerifyResult => {
    count(reason, camera);
    opts.audit?.record({
      kind: 'swarm.rejected',
      severity: reason === 'bad_signature' || reason === 'wrong_key' ? 'critical' : 'warning',
      source: camera ? `camera:${camera}` : 'camera:unknown',
      message: `Camera report refused (${reason.replace('_', ' ')}): ${detail}`,
      detail: { reason, mode, seq: seq ?? null },
    });
    return { ok: false, reason, camera, detail, label };
  };

  const verify = (payload: string | Uint8Array, receivedAt: number, topic?: string): VerifyResult => {
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    if (size > maxBytes) return fail('too_large', undefined, `${size} bytes is over the ${maxBytes}-byte limit`);
    const raw = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail('malformed', undefined, 'payload is not JSON');
    }
    const env = checkEnvelope(parsed);
    if (typeof env === 'string') return fail('malformed', undefined, env);
    const cam = env.camera;
    const flags: RejectReason[] = [];
    // In strict mode the first failed check refuses; otherwise it is noted and the rest still run.
    const soft = (reason: RejectReason, detail: string, label?: string): VerifyResult | undefined => {
      if (mode === 'strict' || ALWAYS_REJECT.has(reason)) return fail(reason, cam, detail, env.seq, label);
      flags.push(reason);
      fail(reason, cam, `${detail} (accepted: fleet is in ${mode} mode)`, env.seq);
      return undefined;
    };

    if (topic !== undefined) {
      const m = TOPIC.exec(topic);
      if (!m || m[1] !== cam || m[2] !== env.kind) {
        const r = soft('topic_mismatch', `topic ${topic.slice(0, 100)} does not match camera ${cam} / kind ${env.kind}`);
        if (r) return r;
      }
    }
    const key = keyFor(cam);
    let sigChecked = false;
    if (!key) {
      const r = soft('unknown_camera', `no key is recorded for camera ${cam}; register or redeploy the camera`);
      if (r) return r;
    } else if (key.keyId !== env.key) {
      const r = soft('wrong_key', `signed with key "${env.key}" but the recorded key is "${key.keyId}"; redeploy to record the new key`);
      if (r) return r;
    } else {
      sigChecked = true;
    }
    if (Math.abs(env.sent - receivedAt) > skew) {
      const r = soft('clock_skew', `sent ${env.sent - receivedAt} ms from the desktop clock (tolerance ±${skew} ms); check the camera's NTP`);
      if (r) return r;
    }
    const verdict = replay.check(cam, env.key, env.epoch, env.seq);
    if (verdict !== 'fresh') {
      const st = replay.get(cam, env.key);
      const where = st ? `epoch ${st.epoch}, highest seq ${st.highest}` : 'nothing';
      const r = soft('replay', `${replayText[verdict]}: epoch ${env.epoch} seq ${env.seq} (accepted so far: ${where})`, replayText[verdict]);
      if (r) return r;
    }
    let authentic = false;
    if (sigChecked && key) {
      authentic = crypto.verify(null, Buffer.from(signingInput(env)), key.obj, Buffer.from(env.sig, 'base64'));
      if (!authentic) {
        const r = soft('bad_signature', `the signature does not match key "${env.key}"`);
        if (r) return r;
      }
    }
    // Only an authentic, fresh message moves the window; otherwise a forger could burn future numbers.
    if (authentic && verdict === 'fresh') replay.accept(cam, env.key, env.epoch, env.seq);

    let data: VerifiedBody;
    try {
      const json: unknown = JSON.parse(env.body);
      if (env.kind === 'detections') {
        const b = detectionsBodySchema.safeParse(json);
        if (!b.success) return fail('bad_body', cam, `detections body: ${b.error.issues[0]?.message ?? 'invalid'}`, env.seq);
        data = { kind: 'detections', body: b.data };
      } else {
        const b = heartbeatBodySchema.safeParse(json);
        if (!b.success) return fail('bad_body', cam, `heartbeat body: ${b.error.issues[0]?.message ?? 'invalid'}`, env.seq);
        data = { kind: 'heartbeat', body: b.data };
      }
    } catch {
      return fail('bad_body', cam, 'body is not JSON text', env.seq);
    }
    accepted++;
    if (flags.length) flagged++;
    // In audit mode failures are recorded but the message is treated as clean downstream.
    return { ok: true, message: { envelope: env, raw, receivedAt, data, flags: mode === 'audit' ? [] : flags } };
  };

  return {
    verify,
    mode: () => mode,
    setMode: (m) => {
      mode = m;
    },
    counts: () => ({ byReason: { ...byReason }, byCamera: Object.fromEntries(byCamera), accepted, flagged }),
    forget: (id) => {
      keyCache.delete(id);
    },
    flush: () => {
      const dirty = replay.takeDirty();
      if (!dirty.length || !opts.replayStore) return;
      try {
        opts.replayStore.save(dirty);
      } catch (err) {
        replay.markDirty(dirty);
        throw err;
      }
    },
    replayOf: (id, keyId) => replay.get(id, keyId),
  };
}
