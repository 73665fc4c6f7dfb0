// Report verification: shape, known camera and recorded key, Ed25519 signature, replay window,
// clock skew and size. The cheap checks run first so a flood of junk costs little.
import crypto from 'node:crypto';
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
  | { ok: false; reason: RejectReason; camera: string | undefined; detail: string };

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
  /** Sequence numbers remembered behind the highest seen (multiple of 32). */
  replayWindow?: number;
  maxBytes?: number;
}

export interface Verifier {
  /** payload: the raw MQTT payload; topic: when known, its serial and kind must match the envelope. */
  verify(payload: string | Uint8Array, receivedAt: number, topic?: string): VerifyResult;
  mode(): VerifyMode;
  setMode(m: VerifyMode): void;
  counts(): { byReason: Record<RejectReason, number>; byCamera: Record<string, Partial<Record<RejectReason, number>>>; accepted: number; flagged: number };
  /** Forget a camera's window (after its key was re-provisioned and seq restarts at 1). */
  forget(cameraId: string): void;
}

/**
 * Sliding replay window over sequence numbers: a bitmap of the last `size` numbers behind the
 * highest accepted one (the IPsec/DTLS anti-replay scheme). Anything at or below highest − size
 * is treated as a replay, because we can no longer tell.
 */
export class ReplayWindow {
  private highest = 0;
  private readonly bits: Uint32Array;
  constructor(private readonly size = 1024) {
    if (size % 32 !== 0 || size <= 0) throw new Error('replay window size must be a positive multiple of 32');
    this.bits = new Uint32Array(size / 32);
  }
  /** True when seq has not been accepted before and is inside the window; does not record it. */
  fresh(seq: number): boolean {
    if (seq > this.highest) return true;
    if (this.highest - seq >= this.size) return false;
    return !this.test(seq);
  }
  /** Records seq as seen (call only after the message proved authentic). */
  accept(seq: number): void {
    if (seq > this.highest) {
      const advance = seq - this.highest;
      if (advance >= this.size) this.bits.fill(0);
      else for (let s = this.highest + 1; s < seq; s++) this.clear(s);
      this.highest = seq;
    }
    this.set(seq);
  }
  get top(): number {
    return this.highest;
  }
  private idx(seq: number): [number, number] {
    const b = seq % this.size;
    return [b >>> 5, 1 << (b & 31)];
  }
  private test(seq: number): boolean {
    const [w, m] = this.idx(seq);
    return (this.bits[w]! & m) !== 0;
  }
  private set(seq: number): void {
    const [w, m] = this.idx(seq);
    this.bits[w]! |= m;
  }
  private clear(seq: number): void {
    const [w, m] = this.idx(seq);
    this.bits[w]! &= ~m;
  }
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
  const windowSize = opts.replayWindow ?? 1024;
  const maxBytes = opts.maxBytes ?? MAX_ENVELOPE_BYTES;
  const keyCache = new Map<string, { keyId: string; publicKey: string; obj: crypto.KeyObject }>();
  const windows = new Map<string, { keyId: string; w: ReplayWindow }>();
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

  const windowFor = (camera: string, keyId: string): ReplayWindow => {
    const cur = windows.get(camera);
    if (cur && cur.keyId === keyId) return cur.w;
    // A new key restarts seq at 1 (protocol.md), so the old window no longer applies.
    const w = new ReplayWindow(windowSize);
    windows.set(camera, { keyId, w });
    return w;
  };

  const count = (reason: RejectReason, camera: string | undefined): void => {
    byReason[reason]++;
    const key = camera && (byCamera.has(camera) || byCamera.size < MAX_TRACKED_CAMERAS) ? camera : '(other)';
    const c = byCamera.get(key) ?? {};
    c[reason] = (c[reason] ?? 0) + 1;
    byCamera.set(key, c);
  };

  const fail = (reason: RejectReason, camera: string | undefined, detail: string, seq?: number): VerifyResult => {
    count(reason, camera);
    opts.audit?.record({
      kind: 'swarm.rejected',
      severity: reason === 'bad_signature' || reason === 'wrong_key' ? 'critical' : 'warning',
      source: camera ? `camera:${camera}` : 'camera:unknown',
      message: `Camera report refused (${reason.replace('_', ' ')}): ${detail}`,
      detail: { reason, mode, seq: seq ?? null },
    });
    return { ok: false, reason, camera, detail };
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
    const soft = (reason: RejectReason, detail: string): VerifyResult | undefined => {
      if (mode === 'strict' || ALWAYS_REJECT.has(reason)) return fail(reason, cam, detail, env.seq);
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
    const win = windowFor(cam, env.key);
    if (!win.fresh(env.seq)) {
      const r = soft('replay', `seq ${env.seq} was already seen or is older than the window (highest ${win.top})`);
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
    // Only an authentic message moves the window; otherwise a forger could burn future numbers.
    if (authentic) win.accept(env.seq);

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
      windows.delete(id);
      keyCache.delete(id);
    },
  };
}
