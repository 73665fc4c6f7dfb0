// The fl2 masking ring as the camera computes it (docs/protocol.md, "Federated learning (fl2)"),
// written for the simulated camera on its own (it shares no code with main/federated): the camera
// derives its neighbours itself from the roster's public seed, so the server cannot hand it a
// neighbourhood of its choosing.
import { createHash } from 'node:crypto';

/** Peers in ring order: ascending by the bytes of SHA-256(seed ‖ UTF-8 serial) (hex compares like bytes). */
export function ring(seed: Buffer, serials: readonly string[]): string[] {
  const tagged = serials.map((serial) => [createHash('sha256').update(Buffer.concat([seed, Buffer.from(serial, 'utf8')])).digest('hex'), serial] as const);
  tagged.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return tagged.map(([, serial]) => serial);
}

/** N(me): every other peer when n′ − 1 ≤ K, else the K/2 ring positions on each side of me. */
export function neighboursOf(order: readonly string[], me: string, k: number): Set<string> {
  const n = order.length;
  const at = order.indexOf(me);
  if (at < 0) return new Set();
  if (n - 1 <= k) return new Set(order.filter((s) => s !== me));
  const out = new Set<string>();
  for (let step = 1; step <= k / 2; step++) {
    out.add(order[(at + step) % n]!);
    out.add(order[(((at - step) % n) + n) % n]!);
  }
  return out;
}

/** tk = ⌈2(m + 1)/3⌉ with m = min(K, n′ − 1). */
export function shareThresholdFor(k: number, peers: number): number {
  const m = Math.min(k, peers - 1);
  return Math.floor((2 * (m + 1) + 2) / 3);
}
