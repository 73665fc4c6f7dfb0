// A verification worker (worker_threads): the stateless, CPU-heavy part of checking a camera
// message — parse (JSON, envelope, topic, body) and the Ed25519 signature — off the main thread.
// The stateful checks (recorded key still the same, clock, replay window) stay with the verifier
// on the main thread (verify.ts `admit`), which trusts a signature verdict only for the public key
// it was made with.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { macValid } from './session';
import { ed25519PublicKey, parseMessage, signatureValid, type WorkerVerdict } from './verify';

/**
 * A batch travels as one transferred buffer (`bytes`, every payload back to back, `ends[i]` the end
 * of payload i) instead of one cloned Uint8Array per message: a payload that mqtt.js sliced out of a
 * socket chunk would otherwise clone the whole chunk, and N small clones cost N allocations.
 */
export interface PackedBatch {
  bytes: ArrayBuffer;
  ends: Uint32Array;
  topics: (string | undefined)[];
  /** The desktop clock at receipt per message (NaN: unknown). */
  receivedAt: Float64Array;
  /** The verifier's clock tolerance: a message outside it is refused before its signature matters. */
  skewMs: number;
}
export type ToWorker =
  | { type: 'keys'; keys: [serial: string, keyId: string, publicKey: string][] }
  | ({ type: 'batch'; id: number } & PackedBatch)
  | { type: 'cpu'; id: number }
  | { type: 'sessions'; sessions: { serial: string; key: string; epoch: number; session: number; gen: number; k: Uint8Array }[] };
export type FromWorker = { type: 'verdicts'; id: number; verdicts: WorkerVerdict[] } | { type: 'cpu'; id: number; ms: number | null };

/** This thread's CPU time (user + system) so far, ms: Linux's /proc/thread-self; null elsewhere. */
function threadCpuMs(): number | null {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return null;
  }
}

const keys = new Map<string, { keyId: string; publicKey: string; obj: crypto.KeyObject }>();
/** Each camera's current v3 session as the main thread last shared it (memory only). */
const sessions = new Map<string, { key: string; epoch: number; session: number; gen: number; k: Buffer }>();

export function verifyPacked(b: PackedBatch): WorkerVerdict[] {
  const all = new Uint8Array(b.bytes);
  const out: WorkerVerdict[] = [];
  let start = 0;
  for (let i = 0; i < b.ends.length; i++) {
    const end = b.ends[i]!;
    const parse = parseMessage(all.subarray(start, end), b.topics[i]);
    start = end;
    if (!parse.ok) {
      out.push({ parse });
      continue;
    }
    const env = parse.parsed.envelope;
    const k = keys.get(env.camera);
    // Unknown camera or key: the main thread refuses it with the reason. Outside the clock tolerance:
    // it refuses it for the clock before the signature counts, so the ≈140 µs are not spent.
    const at = b.receivedAt[i]!;
    if (env.v === 3) {
      // The MAC under the session the main thread shared; it trusts the verdict only for that
      // session's generation, and checks the MAC itself when this worker had no such session yet.
      const s = sessions.get(env.camera);
      const inClock = Number.isNaN(at) || Math.abs(env.sent - at) <= b.skewMs;
      if (s && inClock && s.key === env.key && s.epoch === env.epoch && s.session === env.session) out.push({ parse, mac: { valid: macValid(s.k, env), gen: s.gen } });
      else out.push({ parse });
      continue;
    }
    if (!k || k.keyId !== env.key || (!Number.isNaN(at) && Math.abs(env.sent - at) > b.skewMs)) out.push({ parse });
    else out.push({ parse, sig: { valid: signatureValid(env, k.obj), publicKey: k.publicKey } });
  }
  return out;
}

parentPort?.on('message', (m: ToWorker) => {
  if (m.type === 'keys') {
    for (const [serial, keyId, publicKey] of m.keys) {
      const cur = keys.get(serial);
      if (cur && cur.publicKey === publicKey && cur.keyId === keyId) continue;
      try {
        keys.set(serial, { keyId, publicKey, obj: ed25519PublicKey(publicKey) });
      } catch {
        keys.delete(serial); // unusable key: the main thread refuses with the reason
      }
    }
    return;
  }
  if (m.type === 'sessions') {
    for (const s of m.sessions) sessions.set(s.serial, { key: s.key, epoch: s.epoch, session: s.session, gen: s.gen, k: Buffer.from(s.k) });
    return;
  }
  if (m.type === 'cpu') {
    parentPort!.postMessage({ type: 'cpu', id: m.id, ms: threadCpuMs() } satisfies FromWorker);
    return;
  }
  const verdicts = verifyPacked(m);
  // The payload text goes back empty: the pool restores it from the bytes the main thread still
  // holds (a copy costs far less than cloning ~1 kB of string per message through postMessage).
  for (const v of verdicts) if (v.parse.ok) v.parse.parsed.raw = '';
  const out: FromWorker = { type: 'verdicts', id: m.id, verdicts };
  parentPort!.postMessage(out);
});
