// A verification worker (worker_threads): the stateless, CPU-heavy part of checking a camera
// message — parse (JSON, envelope, topic, body) and the Ed25519 signature — off the main thread.
// The stateful checks (recorded key still the same, clock, replay window) stay with the verifier
// on the main thread (verify.ts `admit`), which trusts a signature verdict only for the public key
// it was made with.
import crypto from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { ed25519PublicKey, parseMessage, signatureValid, type WorkerVerdict } from './verify';

export type ToWorker =
  | { type: 'keys'; keys: [serial: string, keyId: string, publicKey: string][] }
  | { type: 'batch'; id: number; items: { payload: Uint8Array; topic?: string }[] };
export type FromWorker = { type: 'verdicts'; id: number; verdicts: WorkerVerdict[] };

const keys = new Map<string, { keyId: string; publicKey: string; obj: crypto.KeyObject }>();

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
  const verdicts: WorkerVerdict[] = m.items.map((it) => {
    const parse = parseMessage(it.payload, it.topic);
    if (!parse.ok) return { parse };
    const env = parse.parsed.envelope;
    const k = keys.get(env.camera);
    if (!k || k.keyId !== env.key) return { parse }; // the main thread refuses it (unknown camera, wrong key)
    return { parse, sig: { valid: signatureValid(env, k.obj), publicKey: k.publicKey } };
  });
  const out: FromWorker = { type: 'verdicts', id: m.id, verdicts };
  parentPort!.postMessage(out);
});
