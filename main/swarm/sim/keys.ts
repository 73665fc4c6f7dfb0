// Deterministic Ed25519 keys for simulated cameras: the private key is built from a 32-byte seed
// (PKCS#8 wrapping of RFC 8410), so a run is reproducible from its seed alone.
import crypto from 'node:crypto';
import { keyIdOf, signingInput, type Envelope } from '../envelope';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SimKey {
  keyId: string;
  privateKey: crypto.KeyObject;
  /** Raw 32 bytes, base64, as identity.cgi would return it. */
  publicKey: string;
}

/** keyId: the protocol's id (SHA-256 of the public key, 8 bytes hex) unless a test forges another. */
export function keyFromSeed(seed: Buffer, keyId?: string): SimKey {
  if (seed.length !== 32) throw new Error('An Ed25519 seed is 32 bytes');
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x!, 'base64url').toString('base64');
  return { keyId: keyId ?? keyIdOf(publicKey), privateKey, publicKey };
}

const cache = new Map<string, SimKey>();
/** The key of simulated camera `label`, derived from a hash of the label (cached per process). */
export function simKey(label: string): SimKey {
  let k = cache.get(label);
  if (!k) cache.set(label, (k = keyFromSeed(crypto.createHash('sha256').update(`omnisight-sim:${label}`).digest())));
  return k;
}

/** Signs an envelope (v2) the way docs/protocol.md says a camera does; epoch defaults to 1. */
export function sealEnvelope(e: Omit<Envelope, 'sig' | 'v' | 'epoch'> & { epoch?: number }, key: crypto.KeyObject): string {
  const env = { camera: e.camera, epoch: e.epoch ?? 1, seq: e.seq, sent: e.sent, kind: e.kind, key: e.key, body: e.body };
  const sig = crypto.sign(null, Buffer.from(signingInput(env)), key).toString('base64');
  return JSON.stringify({ v: 2, ...env, sig });
}
