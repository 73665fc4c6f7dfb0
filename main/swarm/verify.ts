// Report verification: shape, known camera and recorded key, Ed25519 signature, replay window,
// clock skew and size. The cheap checks run first so a flood of junk costs little.
import crypto from 'node:crypto';
import { macValid, sessionBodySchema, type DesktopSessionKey, type SessionBody } from './session';
import { ReplayState, replayText, type ReplayEntry } from './replay';
import {
  checkEnvelope,
  detectionsBodySchema,
  heartbeatBodySchema,
  flBodySchema,
  type FlBody,
  MAX_ENVELOPE_BYTES,
  signingInput,
  type DetectionsBody,
  type Envelope,
  type EnvelopeV2,
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
  'unknown_session',
  'bad_mac',
  'foreign_session',
  'bad_session_key',
] as const;
export type RejectReason = (typeof rejectReasons)[number];


export interface RecordedKey {
  keyId: string;
  /** Raw 32-byte Ed25519 public key, standard base64 (as identity.cgi returns it). */
  publicKey: string;
}
/** Where verification looks up the key the desktop recorded for a camera, by the serial it signs with (the fleet fills it). */
export interface KeyRegistry {
  get(serial: string): RecordedKey | undefined;
}

export type VerifiedBody =
  | { kind: 'detections'; body: DetectionsBody }
  | { kind: 'heartbeat'; body: HeartbeatBody }
  | { kind: 'fl'; body: FlBody }
  | { kind: 'session'; body: SessionBody };
export interface VerifiedMessage {
  envelope: Envelope;
  /** The exact payload text, kept as proof (it carries the signature). */
  raw: string;
  receivedAt: number;
  data: VerifiedBody;
}
export type VerifyResult =
  | { ok: true; message: VerifiedMessage }
  | {
      ok: false;
      reason: RejectReason;
      camera: string | undefined;
      detail: string;
      label: string;
      /** Permissive mode only: what a well-formed but untrusted report says, to be shown marked as unverified. */
      unverified?: { envelope: Envelope; data: VerifiedBody };
      /** unknown_session: the session the report named (the desktop tells the camera, docs/protocol.md). */
      session?: SessionRef;
    };
/** A camera's v3 session as a report names it. */
export interface SessionRef {
  key: string;
  epoch: number;
  session: number;
}

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
  unknown_session: 'unknown session',
  bad_mac: 'bad mac',
  foreign_session: 'session for another desktop',
  bad_session_key: 'bad session key',
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
  /** Clock for folding repeated refusals in the audit log. */
  now?: () => number;
  /** The desktop's X25519 session key (envelope v3); without it every session is refused as another desktop's. */
  sessionKey?: DesktopSessionKey;
}

/** A camera's current envelope-v3 session (memory only: a restarted desktop has none). */
export interface CameraSession {
  key: string;
  epoch: number;
  session: number;
  k: Buffer;
  /** Unique per session in this verifier (worker MAC verdicts name it). */
  gen: number;
}
/** A session as verification workers get it (memory only, within this process). */
export interface SessionShare {
  serial: string;
  key: string;
  epoch: number;
  session: number;
  gen: number;
  k: Uint8Array;
}

export interface Verifier {
  /** payload: the raw MQTT payload; topic: when known, its serial and kind must match the envelope. */
  verify(payload: string | Uint8Array, receivedAt: number, topic?: string): VerifyResult;
  /** The trust checks of a message parsed elsewhere (a worker), with that worker's signature verdict. */
  admit(parsed: ParsedMessage, receivedAt: number, worker?: { valid: boolean; publicKey: string }, workerMac?: { valid: boolean; gen: number }): VerifyResult;
  /**
   * Called whenever a camera's session (and so K) changes: verification workers keep a copy to check
   * v3 MACs off this thread. `gen` is unique per session, so a worker's MAC verdict counts only for
   * the session it was made with. Returns the unsubscribe.
   */
  onSession(listener: (s: SessionShare) => void): () => void;
  /** Counts and audits a message the parser refused elsewhere (a worker). */
  parseFailed(r: Extract<ParseResult, { ok: false }>): VerifyResult;
  mode(): VerifyMode;
  setMode(m: VerifyMode): void;
  /** The accepted |sent − receivedAt|, ms (verification workers skip the signature outside it). */
  skewToleranceMs(): number;
  counts(): { byReason: Record<RejectReason, number>; byCamera: Record<string, Partial<Record<RejectReason, number>>>; accepted: number };
  /** Drops a camera's cached public key (it was removed). Its replay state is kept: a replay stays a replay. */
  forget(serial: string): void;
  /**
   * Persists the replay state changed since the last flush (one write for all of it). Call before
   * acting on the messages verified since then; throws when the store fails (they must not count).
   */
  flush(): void;
  /**
   * The replay state changed since the last flush or take, for a caller that writes it elsewhere
   * (the service's replay writer thread) and acts on the messages only once that write is done.
   */
  takeDirty(): ReplayEntry[];
  /** Puts entries back to be written again (their write failed); the next take or flush includes them. */
  markDirty(entries: readonly ReplayEntry[]): void;
  /** The replay state of a camera's key (for tests and diagnostics). */
  replayOf(serial: string, keyId: string): Readonly<ReplayEntry> | undefined;
  /** The camera's current v3 session (key id, epoch, S; never K), for tests and diagnostics. */
  sessionOf(serial: string): { key: string; epoch: number; session: number } | undefined;
}

/** Raw 32-byte Ed25519 public key → KeyObject (through JWK, which node accepts for raw OKP keys). */
export function ed25519PublicKey(rawBase64: string): crypto.KeyObject {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32) throw new Error('An Ed25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

const MAX_TRACKED_CAMERAS = 10_000;
const AUDIT_FOLD_MS = 10_000;
const TOPIC = /^axis\/([^/]+)\/omnisight\/(detections|heartbeat|fl|session)$/;

/** A message that is well-formed: envelope and body parsed, nothing about trust checked yet. */
export interface ParsedMessage {
  envelope: Envelope;
  raw: string;
  data: VerifiedBody;
}
export type ParseResult = { ok: true; parsed: ParsedMessage } | { ok: false; reason: 'too_large' | 'malformed' | 'topic_mismatch' | 'bad_body'; camera: string | undefined; detail: string };

/**
 * The one parser of a camera message (docs/protocol.md): size, JSON, envelope, topic, body. Pure,
 * so it runs in the verification workers as well as here; trust is decided by the verifier.
 */
export function parseMessage(payload: string | Uint8Array, topic: string | undefined, maxBytes = MAX_ENVELOPE_BYTES): ParseResult {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, reason: 'too_large', camera: undefined, detail: `${size} bytes is over the ${maxBytes}-byte limit` };
  const raw = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'malformed', camera: undefined, detail: 'payload is not JSON' };
  }
  const env = checkEnvelope(json);
  if (typeof env === 'string') return { ok: false, reason: 'malformed', camera: undefined, detail: env };
  const cam = env.camera;
  if (topic !== undefined) {
    const m = TOPIC.exec(topic);
    if (!m || m[1] !== cam || m[2] !== env.kind) return { ok: false, reason: 'topic_mismatch', camera: cam, detail: `topic ${topic.slice(0, 100)} does not match camera ${cam} / kind ${env.kind}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(env.body);
  } catch {
    return { ok: false, reason: 'bad_body', camera: cam, detail: 'body is not JSON text' };
  }
  if (env.kind === 'detections') {
    const b = detectionsBodySchema.safeParse(body);
    if (!b.success) return { ok: false, reason: 'bad_body', camera: cam, detail: `detections body: ${issue(b.error)}` };
    return { ok: true, parsed: { envelope: env, raw, data: { kind: 'detections', body: b.data } } };
  }
  if (env.kind === 'session') {
    const b = sessionBodySchema.safeParse(body);
    if (!b.success) return { ok: false, reason: 'bad_body', camera: cam, detail: `session body: ${issue(b.error)}` };
    return { ok: true, parsed: { envelope: env, raw, data: { kind: 'session', body: b.data } } };
  }
  if (env.kind === 'fl') {
    const f = flBodySchema.safeParse(body);
    if (!f.success) return { ok: false, reason: 'bad_body', camera: cam, detail: `fl body: ${issue(f.error)}` };
    return { ok: true, parsed: { envelope: env, raw, data: { kind: 'fl', body: f.data } } };
  }
  const b = heartbeatBodySchema.safeParse(body);
  if (!b.success) return { ok: false, reason: 'bad_body', camera: cam, detail: `heartbeat body: ${issue(b.error)}` };
  return { ok: true, parsed: { envelope: env, raw, data: { kind: 'heartbeat', body: b.data } } };
}
const issue = (e: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string => {
  const i = e.issues[0];
  return i ? `${i.path.map(String).join('.') || '(root)'}: ${i.message}` : 'invalid';
};

/** What a verification worker found: the parse, and the signature's validity under the key it was given. */
export interface WorkerVerdict {
  parse: ParseResult;
  sig?: { valid: boolean; publicKey: string };
  /** A v3 MAC checked with the K of session generation `gen` (see Verifier.onSession). */
  mac?: { valid: boolean; gen: number };
}

/** Ed25519 over the signing input: the one expensive step (≈60 µs), done here or in a worker. */
export function signatureValid(env: EnvelopeV2, key: crypto.KeyObject): boolean {
  return crypto.verify(null, Buffer.from(signingInput(env)), key, Buffer.from(env.sig, 'base64'));
}

/** Reasons that say the message is not well-formed (the rest say it cannot be trusted). */
export const formReasons: ReadonlySet<RejectReason> = new Set(['too_large', 'malformed', 'topic_mismatch', 'bad_body']);

export function createVerifier(opts: VerifierOptions): Verifier {
  let mode: VerifyMode = opts.mode ?? 'strict';
  const now = opts.now ?? Date.now;
  const skew = opts.skewToleranceMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? MAX_ENVELOPE_BYTES;
  const keyCache = new Map<string, { keyId: string; publicKey: string; obj: crypto.KeyObject }>();
  const replay = new ReplayState(opts.replayStore?.load() ?? []);
  const byReason = Object.fromEntries(rejectReasons.map((r) => [r, 0])) as Record<RejectReason, number>;
  const byCamera = new Map<string, Partial<Record<RejectReason, number>>>();
  let accepted = 0;
  const sessions = new Map<string, CameraSession>();
  const sessionListeners = new Set<(s: SessionShare) => void>();
  let sessionGen = 0;

  const keyFor = (camera: string): { keyId: string; publicKey: string; obj: crypto.KeyObject } | undefined => {
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

  // Whatever the mode, a message that failed a check is refused: it never reaches fusion, the
  // timeline, quarantine or a camera's liveness. The modes differ only in what is recorded and shown:
  //  - strict: the refusal is audited with its reason;
  //  - permissive: the same, and a well-formed refused report is handed on as `unverified` so the
  //    Cameras view can draw its boxes marked as unverified;
  //  - audit: the refusal is audited with the message itself (its first 2 kB), for diagnosis.
  // A flood of refusals (a replaying attacker, a camera whose clock drifted, a wrong key at 10 Hz)
  // must not become a flood of audit rows: per camera and reason, one row per AUDIT_FOLD_MS, the
  // next one saying how many were folded into it. Every refusal is still counted (counts()).
  const folded = new Map<string, { until: number; skipped: number }>();
  const fail = (reason: RejectReason, camera: string | undefined, detail: string, parsed?: ParsedMessage, label = reasonLabel[reason]): VerifyResult => {
    count(reason, camera);
    const env = parsed?.envelope;
    const foldKey = `${camera ?? '?'}|${reason}`;
    const t = now();
    const fold = folded.get(foldKey);
    if (fold && t < fold.until) fold.skipped++;
    else {
      if (folded.size >= MAX_TRACKED_CAMERAS) folded.clear();
      folded.set(foldKey, { until: t + AUDIT_FOLD_MS, skipped: 0 });
      audit(reason, camera, detail, parsed, label, env, fold?.skipped ?? 0);
    }
    const shown = mode === 'permissive' && parsed && !formReasons.has(reason) ? { unverified: { envelope: parsed.envelope, data: parsed.data } } : {};
    return { ok: false, reason, camera, detail, label, ...shown };
  };
  const audit = (reason: RejectReason, camera: string | undefined, detail: string, parsed: ParsedMessage | undefined, label: string, env: Envelope | undefined, skipped: number): void => {
    opts.audit?.record({
      kind: 'swarm.rejected',
      severity: reason === 'bad_signature' || reason === 'wrong_key' || reason === 'bad_mac' ? 'critical' : 'warning',
      source: camera ? `camera:${camera}` : 'camera:unknown',
      message: `Camera report refused (${label}): ${detail}${skipped ? ` (and ${skipped} more refused for the same reason in the ${AUDIT_FOLD_MS / 1000} s before)` : ''}`,
      detail: {
        reason,
        mode,
        epoch: env?.epoch ?? null,
        seq: env?.seq ?? null,
        folded: skipped,
        ...(mode === 'audit' && parsed ? { key: parsed.envelope.key, payload: parsed.raw.slice(0, 2048) } : {}),
      },
    });
  };

  /**
   * The trust checks of a parsed message: recorded key, clock, replay rule, signature. `signature`
   * is the verdict of a worker that checked it with `checkedKey` (the recorded public key it was
   * given); when absent, or when the recorded key changed since, it is checked here.
   */
  const admit = (p: ParsedMessage, receivedAt: number, worker?: { valid: boolean; publicKey: string }, workerMac?: { valid: boolean; gen: number }): VerifyResult => {
    const env = p.envelope;
    const cam = env.camera;
    const key = keyFor(cam);
    if (!key) return fail('unknown_camera', cam, `no key is recorded for camera ${cam}; register or redeploy the camera`, p);
    if (key.keyId !== env.key) return fail('wrong_key', cam, `signed with key "${env.key}" but the recorded key is "${key.keyId}"; redeploy to record the new key`, p);
    if (Math.abs(env.sent - receivedAt) > skew) return fail('clock_skew', cam, `sent ${env.sent - receivedAt} ms from the desktop clock (tolerance ±${skew} ms); check the camera's NTP`, p);
    // v3: the session must be the camera's current one before the replay rule and the MAC matter.
    const sess = env.v === 3 ? sessions.get(cam) : undefined;
    if (env.v === 3 && (!sess || sess.key !== env.key || sess.epoch !== env.epoch || sess.session !== env.session))
      return { ...fail('unknown_session', cam, `session ${env.session} (epoch ${env.epoch}) is not one this desktop holds${sess ? ` (current: session ${sess.session}, epoch ${sess.epoch})` : ''}; the desktop tells the camera, which announces a new one`, p), session: { key: env.key, epoch: env.epoch, session: env.session } } as VerifyResult;
    const verdict = replay.check(cam, env.key, env.epoch, env.seq);
    if (verdict !== 'fresh') {
      const st = replay.get(cam, env.key);
      const where = st ? `epoch ${st.epoch}, highest seq ${st.highest}` : 'nothing';
      return fail('replay', cam, `${replayText[verdict]}: epoch ${env.epoch} seq ${env.seq} (accepted so far: ${where})`, p, replayText[verdict]);
    }
    if (env.v === 3) {
      const authentic = workerMac && workerMac.gen === sess!.gen ? workerMac.valid : macValid(sess!.k, env);
      if (!authentic) return fail('bad_mac', cam, `the MAC does not match session ${env.session} of key "${env.key}"`, p);
    } else {
      const authentic = worker && worker.publicKey === key.publicKey ? worker.valid : signatureValid(env, key.obj);
      if (!authentic) return fail('bad_signature', cam, `the signature does not match key "${env.key}"`, p);
    }
    if (p.data.kind === 'session') {
      const b = p.data.body;
      const own = opts.sessionKey;
      if (!own || b.desktopKey !== own.id) return fail('foreign_session', cam, `session ${b.session} is for desktop key ${b.desktopKey}, this desktop's is ${own?.id ?? '(none)'}`, p);
      const cur = sessions.get(cam);
      // A repeat of the current session (or an older one) changes nothing; a newer S or epoch, or another key, replaces it.
      if (!cur || cur.key !== env.key || env.epoch > cur.epoch || (env.epoch === cur.epoch && b.session > cur.session)) {
        let k: Buffer;
        try {
          k = own.derive(Buffer.from(b.ephemeral, 'base64'), cam, env.epoch, b.session);
        } catch (err) {
          return fail('bad_session_key', cam, `session ${b.session}: ${(err as Error).message}`, p);
        }
        const s = { key: env.key, epoch: env.epoch, session: b.session, k, gen: ++sessionGen };
        sessions.set(cam, s);
        for (const l of sessionListeners) l({ serial: cam, key: s.key, epoch: s.epoch, session: s.session, gen: s.gen, k: new Uint8Array(k) });
      }
    }
    // Only an authentic, fresh message moves the window; otherwise a forger could burn future numbers.
    replay.accept(cam, env.key, env.epoch, env.seq);
    accepted++;
    return { ok: true, message: { envelope: env, raw: p.raw, receivedAt, data: p.data } };
  };

  const verify = (payload: string | Uint8Array, receivedAt: number, topic?: string): VerifyResult => {
    const r = parseMessage(payload, topic, maxBytes);
    if (!r.ok) return fail(r.reason, r.camera, r.detail);
    return admit(r.parsed, receivedAt);
  };

  return {
    verify,
    admit,
    parseFailed: (r) => fail(r.reason, r.camera, r.detail),
    onSession: (l) => {
      sessionListeners.add(l);
      return () => sessionListeners.delete(l);
    },
    mode: () => mode,
    skewToleranceMs: () => skew,
    setMode: (m) => {
      mode = m;
    },
    counts: () => ({ byReason: { ...byReason }, byCamera: Object.fromEntries(byCamera), accepted }),
    forget: (id) => {
      keyCache.delete(id);
      sessions.delete(id);
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
    takeDirty: () => replay.takeDirty(),
    markDirty: (entries) => replay.markDirty(entries),
    replayOf: (id, keyId) => replay.get(id, keyId),
    sessionOf: (id) => {
      const x = sessions.get(id);
      return x && { key: x.key, epoch: x.epoch, session: x.session };
    },
  };
}
