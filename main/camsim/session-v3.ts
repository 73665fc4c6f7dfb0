// Envelope v3 for the simulator's agent (docs/protocol.md, "Envelope v3"): the camera's side,
// written on its own (nothing of main/swarm), so the coordinator is tested against an independent
// implementation: parse the desktop's retained key, open a session (ephemeral X25519, HKDF), MAC a
// report.
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';

export const DESKTOP_SESSION_KEY_TOPIC = 'omnisight/desktop/session-key';
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;

/** Where the desktop tells this camera that a session of its is unknown there (docs/protocol.md). */
export const sessionNoticeTopic = (serial: string): string => `omnisight/desktop/session/${serial}`;

export interface DesktopKey {
  publicRaw: Buffer;
  id: string;
}

/** The desktop's announcement {"v":1,"key","id"}: undefined unless exactly that, with id = SHA-256(key)[0..8] in hex. */
export function parseDesktopKey(payload: Buffer): DesktopKey | undefined {
  let o: unknown;
  try {
    o = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (Object.keys(r).some((k) => k !== 'v' && k !== 'key' && k !== 'id')) return undefined;
  if (r.v !== 1 || typeof r.key !== 'string' || !B64_32.test(r.key) || typeof r.id !== 'string') return undefined;
  const publicRaw = Buffer.from(r.key, 'base64');
  const id = createHash('sha256').update(publicRaw).digest('hex').slice(0, 16);
  return id === r.id ? { publicRaw, id } : undefined;
}

/**
 * A new session: an ephemeral X25519 pair from `random`, K = HKDF-SHA256(X25519(e_sk, D_pk),
 * "<SERIAL>\n<epoch>\n<S>", "omnisight.v3.session", 32). e_sk lives only in this call.
 */
export function openSession(desktop: DesktopKey, serial: string, epoch: number, session: number, random: (n: number) => Buffer): { k: Buffer; ephemeralPublic: Buffer } {
  const eSk = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, random(32)]), format: 'der', type: 'pkcs8' });
  const ephemeralPublic = Buffer.from(createPublicKey(eSk).export({ format: 'der', type: 'spki' }).subarray(-32));
  const shared = diffieHellman({ privateKey: eSk, publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519, desktop.publicRaw]), format: 'der', type: 'spki' }) });
  const k = Buffer.from(hkdfSync('sha256', shared, Buffer.from(`${serial}\n${epoch}\n${session}`, 'utf8'), Buffer.from('omnisight.v3.session', 'utf8'), 32));
  shared.fill(0);
  return { k, ephemeralPublic };
}

/** HMAC-SHA256(K, "omnisight.v3\n<camera>\n<epoch>\n<seq>\n<sent>\n<kind>\n<key>\n<session>\n<body>"), base64. */
export function macV3(k: Buffer, f: { camera: string; epoch: number; seq: number; sent: number; kind: string; key: string; session: number; body: string }): string {
  const input = ['omnisight.v3', f.camera, String(f.epoch), String(f.seq), String(f.sent), f.kind, f.key, String(f.session), f.body].join('\n');
  return createHmac('sha256', k).update(input, 'utf8').digest('base64');
}

/** The desktop's notice {"v":1,"key","epoch","session","desktopKey"}: undefined unless exactly that. */
export function parseSessionNotice(payload: Buffer): { key: string; epoch: number; session: number; desktopKey: string } | undefined {
  if (payload.length > 512) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (Object.keys(r).some((k) => !['v', 'key', 'epoch', 'session', 'desktopKey'].includes(k))) return undefined;
  const hex16 = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{16}$/.test(x);
  const int = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= max;
  if (r.v !== 1 || !hex16(r.key) || !hex16(r.desktopKey) || !int(r.epoch, 0xffffffff) || !int(r.session, 0xffffffff)) return undefined;
  return { key: r.key, epoch: r.epoch, session: r.session, desktopKey: r.desktopKey };
}
