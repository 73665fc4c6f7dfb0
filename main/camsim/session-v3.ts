// Envelope v3 for the simulator's agent (docs/protocol.md, "Envelope v3"): the camera's side,
// written on its own (nothing of main/swarm), so the coordinator is tested against an independent
// implementation: parse the desktop's retained key, open a session (ephemeral X25519, HKDF), MAC a
// report.
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { z } from 'zod';
import { parseJson } from './fl/messages';

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

const desktopKeySchema = z.object({ v: z.literal(1), key: z.string().regex(B64_32), id: z.string() }).strict();

/** The desktop's announcement {"v":1,"key","id"}: undefined unless exactly that, with id = SHA-256(key)[0..8] in hex. */
export function parseDesktopKey(payload: Buffer): DesktopKey | undefined {
  const r = desktopKeySchema.safeParse(parseJson(payload));
  if (!r.success) return undefined;
  const publicRaw = Buffer.from(r.data.key, 'base64');
  const id = createHash('sha256').update(publicRaw).digest('hex').slice(0, 16);
  return id === r.data.id ? { publicRaw, id } : undefined;
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

const KEY_ID = /^[0-9a-f]{16}$/;
const u32 = z.number().int().min(1).max(0xffffffff);
const sessionNoticeSchema = z.object({ v: z.literal(1), key: z.string().regex(KEY_ID), epoch: u32, session: u32, desktopKey: z.string().regex(KEY_ID) }).strict();

/** The desktop's notice {"v":1,"key","epoch","session","desktopKey"}: undefined unless exactly that. */
export function parseSessionNotice(payload: Buffer): { key: string; epoch: number; session: number; desktopKey: string } | undefined {
  const r = sessionNoticeSchema.safeParse(parseJson(payload));
  if (!r.success) return undefined;
  const { key, epoch, session, desktopKey } = r.data;
  return { key, epoch, session, desktopKey };
}
