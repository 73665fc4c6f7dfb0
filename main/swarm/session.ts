// Envelope v3 (docs/protocol.md, "Envelope v3"), the coordinator's side: the desktop's X25519
// session key, the per-session MAC key K a camera announces, and the MAC over a v3 envelope.
// One Ed25519 verification costs ~100 µs here; an HMAC-SHA256 over a report costs a few µs, so the
// camera proves its identity once per session (a signed v2 `session` message) and authenticates
// each report with a key only it and this desktop hold.
import crypto from 'node:crypto';
import { z } from 'zod';

export const SESSION_KEY_TOPIC = 'omnisight/desktop/session-key';
export const SESSION_INFO = 'omnisight.v3.session';
export const MAC_DOMAIN = 'omnisight.v3';
/** Where the desktop's X25519 private key (raw 32 bytes, base64) lives in the secret store. */
export const SESSION_SECRET_NAME = 'swarm.session-key';

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

export const x25519Private = (raw: Buffer): crypto.KeyObject => {
  if (raw.length !== 32) throw new Error('an X25519 private key is 32 bytes');
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
};
export const x25519Public = (raw: Buffer): crypto.KeyObject => {
  if (raw.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
};
export const x25519PublicRaw = (priv: crypto.KeyObject): Buffer => Buffer.from(crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32));

/** id(D): lower-case hex of the first 8 bytes of SHA-256 over the raw public key. */
export const desktopKeyId = (publicRaw: Buffer): string => crypto.createHash('sha256').update(publicRaw).digest('hex').slice(0, 16);

/** The desktop's session key pair: D_sk stays in this object (and the secret store), D_pk is published. */
export interface DesktopSessionKey {
  readonly id: string;
  readonly publicRaw: Buffer;
  /** K for a session the camera announced (throws on a low-order ephemeral key: all-zero secret). */
  derive(ephemeralRaw: Buffer, serial: string, epoch: number, session: number): Buffer;
  /** The retained message the desktop publishes on SESSION_KEY_TOPIC. */
  announcement(): string;
}

export function desktopSessionKey(privateRaw: Buffer): DesktopSessionKey {
  const priv = x25519Private(privateRaw);
  const publicRaw = x25519PublicRaw(priv);
  const id = desktopKeyId(publicRaw);
  return {
    id,
    publicRaw,
    derive: (e, serial, epoch, session) => deriveSessionKey(priv, e, serial, epoch, session),
    announcement: () => JSON.stringify({ v: 1, key: publicRaw.toString('base64'), id }),
  };
}

/**
 * Loads D_sk from the secret store, or creates and stores one on first use: the key survives a
 * restart (cameras keep the same id(D)), while the sessions derived from it live in memory only.
 */
export function loadDesktopSessionKey(secrets: { get(name: string): string | undefined; set(name: string, value: string): void }, random: (n: number) => Buffer = crypto.randomBytes): DesktopSessionKey {
  // A key this mode cannot read (stored by the desktop app, opened in browser mode) is replaced: the
  // cost is only that cameras open new sessions under the new key, as after any desktop restart.
  let stored: string | undefined;
  try {
    stored = secrets.get(SESSION_SECRET_NAME);
  } catch {
    stored = undefined;
  }
  if (stored) {
    const raw = Buffer.from(stored, 'base64');
    if (raw.length === 32) return desktopSessionKey(raw);
  }
  const raw = random(32);
  secrets.set(SESSION_SECRET_NAME, raw.toString('base64'));
  return desktopSessionKey(raw);
}

/** K = HKDF-SHA256(X25519(sk, pk), salt "<SERIAL>\n<epoch>\n<S>", info "omnisight.v3.session", 32). */
export function deriveSessionKey(priv: crypto.KeyObject, peerPublicRaw: Buffer, serial: string, epoch: number, session: number): Buffer {
  const shared = crypto.diffieHellman({ privateKey: priv, publicKey: x25519Public(peerPublicRaw) });
  // RFC 7748 §6.1: an all-zero shared secret means a low-order point; refuse it.
  if (shared.every((b) => b === 0)) throw new Error('the ephemeral key is a low-order point');
  return Buffer.from(crypto.hkdfSync('sha256', shared, Buffer.from(`${serial}\n${epoch}\n${session}`, 'utf8'), Buffer.from(SESSION_INFO, 'utf8'), 32));
}

export interface MacFields {
  camera: string;
  epoch: number;
  seq: number;
  sent: number;
  kind: string;
  key: string;
  session: number;
  body: string;
}
/** The exact bytes the MAC covers: fields joined by "\n", no trailing newline. */
export const macInput = (e: MacFields): string => `${MAC_DOMAIN}\n${e.camera}\n${e.epoch}\n${e.seq}\n${e.sent}\n${e.kind}\n${e.key}\n${e.session}\n${e.body}`;
export const macOf = (k: Buffer, e: MacFields): Buffer => crypto.createHmac('sha256', k).update(macInput(e), 'utf8').digest();

/** Constant-time comparison of the MAC a v3 envelope carries with the one K gives. */
export function macValid(k: Buffer, e: MacFields & { mac: string }): boolean {
  const got = Buffer.from(e.mac, 'base64');
  const want = macOf(k, e);
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

/** The body of a signed v2 `session` message (unknown fields refused). */
export const sessionBodySchema = z.strictObject({
  session: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  desktopKey: z.string().regex(/^[0-9a-f]{16}$/),
  ephemeral: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'ephemeral must be 32 bytes of standard base64'),
});
export type SessionBody = z.infer<typeof sessionBodySchema>;

/** The desktop's retained announcement (what cameras parse; kept here for tests and tools). */
export const desktopKeyMessageSchema = z.strictObject({
  v: z.literal(1),
  key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  id: z.string().regex(/^[0-9a-f]{16}$/),
});

/**
 * Known answers for implementers (docs/v3-vectors.json, `npm run v3:vectors`): every secret is
 * SHA-256 of a fixed label, so the file changes only when the protocol does.
 */
export function buildV3Vectors(): Record<string, unknown> {
  const bytes = (label: string): Buffer => crypto.createHash('sha256').update(`omnisight.v3.vectors/${label}`).digest();
  const dSk = bytes('desktop');
  const desktop = desktopSessionKey(dSk);
  const cases = [
    { serial: 'ACCC8E000001', epoch: 7, session: 1, label: 'e1' },
    { serial: 'ACCC8E000001', epoch: 7, session: 2, label: 'e2' },
    { serial: 'B8A44F7D507D', epoch: 4294967295, session: 13, label: 'e3' },
  ].map((c) => {
    const eSk = bytes(c.label);
    const ePriv = x25519Private(eSk);
    const ePk = x25519PublicRaw(ePriv);
    const shared = crypto.diffieHellman({ privateKey: ePriv, publicKey: x25519Public(desktop.publicRaw) });
    const k = desktop.derive(ePk, c.serial, c.epoch, c.session);
    const kFromCamera = deriveSessionKey(ePriv, desktop.publicRaw, c.serial, c.epoch, c.session);
    if (!k.equals(kFromCamera)) throw new Error('X25519 is not symmetric here: cannot write vectors');
    const body = JSON.stringify({ frame: { timestamp: 1795222210400, observations: [] } });
    const fields: MacFields = { camera: c.serial, epoch: c.epoch, seq: 43, sent: 1795222210426, kind: 'detections', key: '3f2a9c01d4e5b677', session: c.session, body };
    return {
      serial: c.serial,
      epoch: c.epoch,
      session: c.session,
      ephemeralSecret: eSk.toString('hex'),
      ephemeralPublicB64: ePk.toString('base64'),
      salt: `${c.serial}\n${c.epoch}\n${c.session}`,
      shared: shared.toString('hex'),
      K: k.toString('hex'),
      mac: { ...fields, input: macInput(fields), macB64: macOf(k, fields).toString('base64') },
    };
  });
  return {
    protocol: 'omnisight.v3',
    note: 'Built by scripts/v3-vectors.ts from fixed bytes (SHA-256 of "omnisight.v3.vectors/<label>"); binary values are lower-case hex unless the field name ends in B64. K = HKDF-SHA256(ikm = X25519(e_sk, D_pk), salt, info = "omnisight.v3.session", L = 32); mac = HMAC-SHA256(K, input).',
    info: SESSION_INFO,
    desktop: { secret: dSk.toString('hex'), publicB64: desktop.publicRaw.toString('base64'), id: desktop.id, announcement: desktop.announcement() },
    sessions: cases,
  };
}
